"""A staff member previews the dialogs as people on Telegram and SMS see them, and previews an
edit before it goes live. Nobody without the token sees anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from bot.staff.auth import COOKIE, FAILURES
from tests.conftest import STAFF_TOKEN
from tests.staff.conftest import BEARER, PRICE, Client, log_in


async def step(client: Client, **payload: Any) -> dict[str, Any]:
    resp = await client.post("/staff/api/turn", json=payload, headers=BEARER)
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


# -- the door --------------------------------------------------------------------------------


async def test_without_a_staff_token_there_are_no_staff_pages(
    settings: Settings, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    assert settings.staff_token is None
    client = await aiohttp_client(create_app(settings))
    for path in ("/staff/preview", "/staff/report", "/staff/static/preview.js"):
        assert (await client.get(path)).status == 404, path
    resp = await client.post("/staff/api/turn", json={"channel": "sms", "lang": "ky"})
    assert resp.status == 404


async def test_a_stranger_gets_the_login_form_and_nothing_else(staff: Client) -> None:
    resp = await staff.get("/staff/preview")
    assert resp.status == 401
    page = await resp.text()
    assert 'name="token"' in page and 'type="password"' in page
    assert "preview.js" not in page and "Work patent" not in page
    resp = await staff.get("/staff/report")
    assert resp.status == 401 and "Questions per day" not in await resp.text()
    resp = await staff.post("/staff/api/turn", json={"channel": "sms", "lang": "ky"})
    assert resp.status == 401 and "error" in await resp.json()
    resp = await staff.post("/staff/api/draft", json={"files": {"x.yaml": "a: 1"}})
    assert resp.status == 401


async def test_a_wrong_token_is_refused_and_guessing_is_stopped(staff: Client) -> None:
    resp = await staff.post("/staff/login", data={"token": "guess-" + "x" * 30})
    assert resp.status == 401
    assert "Wrong token" in await resp.text()
    assert COOKIE not in resp.cookies
    bad = {"Authorization": "Bearer " + "y" * 40}
    assert (await staff.post("/staff/api/turn", json={}, headers=bad)).status == 401
    for _ in range(FAILURES - 2):
        await staff.post("/staff/login", data={"token": "guess"})
    # the limit is reached: now even the right token is refused for a while
    resp = await staff.post("/staff/login", data={"token": STAFF_TOKEN}, allow_redirects=False)
    assert resp.status == 429
    resp = await staff.post("/staff/api/turn", json={}, headers=BEARER)
    assert resp.status == 429 and resp.headers["Retry-After"]


async def test_logging_in_sets_a_strict_http_only_cookie(staff: Client) -> None:
    resp = await staff.post(
        "/staff/login", data={"token": STAFF_TOKEN, "next": "report"}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == "/staff/report"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
    assert STAFF_TOKEN not in cookie  # the cookie is signed with the token, never holds it
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would not come back
    resp = await staff.get("/staff/preview")
    assert resp.status == 200
    page = await resp.text()
    assert '<script src="/staff/static/preview.js"' in page and "<script>" not in page
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    # logged out: the cookie goes and the page is closed again
    await staff.post("/staff/logout")
    assert (await staff.get("/staff/preview")).status == 401


async def test_the_cookie_is_secure_on_a_real_host_name(staff: Client) -> None:
    resp = await staff.post(
        "/staff/login",
        data={"token": STAFF_TOKEN},
        headers={"Host": "safar.example.org"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert "Secure" in resp.headers["Set-Cookie"]


async def test_a_forged_cookie_opens_nothing(staff: Client) -> None:
    staff.session.cookie_jar.update_cookies({COOKIE: "9999999999.deadbeef"})
    assert (await staff.get("/staff/preview")).status == 401


# -- walking the dialogs ---------------------------------------------------------------------


async def test_sms_in_kyrgyz_shows_both_scripts_with_segments_and_cost(staff: Client) -> None:
    data = await step(staff, channel="sms", lang="ky")
    sms = data["sms"]
    assert data["session"]["lang"] == "ky"
    assert "Теманы тандаңыз" in sms["scripts"]["cyr"]["text"]
    assert "1 Жолго чыгуу" in sms["scripts"]["cyr"]["text"]
    assert "Temany" in sms["scripts"]["lat"]["text"]  # the same menu in Latin letters
    assert sms["scripts"]["cyr"]["encoding"] == "UCS-2"
    assert sms["scripts"]["lat"]["encoding"] == "GSM-7"
    assert sms["keys"][:2] == ["1", "2"]
    # two levels down: Documents, then the work patent
    data = await step(staff, channel="sms", lang="ky", session=data["session"], text="2")
    assert "Документтер" in data["sms"]["scripts"]["cyr"]["text"]
    data = await step(staff, channel="sms", lang="ky", session=data["session"], text="2")
    assert data["session"]["article"] == "work-patent"
    for script in ("cyr", "lat"):
        s = data["sms"]["scripts"][script]
        assert s["segments"] >= 1 and s["cost"] == round(s["segments"] * PRICE, 4)
    # MORE pages through the full text; LAT switches this person's script
    more = await step(staff, channel="sms", lang="ky", session=data["session"], text="MORE")
    assert more["session"]["page"] == 1
    lat = await step(staff, channel="sms", lang="ky", session=more["session"], text="LAT")
    assert lat["session"]["script"] == "lat" and lat["sms"]["script"] == "lat"


async def test_telegram_shows_messages_and_buttons(staff: Client) -> None:
    data = await step(staff, channel="telegram", lang="en")
    menu = data["messages"][-1]
    labels = [b["label"] for row in menu["buttons"] for b in row]
    assert "2. Documents and permits" in labels
    data = await step(staff, channel="telegram", lang="en", session=data["session"], choice="2")
    data = await step(staff, channel="telegram", lang="en", session=data["session"], choice="2")
    article = data["messages"][0]
    assert article["html"].startswith("<b>Work patent in Russia</b>")
    assert article["buttons"][-1][-1]["key"] == "0"
    data = await step(staff, channel="telegram", lang="en", session=data["session"], text="/menu")
    assert "Choose a topic" in data["messages"][-1]["html"]


async def test_a_forged_session_lands_on_a_screen_the_engine_knows(staff: Client) -> None:
    session = {
        "lang": "ru",
        "node": "no-such-node",
        "trail": ["x", 3],
        "article": "nope",
        "page": -5,
        "suggestions": "abc",
        "turns": "many",
    }
    data = await step(staff, channel="telegram", lang="ru", session=session, choice="1")
    assert data["session"]["node"] in ("main", "before_going")


async def test_nothing_of_the_preview_is_stored(staff: Client, redis: Any, prefix: str) -> None:
    await step(staff, channel="sms", lang="tg")
    keys = [k async for k in redis.scan_iter(f"{prefix}:s:*")]
    assert keys == []


# -- drafts ----------------------------------------------------------------------------------


async def test_an_edit_is_previewed_before_it_goes_live(staff: Client) -> None:
    from bot.settings import REPO_ROOT

    source = (REPO_ROOT / "knowledge" / "work-patent.yaml").read_text(encoding="utf-8")
    edited = source.replace('title: "Work patent in Russia"', 'title: "Patent: the new title"')
    assert edited != source
    resp = await staff.post(
        "/staff/api/draft", json={"files": {"work-patent.yaml": edited}}, headers=BEARER
    )
    assert resp.status == 200, await resp.text()
    draft = await resp.json()
    assert draft["ok"] and draft["files"] == ["knowledge/work-patent.yaml"]

    async def article_title(draft_id: str | None) -> str:
        data = await step(staff, channel="telegram", lang="en", draft=draft_id)
        for key in ("2", "2"):
            data = await step(
                staff,
                channel="telegram",
                lang="en",
                session=data["session"],
                choice=key,
                draft=draft_id,
            )
        html: str = data["messages"][0]["html"]
        return html

    assert "Patent: the new title" in await article_title(draft["draft"])
    assert "Work patent in Russia" in await article_title(None)  # live is untouched


async def test_a_broken_edit_is_reported_as_path_line(staff: Client) -> None:
    broken = "en:\n  title: [unclosed\n"
    resp = await staff.post(
        "/staff/api/draft",
        json={"files": {"knowledge/work-patent.yaml": broken}},
        headers=BEARER,
    )
    assert resp.status == 422
    data = await resp.json()
    assert not data["ok"]
    assert any(p.startswith("knowledge/work-patent.yaml:") for p in data["problems"])
    resp = await staff.post(
        "/staff/api/draft", json={"files": {"../../etc/passwd.yaml": "x: 1"}}, headers=BEARER
    )
    assert resp.status == 400 and "under the content folder" in (await resp.json())["error"]
    resp = await staff.post(
        "/staff/api/turn",
        json={"channel": "sms", "lang": "ky", "draft": "expired-draft"},
        headers=BEARER,
    )
    assert resp.status == 404


async def test_the_preview_dir_is_previewed_when_configured(
    redis_url: str,
    tmp_path: Any,
    prefix: str,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    import shutil

    from bot.settings import REPO_ROOT
    from tests.staff.conftest import staff_settings

    drafts = tmp_path / "drafts"
    for folder in ("dialogs", "knowledge", "locales"):
        shutil.copytree(REPO_ROOT / folder, drafts / folder)
    main = drafts / "dialogs" / "main.yaml"
    main.write_text(
        main.read_text(encoding="utf-8").replace(
            "Choose a topic or type your question:", "What do you need?"
        ),
        encoding="utf-8",
    )
    client = await aiohttp_client(
        create_app(staff_settings(redis_url, tmp_path, prefix, preview_dir=drafts))
    )
    await log_in(client)
    resp = await client.post("/staff/api/draft", json={"from_dir": True})
    assert resp.status == 200, await resp.text()
    draft = (await resp.json())["draft"]
    resp = await client.post(
        "/staff/api/turn", json={"channel": "telegram", "lang": "en", "draft": draft}
    )
    assert "What do you need?" in (await resp.json())["messages"][-1]["html"]


def test_a_login_cookie_expires_and_dies_with_the_token() -> None:
    from bot.staff.auth import COOKIE_TTL, StaffAuth
    from bot.store.logins import FailedLogins

    def no_logins() -> FailedLogins:
        raise AssertionError("not needed")

    auth = StaffAuth(STAFF_TOKEN, no_logins)
    cookie = auth.cookie_value(now=1_000_000)
    assert auth.cookie_ok(cookie, now=1_000_000 + COOKIE_TTL - 1)
    assert not auth.cookie_ok(cookie, now=1_000_000 + COOKIE_TTL + 1)
    assert not StaffAuth(STAFF_TOKEN + "-rotated", no_logins).cookie_ok(cookie, now=1_000_000)
    assert not auth.cookie_ok("2000000000." + "0" * 64, now=1_000_000)
