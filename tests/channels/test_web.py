"""The web chat over real HTTP on loopback: the page, the JSON endpoint, bad requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import STORE, create_app
from bot.channels.web import PER_ADDRESS, PER_PERSON
from bot.settings import Settings
from bot.store.base import SessionKey
from tests.conftest import STAFF, STAFF_SECRET
from tests.fakes.slow_redis import SlowRedis

Client = TestClient[web.Request, web.Application]
ClientMaker = Callable[..., Awaitable[Client]]


@pytest.fixture
async def make_client(
    settings: Settings,
    redis: Redis,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[ClientMaker]:
    """The app (settings changed for one story), the address counters reset before and after."""

    async def reset() -> None:
        async for key in redis.scan_iter("safar:rate:web-*"):
            await redis.delete(key)

    async def make(**changes: Any) -> Client:
        changes.setdefault("staff_token", STAFF_SECRET)
        return await aiohttp_client(create_app(settings.model_copy(update=changes)))

    await reset()
    yield make
    await reset()


@pytest.fixture
async def client(make_client: ClientMaker) -> Client:
    return await make_client()


async def say(client: Client, user: str, **payload: Any) -> dict[str, Any]:
    resp = await client.post("/api/chat", json={"user": user, **payload})
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


async def test_the_page_loads_with_the_chat(client: Client) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    page = await resp.text()
    assert "/static/chat.js" in page and "Safar" in page
    assert "/api/chat" in await (await client.get("/static/chat.js")).text()
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_a_visitor_picks_a_language_walks_the_menu_and_asks(client: Client) -> None:
    data = await say(client, "visitor-0001", command="start")
    assert data["replies"][0]["kind"] == "languages"
    assert [o["label"] for o in data["replies"][0]["options"]][:4] == [
        "Кыргызча",
        "Русский",
        "Тоҷикӣ",
        "English",
    ]
    data = await say(client, "visitor-0001", choice="3")
    assert data["lang"] == "tg" and data["replies"][-1]["kind"] == "menu"
    data = await say(client, "visitor-0001", choice="2")
    data = await say(client, "visitor-0001", choice="2")
    assert data["replies"][0]["article"] == "work-patent"
    assert data["replies"][0]["title"]
    data = await say(client, "visitor-0001", text="Музди кор надоданд")
    assert data["replies"][0]["article"] == "unpaid-wages"


async def test_a_returning_visitor_keeps_the_language(client: Client) -> None:
    await say(client, "visitor-0002", command="start")
    await say(client, "visitor-0002", choice="4")
    data = await say(client, "visitor-0002", command="start")
    assert data["lang"] == "en" and data["replies"][0]["kind"] == "menu"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "bad request"),
        (b'{"text": "hi"}', "user"),
        (b'{"user": "x", "text": "hi"}', "user"),
        (b'{"user": "visitor-0003", "command": "rm -rf"}', "command"),
        (b"[1, 2]", "bad request"),
    ],
)
async def test_bad_requests_get_a_clear_400(client: Client, body: bytes, fragment: str) -> None:
    resp = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert fragment in (await resp.json())["error"]


async def test_a_10_mb_message_is_refused_before_any_work(client: Client) -> None:
    resp = await client.post("/api/chat", data=b"x" * (10 * 1024 * 1024))
    assert resp.status == 413


async def test_odd_unicode_gets_a_safe_reply(client: Client) -> None:
    for text in [
        "\u202e\u200b\x00\x07",
        "😀" * 500,
        "Ӣ\u0301Ҳ\u0327",
        "\ud7ff" + "я" * 3000,
        '[[[{{{ "\\' * 40,  # brackets in a message are text, not nesting
    ]:
        data = await say(client, "visitor-0004", text=text[:4000])
        assert data["replies"], text


async def test_health_reports_redis_and_content_to_staff(client: Client) -> None:
    resp = await client.get("/healthz", headers=STAFF)
    assert resp.status == 200
    data = await resp.json()
    assert data["redis"] == "ok"
    assert data["channels"] == {"web chat": "ok"}
    assert data["content"]["articles"] >= 22


async def test_a_script_hammering_the_chat_is_slowed_down_and_told_why(client: Client) -> None:
    limit, window = PER_PERSON
    for _ in range(limit):
        await say(client, "visitor-0005", text="menu")
    resp = await client.post("/api/chat", json={"user": "visitor-0005", "text": "menu"})
    assert resp.status == 429
    assert resp.headers["Retry-After"] == str(window)
    assert "wait" in (await resp.json())["error"]
    await say(client, "visitor-0006", text="menu")  # another visitor is not affected


# -- malformed input is a 4xx, never a 500 (defect 5) -------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "status", "fragment"),
    [
        ("application/json; charset=bogus", b'{"user": "visitor-0007"}', 400, "charset"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000, 400, "nested"),
        ("application/json", b'{"user": "visitor-0007", "text": "\xff\xfe"}', 400, "utf-8"),
        ("text/plain", b'{"user": "visitor-0007", "command": "start"}', 415, "JSON"),
        ("application/x-www-form-urlencoded", b"user=visitor-0007", 415, "JSON"),
        ("", b'{"user": "visitor-0007"}', 415, "JSON"),
    ],
)
async def test_a_body_that_cannot_be_read_gets_a_4xx_with_the_reason(
    client: Client, content_type: str, body: bytes, status: int, fragment: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if not content_type:
        headers["Content-Type"] = ""
    resp = await client.post("/api/chat", data=body, headers=headers)
    assert resp.status == status, await resp.text()
    assert fragment in (await resp.json())["error"]


# -- a corrupt session is started afresh (defect 8) ---------------------------------------------


@pytest.mark.parametrize(
    "corrupt", [b'{"trail": 5}', b'{"page": "x"}', b'{"lang": "xx"}', b"{not json"]
)
async def test_a_corrupt_session_does_not_lock_the_visitor_out(
    client: Client, redis: Redis, corrupt: bytes
) -> None:
    await say(client, "visitor-0008", command="start")
    await say(client, "visitor-0008", choice="2")
    skey, _ = client.app[STORE].keys_for(SessionKey("web", "visitor-0008"))
    await redis.set(skey, corrupt)
    data = await say(client, "visitor-0008", text="menu")  # was a 500 on every message
    assert data["replies"] and data["lang"] == "ru"


# -- abuse of the chat endpoint (defect 9) -------------------------------------------------------


async def test_rotating_browser_ids_does_not_get_past_the_address_limit(client: Client) -> None:
    """A fresh browser id per message buys an address at most four people's worth."""
    limit, _ = PER_ADDRESS
    assert limit <= 4 * PER_PERSON[0]
    for i in range(limit):
        resp = await client.post("/api/chat", json={"user": f"rotating-{i:04d}", "text": "1"})
        assert resp.status == 200
    resp = await client.post("/api/chat", json={"user": "rotating-new1", "text": "1"})
    assert resp.status == 429


