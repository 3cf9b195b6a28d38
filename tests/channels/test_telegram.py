"""Telegram, end to end: the real PTB Application inside `safar serve`'s aiohttp app, talking HTTP
to a loopback Bot API (tests/fakes/telegram_api.py), with a real Redis behind it.

Each story runs twice, once by long polling and once by webhook, since people must not be able
to tell which one a deployment uses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot import LANGUAGE_NAMES, LANGUAGES
from bot.channels.telegram.texts import COMMAND_NAMES, Texts
from bot.content.load import Content
from bot.conversations import ContentHolder
from bot.engine import Inbound, Turn
from bot.engine.engine import LANGUAGE_PROMPT
from bot.settings import REPO_ROOT, Settings
from bot.store.base import SessionKey
from tests.conftest import SECRET, STAFF, STAFF_SECRET
from tests.fakes.telegram_api import BotAPI, Person, Seen
from tests.fakes.telegram_safar import Mode, Safar, free_port, run_safar


@pytest.fixture(params=["polling", "webhook"])
async def safar(
    request: pytest.FixtureRequest, settings: Settings, api: BotAPI, content: Content
) -> AsyncIterator[Safar]:
    mode: Mode = request.param
    async with run_safar(settings, api, content, mode) as running:
        yield running


@pytest.fixture
async def polling(settings: Settings, api: BotAPI, content: Content) -> AsyncIterator[Safar]:
    async with run_safar(settings, api, content, "polling") as running:
        yield running


@pytest.fixture
def texts(content: Content) -> Texts:
    return Texts(ContentHolder(content))


def key_of(
    content: Content, node: str, *, goto: str | None = None, article: str | None = None
) -> str:
    menu = content.dialog.menu(node)
    assert menu is not None
    for i, option in enumerate(menu.options):
        if (goto and option.goto == goto) or (article and option.article == article):
            return str(i + 1)
    raise AssertionError(f"no option to {goto or article} in {node}")


def menu_text(content: Content, node: str, lang: str) -> str:
    menu = content.dialog.menu(node)
    assert menu is not None
    return menu.text.get(lang)


async def start(person: Person) -> Seen:
    await person.command("start")
    [screen] = await person.replies()
    return screen


# -- first contact and navigation ---------------------------------------------------------------


async def test_a_newcomer_starts_in_her_telegram_language_and_taps_to_an_article(
    safar: Safar, content: Content, texts: Texts
) -> None:
    aida = safar.api.person("Aida", language_code="ru")
    home = await start(aida)
    main = content.dialog.start
    assert menu_text(content, main, "ru") in home.text
    assert home.labels[0].startswith("1. ")
    assert home.styled("italic") == [texts.language_hint("ru")]  # how to change it, once

    await aida.press(key_of(content, main, goto="documents"))
    [documents] = await aida.replies()
    assert documents.kind == "edited" and documents.message_id == home.message_id
    assert menu_text(content, "documents", "ru") in documents.text
    assert documents.labels[-1].startswith("0. ")  # back, last

    await aida.press(key_of(content, "documents", article="work-patent"))
    [article] = await aida.replies()
    title = content.articles["work-patent"].lang("ru").title
    assert article.kind == "sent" and article.styled("bold") == [title]
    assert article.labels[-1].startswith("0. ")
    # the menu she left keeps its text but loses its buttons: one live keyboard in the chat
    assert "reply_markup" not in aida.message(documents.message_id)
    assert aida.toasts() == [None, None]  # every press answered, no toast needed


@pytest.mark.parametrize("language_code", ["de", None])
async def test_someone_whose_language_we_do_not_speak_gets_the_language_menu(
    safar: Safar, content: Content, language_code: str | None
) -> None:
    hans = safar.api.person("Hans", language_code=language_code)
    menu = await start(hans)
    assert menu.text == LANGUAGE_PROMPT
    assert [[b.text for b in row] for row in menu.rows] == [
        ["1. Кыргызча", "2. Русский"],
        ["3. Тоҷикӣ", "4. English"],
    ]
    await hans.press("English")
    [home] = await hans.replies()
    assert home.kind == "edited"
    assert menu_text(content, content.dialog.start, "en") in home.text


async def test_a_digit_typed_as_text_works_like_the_button(safar: Safar, content: Content) -> None:
    nurlan = safar.api.person("Nurlan", language_code="ky")
    await start(nurlan)
    await nurlan.send(key_of(content, content.dialog.start, goto="documents"))
    [documents] = await nurlan.replies()
    assert documents.kind == "sent"
    assert menu_text(content, "documents", "ky") in documents.text


@pytest.mark.parametrize(
    ("lang", "question"),
    [
        ("ky", "Эмгек акымды төлөшкөн жок"),
        ("ru", "Не выплатили зарплату, что делать?"),
        ("tg", "Музди кор надоданд"),
        ("en", "salary not paid"),
    ],
)
async def test_a_free_question_in_each_language_gets_the_article(
    polling: Safar, content: Content, lang: str, question: str
) -> None:
    person = polling.api.person("Dilnoza", language_code=lang)
    await start(person)
    await person.send(question)
    [answer] = await person.replies()
    assert answer.styled("bold") == [content.articles["unpaid-wages"].lang(lang).title]
    assert answer.labels  # related topics and back, as buttons


async def test_language_command_and_menu_change_the_language(
    safar: Safar, content: Content
) -> None:
    farhod = safar.api.person("Farhod", language_code="ru")
    await start(farhod)
    await farhod.command("language")
    [menu] = await farhod.replies()
    assert menu.text == LANGUAGE_PROMPT and menu.labels[-1].startswith("0. ")
    await farhod.press("Тоҷикӣ")
    [home] = await farhod.replies()
    assert home.kind == "edited" and LANGUAGE_NAMES["tg"] in home.text
    assert menu_text(content, content.dialog.start, "tg") in home.text

    await farhod.command("language", "en")  # straight there
    [home] = await farhod.replies()
    assert menu_text(content, content.dialog.start, "en") in home.text


async def test_operator_gives_the_hotline_with_a_contact_card_to_call(
    safar: Safar, content: Content
) -> None:
    gulnara = safar.api.person("Gulnara", language_code="ky")
    await start(gulnara)
    await gulnara.command("operator")
    text, card = await gulnara.replies(2)
    hotline = content.route_hotline("ky")  # a Kyrgyz speaker gets a Kyrgyz line
    assert "ky" in hotline.languages
    assert hotline.phone in text.text and not text.rows
    assert card.kind == "contact" and card.contact is not None
    assert card.contact["phone_number"] == "+" + "".join(c for c in hotline.phone if c.isdigit())
    assert card.contact["first_name"] == hotline.name.get("ky")
    assert card.labels and card.labels[-1].startswith("0. ")  # back, under the card
    await gulnara.press("0")
    [home] = await gulnara.replies()
    assert menu_text(content, content.dialog.start, "ky") in home.text


async def test_help_explains_then_shows_the_menu(safar: Safar, content: Content) -> None:
    ali = safar.api.person("Ali", language_code="en")
    await start(ali)
    await ali.command("help")
    explanation, home = await ali.replies(2)
    assert content.hotline.phone in explanation.text and not explanation.rows
    assert menu_text(content, content.dialog.start, "en") in home.text and home.rows


async def test_a_slow_answer_shows_typing_a_quick_one_does_not(
    polling: Safar, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = polling.channel
    channel.config = dataclasses.replace(channel.config, typing_delay=0.3)
    aida = polling.api.person("Aida", language_code="ru")
    await start(aida)
    await aida.send("Не выплатили зарплату, что делать?")
    await aida.replies()
    assert aida.chat.actions == []

    handle = channel.conversations.handle_and_send

    async def slow(key: SessionKey, inbound: Inbound, *args: Any) -> tuple[Turn | None, bool]:
        await asyncio.sleep(0.6)  # a busy Redis, a cold search index
        return await handle(key, inbound, *args)

    monkeypatch.setattr(channel.conversations, "handle_and_send", slow)
    await aida.send("Не выплатили зарплату, что делать?")
    await aida.replies()
    assert aida.chat.actions == ["typing"]


# -- buttons from old messages ------------------------------------------------------------------


async def test_a_stale_button_shows_where_you_are_instead_of_acting(
    safar: Safar, content: Content, texts: Texts
) -> None:
    aida = safar.api.person("Aida", language_code="ru")
    home = await start(aida)
    await aida.send("Не выплатили зарплату, что делать?")
    [article] = await aida.replies()

    # "2" on the old main menu must not pick related article 2 of the article she is reading
    await aida.press(key_of(content, content.dialog.start, goto="documents"), home.message_id)
    [again] = await aida.replies()
    assert again.styled("bold") == article.styled("bold")
    assert aida.toasts()[-1] == texts.stale("ru")
    assert "reply_markup" not in aida.message(home.message_id)


async def test_a_button_on_an_older_copy_of_the_same_screen_still_works(
    safar: Safar, content: Content
) -> None:
    aida = safar.api.person("Aida", language_code="ru")
    first = await start(aida)
    await aida.command("menu")
    await aida.replies()
    await aida.press(key_of(content, content.dialog.start, goto="documents"), first.message_id)
    [documents] = await aida.replies()
    assert documents.message_id == first.message_id
    assert menu_text(content, "documents", "ru") in documents.text


# -- privacy ------------------------------------------------------------------------------------


async def test_forget_asks_first_then_really_deletes_the_keys(
    safar: Safar, redis: Redis, texts: Texts
) -> None:
    bakyt = safar.api.person("Bakyt", language_code="ky")
    await start(bakyt)
    keys = safar.store.keys_for(SessionKey("telegram", str(bakyt.id)))
    assert await redis.exists(*keys) == 2  # the session and the remembered language

    await bakyt.command("forget")
    [confirm] = await bakyt.replies()
    assert len(confirm.rows) == 1 and [b.text[:3] for b in confirm.rows[0]] == ["1. ", "0. "]
    await bakyt.press("1")
    [done] = await bakyt.replies()
    assert done.kind == "edited" and not done.rows
    assert await redis.exists(*keys) == 0

    # and a newcomer again: the language is asked (guessed) afresh
    home = await start(bakyt)
    assert home.styled("italic") == [texts.language_hint("ky")]


async def test_forget_answered_no_keeps_everything(safar: Safar, redis: Redis) -> None:
    bakyt = safar.api.person("Bakyt", language_code="ky")
    await start(bakyt)
    await bakyt.command("forget")
    await bakyt.replies()
    await bakyt.press("0")
    [home] = await bakyt.replies()
    assert home.kind == "edited" and home.rows
    keys = safar.store.keys_for(SessionKey("telegram", str(bakyt.id)))
    assert await redis.exists(*keys) == 2


# -- what is not text ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "location"])
async def test_a_photo_or_voice_message_gets_a_polite_answer_in_her_language(
    safar: Safar, content: Content, texts: Texts, kind: str
) -> None:
    zarina = safar.api.person("Zarina", language_code="tg")
    await start(zarina)
    await getattr(zarina, f"send_{kind}")()
    note, screen = await zarina.replies(2)
    assert note.text == texts.not_text("tg")
    assert note.text != texts.not_text("en")  # really in Tajik
    assert menu_text(content, content.dialog.start, "tg") in screen.text and screen.rows


# -- groups -------------------------------------------------------------------------------------


async def test_in_a_group_the_bot_speaks_only_when_addressed_and_then_points_to_a_private_chat(
    safar: Safar, texts: Texts
) -> None:
    group = safar.api.group()
    bakyt = group.member("Bakyt", language_code="ky")
    await bakyt.send("Салам баарына! Патент канча турат?")
    await bakyt.quiet()

    await bakyt.send(f"@{safar.api.username} патент канча турат?")
    [answer] = await bakyt.replies()
    text, label = texts.group("ky")
    assert answer.text == text
    assert [(b.text, b.url) for b in answer.rows[0]] == [
        (label, f"https://t.me/{safar.api.username}")
    ]
    await bakyt.send("рахмат", reply_to=answer.message_id)
    await bakyt.replies()  # a reply to the bot is addressing it
    await bakyt.command(f"help@{safar.api.username}")
    await bakyt.replies()
    await bakyt.send("/start@some_other_bot")
    await bakyt.quiet()


# -- Telegram's limits and failures -------------------------------------------------------------


# PTB 22 itself warns when it builds the RetryAfter error for a 429 (int vs timedelta)
@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
async def test_a_429_from_telegram_is_waited_out_and_nothing_is_lost(
    safar: Safar, content: Content
) -> None:
    safar.api.fail("sendMessage", retry_after=1)
    aida = safar.api.person("Aida", language_code="ru")
    began = time.monotonic()
    home = await start(aida)
    assert menu_text(content, content.dialog.start, "ru") in home.text
    attempts = safar.api.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0 and time.monotonic() - began >= 1.0


async def test_a_person_who_blocked_the_bot_costs_nothing_and_others_are_answered(
    safar: Safar, content: Content
) -> None:
    gone = safar.api.person("Gone", language_code="ru")
    gone.block()
    await gone.command("start")
    aida = safar.api.person("Aida", language_code="ru")
    home = await start(aida)
    assert menu_text(content, content.dialog.start, "ru") in home.text
    await safar.api.wait_for(
        lambda: any(c.status == 403 for c in safar.api.calls_to("sendMessage")), 5, "a 403"
    )


async def test_commands_and_profile_are_registered_in_every_language(
    safar: Safar, texts: Texts
) -> None:
    await safar.api.wait_for(
        lambda: len(safar.api.short_descriptions) == 5, 5, "the profile in 5 languages"
    )
    registered = safar.api.commands
    assert set(registered) == {("default", code) for code in ("", *LANGUAGES)}
    for code in ("", *LANGUAGES):
        assert [c["command"] for c in registered[("default", code)]] == list(COMMAND_NAMES)
        assert safar.api.descriptions[code] and safar.api.short_descriptions[code]
    ru = {c["command"]: c["description"] for c in registered[("default", "ru")]}
    en = {c["command"]: c["description"] for c in registered[("default", "")]}
    assert ru["forget"] == texts.commands("ru")[-1].description != en["forget"]


# -- order and concurrency ----------------------------------------------------------------------


async def test_ten_quick_messages_from_one_chat_are_answered_in_order(safar: Safar) -> None:
    safar.api.latency = (0.0, 0.03)  # answers that take varying time must not overtake
    aida = safar.api.person("Aida", language_code="ru")
    await start(aida)
    wanted = [LANGUAGES[i % 4] for i in range(10)]
    for lang in wanted:
        await aida.command("language", lang)
    replies = await aida.replies(10, within=20)
    assert [
        next(code for code in LANGUAGES if LANGUAGE_NAMES[code] in r.text) for r in replies
    ] == (wanted)


async def test_fifty_chats_at_once_are_all_answered(safar: Safar, content: Content) -> None:
    people = [safar.api.person(f"P{i}", language_code=LANGUAGES[i % 4]) for i in range(50)]
    await asyncio.gather(*(p.command("start") for p in people))
    for i, person in enumerate(people):
        [home] = await person.replies(within=20)
        assert menu_text(content, content.dialog.start, LANGUAGES[i % 4]) in home.text


# -- as a person runs it ----------------------------------------------------------------------


async def test_safar_serve_with_a_token_answers_on_telegram_and_never_logs_the_token(
    api: BotAPI, tmp_path: Path, redis_url: str
) -> None:
    """`TELEGRAM_BOT_TOKEN=… safar serve`, as the README says, with SAFAR_LOG_LEVEL=DEBUG."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.url,
        REDIS_URL=redis_url,
        SAFAR_SECRET=SECRET.decode(),
        SAFAR_PORT=str(free_port()),
        SAFAR_DATA_DIR=str(tmp_path),
        SAFAR_LOG_LEVEL="DEBUG",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        aida = api.person("Aida", language_code="ru")
        await aida.command("start")
        [home] = await aida.replies(within=30)
        assert home.rows
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    log = out.decode()
    assert proc.returncode == 0, log
    assert "telegram (polling)" in log
    secret = api.token.split(":", 1)[1]
    assert secret not in log and str(aida.id) not in log


