"""The SMS channel over real HTTP on loopback, signed with twilio's own RequestValidator, with
a real Redis and a loopback stand-in for Twilio's REST API (tests/fakes/twilio_api.py).

Each test is a person with a basic phone texting Safar's number.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.app import CONVERSATIONS, STORE, create_app
from bot.channels.sms import SMS, SmsChannel
from bot.channels.sms.webhook import twiml
from bot.content.load import Content
from bot.conversations import ContentHolder
from bot.engine.types import HANDOFF, LANG_MENU
from bot.settings import Settings
from bot.sms.segments import count, is_gsm
from bot.store.sms import session_key
from bot.store.stats import day_of
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN
from tests.fakes.twilio_api import FakeTwilio

Client = TestClient[web.Request, web.Application]
ClientMaker = Callable[[web.Application], Awaitable[Client]]


def new_phone() -> str:
    return "+99655" + "".join(secrets.choice("0123456789") for _ in range(7))


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


def replies(twiml: str) -> list[str]:
    """The text of each <Message> in a TwiML answer; [] when Safar stays silent."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]


def sms_settings(settings: Settings, api: FakeTwilio, **changes: Any) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": ACCOUNT,
            "twilio_auth_token": TOKEN,
            "twilio_from": SAFAR_NUMBER,
            "twilio_api_url": api.url,
            **changes,
        }
    )


@pytest.fixture
def make_client(
    settings: Settings, content: Content, twilio: FakeTwilio, aiohttp_client: ClientMaker
) -> Callable[..., Awaitable[Client]]:
    """The app with the SMS channel on, and any settings changed for one story."""

    async def make(**changes: Any) -> Client:
        app = create_app(sms_settings(settings, twilio, **changes), ContentHolder(content))
        client = await aiohttp_client(app)
        outbound = client.app[SMS].outbound
        assert outbound is not None
        outbound.backoff = 0.01
        return client

    return make


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[Client]]) -> Client:
    return await make_client()


class Phone:
    """A person texting Safar; each text goes through the webhook signed as Twilio signs it."""

    def __init__(self, client: Client, number: str | None = None, url: str | None = None) -> None:
        self.client = client
        self.number = number or new_phone()
        self.url = url  # the URL Twilio believes it calls; default: the server's own
        self.validator = RequestValidator(TOKEN)

    def form(self, body: str | None, sid: str | None = None, **extra: str) -> dict[str, str]:
        form = {
            "ToCountry": "US",
            "SmsMessageSid": sid or new_sid(),
            "NumMedia": "0",
            "SmsSid": "",
            "SmsStatus": "received",
            "To": SAFAR_NUMBER,
            "NumSegments": "1",
            "AccountSid": ACCOUNT,
            "From": self.number,
            "FromCountry": "KG",
            "ApiVersion": "2010-04-01",
            **extra,
        }
        form["MessageSid"] = form["SmsSid"] = form["SmsMessageSid"]
        if body is not None:
            form["Body"] = body
        return form

    async def post(
        self, form: dict[str, str], path: str = "/sms/twilio", signature: str | None = None
    ) -> tuple[int, str]:
        url = (self.url or str(self.client.make_url(""))).rstrip("/") + path
        if signature is None:
            signature = self.validator.compute_signature(url, form)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        resp = await self.client.post(path, data=form, headers=headers)
        return resp.status, await resp.text()

    async def text(self, body: str | None, sid: str | None = None, **extra: str) -> str:
        """Send an SMS; the one reply it gets ("" if none)."""
        status, twiml = await self.post(self.form(body, sid, **extra))
        assert status == 200, twiml
        got = replies(twiml)
        assert len(got) <= 1
        return got[0] if got else ""


def channel(client: Client) -> SmsChannel:
    return client.app[SMS]


async def session_of(client: Client, phone: Phone) -> Any:
    return await client.app[STORE].load(session_key(phone.number))


# -- signatures ------------------------------------------------------------------------------


async def test_a_signed_text_gets_a_twiml_reply(client: Client) -> None:
    phone = Phone(client)
    status, twiml = await phone.post(phone.form("Salom"))
    assert status == 200
    assert twiml.startswith("<?xml") and "<Response><Message>" in twiml
    assert (await session_of(client, phone)).node == LANG_MENU