async def test_behind_a_trusted_proxy_each_visitor_is_counted_alone(
    make_client: ClientMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.channels.web.PER_ADDRESS", (3, 60))
    client = await make_client(trusted_proxies="127.0.0.1/32")
    hot, calm = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.4"}
    statuses = [
        (await client.post("/api/chat", json={"user": f"hot-{i:05d}"}, headers=hot)).status
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    resp = await client.post("/api/chat", json={"user": "calm-00001"}, headers=calm)
    assert resp.status == 200  # one client behind the proxy does not lock out the others
    # a client cannot pick its own address by prepending one: the proxy appended the real one
    spoof = {"X-Forwarded-For": "10.9.9.9, 203.0.113.9"}
    resp = await client.post("/api/chat", json={"user": "hot-99999"}, headers=spoof)
    assert resp.status == 429


async def test_an_untrusted_peer_cannot_choose_its_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.channels.web.PER_ADDRESS", (3, 60))
    statuses = []
    for i in range(4):
        headers = {"X-Forwarded-For": f"203.0.113.{i}"}
        resp = await client.post("/api/chat", json={"user": f"liar-{i:05d}"}, headers=headers)
        statuses.append(resp.status)
    assert statuses == [200, 200, 200, 429]


async def test_with_redis_down_the_limits_still_hold(
    make_client: ClientMaker, unused_tcp_port: int
) -> None:
    client = await make_client(redis_url=f"redis://127.0.0.1:{unused_tcp_port}/0")
    limit, _ = PER_PERSON
    for _ in range(limit):
        await say(client, "visitor-0009", text="menu")  # answered without a session
    resp = await client.post("/api/chat", json={"user": "visitor-0009", "text": "menu"})
    assert resp.status == 429


async def test_with_redis_slow_a_visitor_is_answered_within_the_budget(
    make_client: ClientMaker, redis_url: str
) -> None:
    async with SlowRedis(redis_url, delay=3.0) as slow:
        client = await make_client(redis_url=slow.url, redis_timeout=0.5, redis_budget=1.5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        data = await say(client, "visitor-0010", command="start")
        assert data["replies"]
        assert loop.time() - started < 2.5


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://chat.evil.example"},
    ],
)
async def test_another_site_cannot_read_or_drive_a_visitors_chat(
    client: Client, headers: dict[str, str]
) -> None:
    """A page elsewhere that learnt a browser id must not see that person's screen."""
    resp = await client.post(
        "/api/chat", json={"user": "visitor-0011", "command": "start"}, headers=headers
    )
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    for own in [
        {"Origin": str(client.make_url("")).rstrip("/")},  # an older browser: Origin only
        {"Origin": "https://safar.example", "Sec-Fetch-Site": "same-origin"},  # proxied host
    ]:
        resp = await client.post(
            "/api/chat", json={"user": "visitor-0011", "command": "start"}, headers=own
        )
        assert resp.status == 200


# -- headers (defect 10) ------------------------------------------------------------------------


async def test_the_page_has_a_strict_policy_and_no_inline_code(client: Client) -> None:
    resp = await client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "aiohttp" not in resp.headers["Server"] and "Python" not in resp.headers["Server"]
    page = await resp.text()
    assert "<style" not in page and "<script>" not in page and " on" not in page.lower()
    for asset, kind in [("/static/chat.js", "javascript"), ("/static/chat.css", "css")]:
        got = await client.get(asset)
        assert got.status == 200 and kind in got.headers["Content-Type"]
    assert (await client.get("/static/")).status in (403, 404)  # no directory listing


async def test_chat_answers_are_never_cached(client: Client) -> None:
    resp = await client.post("/api/chat", json={"user": "visitor-0012", "command": "start"})
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    missing = await client.get("/nothing-here")
    assert missing.status == 404 and missing.headers["X-Frame-Options"] == "DENY"


async def test_public_health_says_only_ok_and_details_need_the_staff_token(
    client: Client,
) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
    for wrong in ["Bearer nope", "Basic " + STAFF["Authorization"][7:], "Bearer"]:
        resp = await client.get("/healthz", headers={"Authorization": wrong})
        assert await resp.json() == {"status": "ok"}
    resp = await client.get("/healthz", headers=STAFF)
    assert (await resp.json())["content"]["version"]


async def test_with_redis_down_public_health_says_not_ok(
    make_client: ClientMaker, unused_tcp_port: int
) -> None:
    client = await make_client(redis_url=f"redis://127.0.0.1:{unused_tcp_port}/0")
    resp = await client.get("/healthz")
    assert resp.status == 503 and await resp.json() == {"status": "not ok"}