# -- the channel never takes the rest down ------------------------------------------------------


async def test_a_wrong_token_turns_telegram_off_and_the_web_chat_keeps_working(
    settings: Settings, api: BotAPI, content: Content
) -> None:
    async with run_safar(
        settings,
        api,
        content,
        wait_ready=False,
        telegram_bot_token="123:not-the-token",
        staff_token=STAFF_SECRET,
    ) as safar:
        for _ in range(100):
            if safar.channel.failure:
                break
            await asyncio.sleep(0.05)
        assert safar.channel.failure and "TELEGRAM_BOT_TOKEN" in safar.channel.failure
        assert not safar.channel.ready.is_set()
        async with aiohttp.ClientSession() as http:
            payload = {"user": "visitor-0001", "command": "start"}
            async with http.post(f"{safar.url}/api/chat", json=payload) as resp:
                assert resp.status == 200
                assert (await resp.json())["replies"]
            async with http.get(f"{safar.url}/healthz", headers=STAFF) as resp:
                channels = (await resp.json())["channels"]
                assert channels["web chat"] == "ok"
                assert channels["telegram (polling)"].startswith("off: Telegram rejected")


async def test_an_unreachable_telegram_holds_up_nothing_and_stopping_is_clean(
    settings: Settings, api: BotAPI, content: Content
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with run_safar(
        settings,
        api,
        content,
        wait_ready=False,
        telegram_api_url=nowhere,
        staff_token=STAFF_SECRET,
    ) as safar:
        await asyncio.sleep(0.3)
        assert not safar.channel.ready.is_set() and safar.channel.failure is None  # retrying
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{safar.url}/healthz", headers=STAFF) as resp,
        ):
            assert resp.status == 200
            assert (await resp.json())["channels"]["telegram (polling)"] == "connecting"


async def test_without_redis_the_bot_still_answers(
    settings: Settings, api: BotAPI, content: Content
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with run_safar(settings, api, content, "webhook", redis_url=dead) as safar:
        aida = safar.api.person("Aida", language_code="ru")
        await aida.command("start")  # no dedupe, no session: a stateless, still useful answer
        notice, home = await aida.replies(2)
        assert "112" in notice.text  # what a person in danger needs, first
        assert menu_text(content, content.dialog.start, "ru") in home.text
        await aida.press("1")
        _, screen = await aida.replies(2)
        assert screen.text