@pytest.mark.parametrize(
    "forgery",
    ["unsigned", "wrong token", "wrong url", "body changed", "garbage", "not ascii"],
)
async def test_a_forged_or_unsigned_request_gets_403_and_changes_nothing(
    client: Client, forgery: str
) -> None:
    phone = Phone(client)
    form = phone.form("2")
    url = str(client.make_url("/sms/twilio"))
    signature = {
        "unsigned": "",
        "wrong token": RequestValidator("x" * 32).compute_signature(url, form),
        "wrong url": phone.validator.compute_signature("https://evil.example/sms/twilio", form),
        "body changed": phone.validator.compute_signature(url, {**form, "Body": "1"}),
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "not ascii": "cG9kcGlzé",
    }[forgery]
    status, text = await phone.post(form, signature=signature)
    assert status == 403
    assert "signature" in text
    skey, pkey = client.app[STORE].keys_for(session_key(phone.number))
    assert await client.app[STORE].redis.exists(skey, pkey) == 0
    state = channel(client).state
    assert state is not None
    assert await state.reply_for(phone.number, form["MessageSid"]) is None


async def test_behind_a_proxy_the_signature_is_checked_against_public_url(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    public = "https://safar.example.org"
    client = await make_client(public_url=public)
    # Twilio called https://safar.example.org/sms/twilio?src=kg; the proxy hands us http
    # on a loopback port, with the same path and query
    proxied = Phone(client, url=public)
    form = proxied.form("Salom")
    status, twiml = await proxied.post(form, path="/sms/twilio?src=kg")
    assert status == 200 and replies(twiml)
    # the same text signed for the inner URL is not what Twilio signed: rejected
    inner = Phone(client, proxied.number)
    status, _ = await inner.post(inner.form("Salom"), path="/sms/twilio?src=kg")
    assert status == 403


# -- Twilio's retries ----------------------------------------------------------------------


async def test_a_retried_message_gets_the_same_reply_and_moves_the_session_once(
    client: Client,
) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    sid = new_sid()
    first = await phone.text("2", sid=sid)  # Русский: the main menu
    after_first = await session_of(client, phone)
    assert after_first.lang == "ru" and after_first.node == "main"
    again = await phone.text("2", sid=sid)  # Twilio retries: the same "2", the same sid
    assert again == first
    after_retry = await session_of(client, phone)
    assert after_retry.node == "main"  # not moved into menu option 2
    assert after_retry.turns == after_first.turns


async def test_a_retry_of_an_older_message_is_never_answered_a_second_time(
    client: Client,
) -> None:
    phone = Phone(client)
    sids = [new_sid() for _ in range(3)]
    await phone.text("Salom", sid=sids[0])
    second = await phone.text("2", sid=sids[1])
    await phone.text("2", sid=sids[2])  # the two newest replies are kept in full, not the first
    before = await session_of(client, phone)
    assert await phone.text("Salom", sid=sids[0]) == ""  # Twilio retried the first, late
    assert (await session_of(client, phone)).turns == before.turns
    assert await phone.text("2", sid=sids[1]) == second


async def test_a_retry_arriving_while_the_first_is_answered_waits_for_that_answer(
    client: Client,
) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("2")
    sid = new_sid()
    form = phone.form("2", sid=sid)
    results = await asyncio.gather(*(phone.post(form) for _ in range(3)))
    assert [status for status, _ in results] == [200, 200, 200]
    assert len({twiml for _, twiml in results}) == 1
    assert (await session_of(client, phone)).node == "documents"


async def test_a_message_another_replica_is_answering_gets_that_replicas_answer(
    client: Client,
) -> None:
    phone = Phone(client)
    sid = new_sid()
    state = channel(client).state
    assert state is not None
    assert await state.claim(phone.number, sid) == ("claimed", None)  # by the other replica

    async def the_other_replica_answers() -> None:
        await asyncio.sleep(0.2)
        await state.remember(phone.number, sid, "Answered by the other replica")

    answer, _ = await asyncio.gather(phone.text("Salom", sid=sid), the_other_replica_answers())
    assert answer == "Answered by the other replica"
    assert (await session_of(client, phone)).turns == 0  # the conversation never ran here


async def test_a_retry_after_the_answering_replica_died_is_answered(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica claimed the message and was killed: its claim is renewed only while it
    lives, so it runs out within seconds and Twilio's retry gets a real answer."""
    phone = Phone(client)
    sid = new_sid()
    state = channel(client).state
    assert state is not None
    monkeypatch.setattr("bot.store.sms.PENDING_TTL", 2)
    await state.claim(phone.number, sid)  # left by the dead replica, renewed no more
    monkeypatch.undo()
    answer = await phone.text("Salom", sid=sid)
    assert "1 Kyrgyzcha" in answer  # not the empty reply of a retry that gave up waiting


async def test_a_turn_that_failed_gives_its_claim_back_so_the_retry_is_answered(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = Phone(client)
    sid = new_sid()
    conversations = channel(client)._conversations
    assert conversations is not None
    handle = conversations.handle_loaded
    calls = 0

    async def broken_once(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug, or a reload at the wrong moment")
        return await handle(*args)

    monkeypatch.setattr(conversations, "handle_loaded", broken_once)
    assert "try again" in await phone.text("Salom", sid=sid)
    assert "1 Kyrgyzcha" in await phone.text("Salom", sid=sid)  # Twilio's retry, same sid


# -- stories, one per language -------------------------------------------------------------


@pytest.mark.parametrize(
    ("digit", "lang", "latin_word"),
    [("1", "ky", "Kyrgyzcha"), ("2", "ru", "Russkiy"), ("3", "tg", "Tojiki"), ("4", "en", "")],
)
async def test_a_basic_phone_reads_an_article_in_its_language(
    client: Client, content: Content, digit: str, lang: str, latin_word: str
) -> None:
    phone = Phone(client)
    menu = await phone.text("Hello")
    assert "1 Kyrgyzcha" in menu and "2 Russkiy" in menu and "3 Tojiki" in menu
    home = await phone.text(digit)
    assert (await session_of(client, phone)).lang == lang
    assert "\n1 " in home and is_gsm(home)
    await phone.text("2")  # documents
    first = await phone.text("2")  # the work patent
    assert (await session_of(client, phone)).article == "work-patent"
    sms = channel(client).renderer.convert(
        content.articles["work-patent"].lang(lang).sms, lang, "lat"
    )
    assert first.startswith(sms)
    assert "MORE" in first and is_gsm(first)
    assert count(first).segments <= 3
    page = await phone.text("more")
    assert page.startswith("(1/") and is_gsm(page)
    assert count(page).segments <= 3
    assert (await session_of(client, phone)).page == 1


@pytest.mark.parametrize(
    ("digit", "menu", "lang", "help_", "person"),
    [
        ("1", "Башкы", "тил", "жардам", "адам"),
        ("2", "меню", "ЯЗЫК", "помощь", "оператор"),
        ("3", "асосӣ", "забон", "ёрдам", "одам"),
        ("4", "MENU", "LANG", "info", "OPERATOR"),
    ],
)
async def test_one_word_commands_work_in_each_language(
    client: Client, digit: str, menu: str, lang: str, help_: str, person: str
) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text(digit)
    await phone.text("2")
    assert "\n1 " in await phone.text(menu)
    assert (await session_of(client, phone)).node == "main"
    assert "1 Kyrgyzcha" in await phone.text(lang)
    assert (await session_of(client, phone)).node == LANG_MENU
    await phone.text(digit)
    reply = await phone.text(help_)
    assert "STOP" in reply and "LAT/KIR" in reply
    await phone.text(person)
    assert (await session_of(client, phone)).node == HANDOFF


async def test_more_pages_through_the_whole_article_then_says_so(client: Client) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("4")
    await phone.text("2")
    first = await phone.text("2")
    total = int(first.split("MORE: the full text in ")[1].split()[0])
    for page in range(1, total + 1):
        body = await phone.text("MORE")
        assert body.startswith(f"({page}/{total}) ")
        assert count(body).segments <= 3
    assert (await phone.text("MORE")).startswith("That was the whole text.")


async def test_kir_switches_to_cyrillic_and_lat_back(client: Client) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("2")
    await phone.text("KIR")
    assert (await session_of(client, phone)).script == "cyr"
    home = await phone.text("menu")
    assert "Выберите" in home or "Safar" in home
    assert not is_gsm(home)
    await phone.text("лат")  # not a keyword: Cyrillic "lat" is not on the list
    await phone.text("латиница")
    assert (await session_of(client, phone)).script == "lat"
    assert is_gsm(await phone.text("menu"))


async def test_a_question_typed_in_latin_letters_gets_its_article(
    client: Client, content: Content
) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("2")
    answer = await phone.text("kak oplatit patent")
    assert (await session_of(client, phone)).article == "work-patent"
    sms = content.articles["work-patent"].lang("ru").sms
    assert answer.startswith(channel(client).renderer.convert(sms, "ru", "lat"))


# -- STOP and START ------------------------------------------------------------------------


@pytest.mark.parametrize("stop", ["STOP", "стоп", "Stop!", "unsubscribe", "токтот", "бас"])
async def test_stop_silences_safar_until_start(client: Client, stop: str) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("4")
    confirmation = await phone.text(stop)
    assert "no more messages" in confirmation and "START" in confirmation
    assert await phone.text("How do I get a work patent?") == ""
    assert await phone.text(stop) == ""  # confirmed once only
    assert await phone.text("menu") == ""
    back = await phone.text("START")
    assert "Welcome back" in back
    assert await phone.text("work patent") != ""


async def test_the_opt_out_is_kept_under_a_pseudonym_and_does_not_expire(client: Client) -> None:
    phone = Phone(client)
    await phone.text("STOP")
    state = channel(client).state
    assert state is not None
    key = state.optout_key(phone.number)
    assert phone.number[1:] not in key and phone.number[-7:] not in key
    assert await state.redis.ttl(key) == -1  # no expiry: a legal request holds until START
    await phone.text("yes")  # the carriers' other opt-in word
    assert not await state.opted_out(phone.number)


async def test_twilios_advanced_opt_out_type_counts_for_any_configured_word(
    client: Client,
) -> None:
    phone = Phone(client)
    assert "no more messages" in await phone.text("ARRET", OptOutType="STOP")
    assert await phone.text("hello") == ""
    assert "Welcome back" in await phone.text("REPRENDRE", OptOutType="START")


async def test_stop_inside_a_sentence_is_a_question_not_an_opt_out(client: Client) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("4")
    assert await phone.text("how to stop a deportation") != ""
    assert await phone.text("menu") != ""


# -- whatever people send ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        ("", {}),
        ("   \n\t ", {}),
        ("😀👍", {}),
        ("a" * 1600, {}),
        ("Привет hello سلام 你好 ҷ", {}),
        (None, {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/x.jpg"}),
        ("\x00\x07 patent \ufffd", {}),
        ("99", {}),
        ("0", {}),
        ("LANG", {}),
        ("HELP", {}),
        ("OPERATOR", {}),
        ("MORE", {}),
    ],
)
async def test_any_body_gets_a_sensible_reply_never_a_500(
    client: Client, body: str | None, extra: dict[str, str]
) -> None:
    phone = Phone(client)
    reply = await phone.text(body, **extra)
    assert reply.strip()
    assert len(reply) <= 1600
    assert is_gsm(reply)  # the default script is Latin: everything fits GSM-7
    if "NumMedia" in extra:
        assert "only text" in reply


async def test_with_redis_down_nobody_gets_a_text_that_may_have_said_stop(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    """Without the opt-out list nobody can tell who said STOP: Safar fails closed."""
    client = await make_client(redis_url="redis://127.0.0.1:1/0")
    phone = Phone(client)
    assert await phone.text("Salom") == ""
    assert await phone.text("work patent") == ""
    # the opt-out cannot be written down: say so, so the person tries again
    assert "send STOP again later" in await phone.text("STOP")


async def test_help_explains_the_sms_words(client: Client) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("4")
    reply = await phone.text("HELP")
    assert "STOP" in reply and "MORE" in reply and "LAT" in reply
    assert "Hotline" in reply or "hotline" in reply


async def test_a_request_without_a_sender_is_a_clear_400(client: Client) -> None:
    phone = Phone(client)
    form = phone.form("hi")
    del form["From"]
    status, text = await phone.post(form)
    assert status == 400 and "From" in text


# -- outbound through the REST API ---------------------------------------------------------


async def test_an_operator_message_goes_out_by_rest_in_the_persons_script(
    client: Client, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    await phone.text("2")
    sent = await channel(client).send(phone.number, "Оператор: позвоните нам завтра.")
    assert sent.ok and sent.sid and sent.sid.startswith("SM")
    [request] = twilio.requests
    assert request.auth_ok and request.account == ACCOUNT
    assert request.form["To"] == phone.number
    assert request.form["From"] == SAFAR_NUMBER
    assert request.form["Body"] == "Operator: pozvonite nam zavtra."


async def test_a_messaging_service_sender_and_the_status_callback_are_passed_on(
    make_client: Callable[..., Awaitable[Client]], twilio: FakeTwilio
) -> None:
    service = "MG" + "ab" * 16
    public = "https://safar.example.org"
    client = await make_client(twilio_from=service, public_url=public)
    assert (await channel(client).send(new_phone(), "Hello")).ok
    [form] = twilio.sent
    assert form["MessagingServiceSid"] == service and "From" not in form
    assert form["StatusCallback"] == public + "/sms/twilio/status"


async def test_a_deployment_can_make_cyrillic_the_default(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(sms_script="cyr")
    phone = Phone(client)
    assert "1 Кыргызча" in await phone.text("Salom")
    await phone.text("2")
    assert is_gsm(await phone.text("LAT"))  # the confirmation is already in Latin letters
    assert (await session_of(client, phone)).script == "lat"
    assert is_gsm(await phone.text("menu"))


async def test_rest_retries_after_429_and_5xx_then_sends_once(
    client: Client, twilio: FakeTwilio
) -> None:
    twilio.fail_next(429, 503)
    sent = await channel(client).send(new_phone(), "Hello")
    assert sent.ok and sent.attempts == 3
    assert [r.status for r in twilio.requests] == [429, 503, 201]
    assert len(twilio.sent) == 1


async def test_rest_gives_up_after_the_last_attempt(client: Client, twilio: FakeTwilio) -> None:
    twilio.fail_next(*[500] * 10)
    sent = await channel(client).send(new_phone(), "Hello")
    assert not sent.ok and "gave up after 5 attempts" in sent.reason
    assert len(twilio.requests) == 5


async def test_rest_never_sends_to_an_opted_out_number(client: Client, twilio: FakeTwilio) -> None:
    phone = Phone(client)
    await phone.text("STOP")
    sent = await channel(client).send(phone.number, "Operator: hello")
    assert not sent.ok and sent.reason == "opted out"
    assert twilio.requests == []


async def test_a_carrier_opt_out_21610_puts_the_number_on_our_list(
    client: Client, twilio: FakeTwilio
) -> None:
    number = new_phone()
    twilio.unsubscribed.add(number)
    sent = await channel(client).send(number, "Hello")
    assert not sent.ok and "21610" in sent.reason
    assert len(twilio.requests) == 1  # a 4xx is final: no retry
    assert await channel(client).state.opted_out(number)  # type: ignore[union-attr]


async def test_a_wrong_auth_token_is_refused_and_not_retried(
    make_client: Callable[..., Awaitable[Client]], twilio: FakeTwilio
) -> None:
    twilio.auth_token = "another-token-entirely-0000000000"
    client = await make_client()
    sent = await channel(client).send(new_phone(), "Hello")
    assert not sent.ok and "20003" in sent.reason
    assert [r.auth_ok for r in twilio.requests] == [False]


async def test_a_slow_answer_is_sent_by_rest_and_the_webhook_returns_at_once(
    client: Client, twilio: FakeTwilio
) -> None:
    channel(client).reply_deadline = 0  # as if the engine took longer than Twilio waits
    phone = Phone(client)
    sid = new_sid()
    assert await phone.text("Salom", sid=sid) == ""
    for _ in range(100):
        if twilio.sent:
            break
        await asyncio.sleep(0.02)
    [message] = twilio.sent
    assert message["To"] == phone.number and "1 Kyrgyzcha" in message["Body"]
    assert await phone.text("Salom", sid=sid) == ""  # a retry does not send it twice
    await asyncio.sleep(0.05)
    assert len(twilio.sent) == 1


# -- delivery status callbacks -------------------------------------------------------------


async def test_a_failed_delivery_is_recorded_without_the_number(client: Client) -> None:
    phone = Phone(client)
    sid = new_sid()
    form = {
        "MessageSid": sid,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "To": phone.number,
        "From": SAFAR_NUMBER,
        "AccountSid": ACCOUNT,
    }
    status, _ = await phone.post(form, path="/sms/twilio/status")
    assert status == 204
    state = channel(client).state
    assert state is not None
    latest = await state.failures(limit=10)
    entry = next(e for e in latest if e["sid"] == sid)
    assert entry["code"] == "30003" and entry["status"] == "undelivered"
    assert entry["user"] == state.user_id(phone.number)
    assert phone.number not in str(latest)
    assert (await state.failure_codes())["30003"] >= 1
    delivered = {**form, "MessageSid": new_sid(), "MessageStatus": "delivered"}
    assert (await phone.post(delivered, path="/sms/twilio/status"))[0] == 204
    assert all(e["sid"] != delivered["MessageSid"] for e in await state.failures())


async def test_an_unsigned_status_callback_is_refused(client: Client) -> None:
    phone = Phone(client)
    form = {"MessageSid": new_sid(), "MessageStatus": "failed", "To": phone.number}
    status, _ = await phone.post(form, path="/sms/twilio/status", signature="")
    assert status == 403


# -- what a turn costs Redis ---------------------------------------------------------------


class RoundTrips:
    """Counts the requests the app's Redis connections send (a pipeline or a script is one)
    that are about one person: their pseudonym or the message's sid is in it, or the day's
    counters. The outbox's own polling goes on meanwhile and is not this person's cost."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *about: str) -> None:
        self.about = [a.encode() for a in about] + [b":stats:"]
        self.count = 0
        send = AbstractConnection.send_packed_command
        rounds = self

        async def counted(
            conn: AbstractConnection, command: Any, check_health: bool = True
        ) -> None:
            packed = b"".join(command) if isinstance(command, list | tuple) else command
            if any(a in bytes(packed) for a in rounds.about):
                rounds.count += 1
            await send(conn, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


async def test_a_text_costs_at_most_three_redis_round_trips(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = Phone(client)
    await phone.text("Salom")
    chosen = new_sid()
    await phone.text("2", sid=chosen)  # Русский
    await phone.text("2", sid=chosen)  # Twilio retried it: the scripts are all loaded now
    pseudonym = client.app[STORE].pseudonym(session_key(phone.number))
    sid = new_sid()
    rounds = RoundTrips(monkeypatch, pseudonym, sid)
    assert await phone.text("kak oplatit patent", sid=sid)  # a question: search, an article
    assert 1 <= rounds.count <= 3, rounds.count
    rounds.count = 0
    assert await phone.text("MORE")  # the next page
    assert 1 <= rounds.count <= 3, rounds.count
    rounds.count = 0
    assert await phone.text("kak oplatit patent", sid=sid)  # Twilio's retry of the question
    assert 1 <= rounds.count <= 3, rounds.count


async def test_after_a_long_conversation_a_person_holds_under_2_kb_of_redis(
    client: Client, redis: Redis
) -> None:
    phone = Phone(client)
    talk = ["Salom", "2", "2", "2", "MORE", "0", "kak oplatit patent", "menu", "3", "1"]
    talk += ["HELP", "zarplatu ne platyat", "LANG", "4", "my passport was stolen", "MORE"]
    for body in talk:
        await phone.text(body)
    pseudonym = client.app[STORE].pseudonym(session_key(phone.number))
    keys = [key async for key in redis.scan_iter(match=f"*{pseudonym}*", count=1000)]
    assert len(keys) >= 3  # the session, the language, the replies for Twilio's retries
    sizes = {key: await redis.memory_usage(key) or 0 for key in keys}
    assert sum(sizes.values()) <= 2048, sizes
    for key in keys:  # and every one of them goes by itself
        assert await redis.ttl(key) > 0, key


@pytest.mark.parametrize("body", ["1 Kyrgyzcha\n0 Artka", 'Патент & <виза> "x"', "a ]]> b"])
def test_a_reply_is_the_twiml_twilios_own_library_writes(body: str) -> None:
    response = MessagingResponse()
    response.message(body)
    assert twiml(body) == str(response)


async def test_the_report_counts_each_text_and_the_segments_of_each_reply(client: Client) -> None:
    phone = Phone(client)
    menu = await phone.text("Salom")
    home = await phone.text("2")
    answer = await phone.text("kak oplatit patent")  # a question the bot answers
    stats = client.app[CONVERSATIONS].stats
    assert stats is not None
    today = day_of(time.time())
    (day,) = await stats.days(today, today)
    assert day.total("msg") == 3 and day.total("q") == 1
    assert day.totals["sms_n"] == 3
    assert day.totals["sms_seg"] == sum(count(t).segments for t in (menu, home, answer))
    assert day.articles and day.articles[0][1] == 1
