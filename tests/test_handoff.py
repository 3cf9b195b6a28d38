"""Hand-off to hotline operators, end to end: a person on Telegram or SMS, operators in a staff
Telegram group, all through the real app on loopback with the Bot API emulator, the Twilio
emulator and a real Redis.

Each story is what a hotline sees: someone asks for a person, the operators are alerted, they
talk both ways while the bot keeps quiet, and the ticket ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from telegram import Update
from twilio.request_validator import RequestValidator

from bot.app import CONVERSATIONS, STORE
from bot.channels.telegram import TELEGRAM
from bot.content.load import Content
from bot.handoff import Handoffs
from bot.settings import Settings
from bot.store.base import SessionKey
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN
from tests.fakes.telegram_api import BotAPI, Group, Person
from tests.fakes.telegram_safar import Safar, run_safar
from tests.fakes.twilio_api import FakeTwilio

DUSHANBE = ZoneInfo("Asia/Dushanbe")


def at(day: str, hhmm: str) -> float:
    """A moment in Dushanbe time, where the default hotline keeps its hours."""
    moment = dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=DUSHANBE)
    return moment.timestamp()


OPEN = at("2026-12-02", "10:00")  # a Wednesday morning
CLOSED = at("2026-12-05", "20:00")  # a Saturday evening


@pytest.fixture(params=[True, False], ids=["forum", "reply-threads"])
def staff(request: pytest.FixtureRequest, api: BotAPI) -> Group:
    return api.staff_group(forum=request.param)


@pytest.fixture
async def hotline(
    settings: Settings, api: BotAPI, content: Content, staff: Group, twilio: FakeTwilio
) -> AsyncIterator[Safar]:
    """Safar with operators in `staff`, Telegram by polling and SMS, at an hour it is open."""
    async with run_safar(
        settings,
        api,
        content,
        "polling",
        telegram_operator_chat_id=staff.id,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from=SAFAR_NUMBER,
        twilio_api_url=twilio.url,
    ) as running:
        running.app[CONVERSATIONS].clock = lambda: OPEN
        yield running


def handoffs(safar: Safar) -> Handoffs:
    found = safar.app[CONVERSATIONS].handoffs
    assert found is not None
    return found


class Phone:
    """A basic phone texting Safar: each SMS is a webhook signed as Twilio signs it."""

    def __init__(self, safar: Safar, number: str) -> None:
        self.safar = safar
        self.number = number
        self.validator = RequestValidator(TOKEN)
        self.sid = 0

    async def text(self, body: str) -> str:
        self.sid += 1
        form = {
            "MessageSid": f"SM{self.number[1:]}{self.sid:06d}",
            "AccountSid": ACCOUNT,
            "From": self.number,
            "To": SAFAR_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        url = f"{self.safar.url}/sms/twilio"
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, form)}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=form, headers=headers) as r,
        ):
            assert r.status == 200
            xml = await r.text()
        return xml.split("<Message>", 1)[1].split("</Message>", 1)[0] if "<Message>" in xml else ""


async def sms_to(twilio: FakeTwilio, number: str, n: int, within: float = 10.0) -> list[str]:
    for _ in range(int(within * 20)):
        got = [m["Body"] for m in twilio.sent if m.get("To") == number]
        if len(got) >= n:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"{n} SMS to {number}, got {twilio.sent!r}")


async def ask_for_a_person(person: Person) -> str:
    await person.command("start")
    await person.replies()
    await person.command("operator")
    seen = await person.replies(2)
    return "\n".join(x.text for x in seen)


async def the_ticket(staff: Group, n: int = 1) -> tuple[int | None, int]:
    """Where the ticket lives in the staff chat: (forum topic or None, alert message id)."""
    posts = await staff.wait_posts(n)
    alert = posts[0]
    return alert.thread, alert.message_id


async def operator_says(op: Person, text: str, thread: int | None, anchor: int) -> None:
    if thread is not None:
        await op.send(text, thread=thread)
    else:
        await op.send(text, reply_to=anchor)


# -- Telegram --------------------------------------------------------------------------------


async def test_a_person_on_telegram_talks_to_an_operator_and_back_to_the_bot(
    hotline: Safar, api: BotAPI, staff: Group
) -> None:
    aziza = api.person("Aziza", language_code="ru")
    told = await ask_for_a_person(aziza)
    assert "оператор" in told.lower()
    assert "1" in told  # her place in the queue

    thread, anchor = await the_ticket(staff)
    [alert] = staff.posts()
    assert "#" in alert.text and "telegram" in alert.text and "ru" in alert.text
    assert str(aziza.id) not in alert.text  # a masked contact, never the chat id
    assert (thread is not None) == bool(staff.chat.info["is_forum"])

    await aziza.send("Работодатель не платит три месяца")
    await aziza.quiet(0.5)  # the bot keeps quiet: this is for the operator
    posts = await staff.wait_posts(2)
    assert posts[-1].text == "Работодатель не платит три месяца"
    if thread is None:
        assert posts[-1].reply_to == anchor  # a reply thread under the alert
    else:
        assert posts[-1].thread == thread

    operator = staff.member("Nigora", "ru")
    await operator_says(operator, "Здравствуйте! Где вы работаете?", thread, anchor)
    [answer] = await aziza.replies()
    assert "Здравствуйте! Где вы работаете?" in answer.text

    await operator_says(operator, "/close", thread, anchor)
    [bye] = await aziza.replies(1)
    assert "оператор" in bye.text.lower()
    await aziza.send("как получить патент")
    seen = await aziza.replies()
    assert any("патент" in x.text.lower() for x in seen)  # the bot answers again


async def test_the_person_goes_back_to_the_bot_with_a_confirmation(
    hotline: Safar, api: BotAPI, staff: Group
) -> None:
    bakyt = api.person("Bakyt", language_code="ky")
    await ask_for_a_person(bakyt)
    await the_ticket(staff)
    await bakyt.press("00")
    [confirm] = await bakyt.replies()
    assert confirm.labels[0].startswith("1.")
    await bakyt.press("1")
    await bakyt.replies()
    posts = await staff.wait_posts(2)
    assert "#" in posts[-1].text  # the operators are told the ticket closed
    assert (await handoffs(hotline).tickets.active()) == []


async def test_a_stranger_or_another_chat_cannot_answer_a_ticket(
    settings: Settings, api: BotAPI, content: Content, staff: Group
) -> None:
    nigora = staff.member("Nigora", "ru")
    async with run_safar(
        settings,
        api,
        content,
        "polling",
        telegram_operator_chat_id=staff.id,
        operator_ids=str(nigora.id),
    ) as safar:
        safar.app[CONVERSATIONS].clock = lambda: OPEN
        aziza = api.person("Aziza", language_code="ru")
        await ask_for_a_person(aziza)
        thread, anchor = await the_ticket(staff)
        stranger = staff.member("Somebody", "ru")
        await operator_says(stranger, "Дайте мне ваш паспорт", thread, anchor)
        other = api.group("Another group")
        outsider = other.member("Outsider", "ru")
        await outsider.send("/close")
        await aziza.quiet(0.8)
        await operator_says(nigora, "Я оператор, слушаю вас", thread, anchor)
        [answer] = await aziza.replies()
        assert "Я оператор" in answer.text
        assert "паспорт" not in answer.text


async def test_out_of_hours_the_person_hears_when_it_opens_and_can_ask_for_a_callback(
    hotline: Safar, api: BotAPI, staff: Group
) -> None:
    hotline.app[CONVERSATIONS].clock = lambda: CLOSED
    malika = api.person("Malika", language_code="en")
    told = await ask_for_a_person(malika)
    assert "closed" in told.lower() and "on Monday at 08:00" in told
    await the_ticket(staff)  # the ticket waits for the operators all the same
    await malika.press("1")  # yes, call me back
    [ask] = await malika.replies()
    assert "phone number" in ask.text
    await malika.send("+992 93 555 12 34")
    [thanks] = await malika.replies()
    assert "+992935551234" in thanks.text
    listing = await staff_desk_listing(hotline)
    assert "+992935551234" in listing  # the number the person agreed to give


async def staff_desk_listing(safar: Safar) -> str:
    desk = safar.channel.staff
    assert desk is not None
    return await desk.listing()


async def test_forget_removes_the_ticket_its_messages_and_the_callback(
    hotline: Safar, api: BotAPI, staff: Group
) -> None:
    hotline.app[CONVERSATIONS].clock = lambda: CLOSED
    malika = api.person("Malika", language_code="en")
    await ask_for_a_person(malika)
    await the_ticket(staff)
    await malika.send("I need help with my documents")
    await malika.press("1")
    await malika.replies()
    await malika.send("+992 93 555 12 34")
    await malika.replies()
    key = SessionKey("telegram", str(malika.id))
    desk = handoffs(hotline)
    ticket = await desk.tickets.active_for(key)
    assert ticket is not None

    await malika.command("forget")
    [confirm] = await malika.replies()
    assert confirm.labels[0].startswith("1.")
    await malika.press("1")
    await malika.replies()
    assert await desk.tickets.get(ticket.id) is None
    assert await desk.tickets.active_for(key) is None
    redis = hotline.app[STORE].redis
    prefix = hotline.app[STORE].prefix
    left = [k async for k in redis.scan_iter(f"{prefix}:t:*")]
    assert all(not k.decode().endswith(f":{ticket.id}") for k in left), left
    assert not [k for k in left if b":t:ref:" in k or b":msgs" in k or b":cb" in k]


# -- SMS -----------------------------------------------------------------------------------


async def test_a_person_on_sms_reaches_an_operator_who_answers_in_latin_letters(
    hotline: Safar, api: BotAPI, staff: Group, twilio: FakeTwilio
) -> None:
    phone = Phone(hotline, "+992935550101")
    await phone.text("3")  # Tajik
    told = await phone.text("OPERATOR")
    assert told  # in Latin letters by default
    thread, anchor = await the_ticket(staff)
    [alert] = staff.posts()
    assert "sms" in alert.text and "+992935550101" not in alert.text
    assert await phone.text("Pasportamro giriftand") == ""  # silent: for the operator
    posts = await staff.wait_posts(2)
    assert posts[-1].text == "Pasportamro giriftand"

    operator = staff.member("Nigora", "tg")
    await operator_says(operator, "Салом! Шумо дар куҷо ҳастед?", thread, anchor)
    [sms] = await sms_to(twilio, phone.number, 1)
    assert "Salom" in sms and "ҳ" not in sms  # the person's script: Latin

    confirm = await phone.text("MENU")
    assert "1" in confirm
    await phone.text("1")
    posts = await staff.wait_posts(3)
    assert (await handoffs(hotline).tickets.active()) == []
    assert await phone.text("patent") != ""  # the bot answers again


async def test_an_operator_line_repeated_after_a_crash_past_its_relay_reaches_the_person_once(
    hotline: Safar, api: BotAPI, staff: Group, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Safar dies right after an operator's line is queued for the person, before the update
    is marked done; Telegram (or the webhook's own queue) runs the update again. The line is
    queued and marked in one step, so the repeat is recognised and the person gets one SMS."""
    phone = Phone(hotline, "+996555000222")
    await phone.text("1")  # Kyrgyz
    await phone.text("OPERATOR")
    thread, anchor = await the_ticket(staff)
    tickets = handoffs(hotline).tickets
    while not await tickets.linked(staff.id, f"m{anchor}"):  # noqa: ASYNC110 (stored just
        await asyncio.sleep(0.02)  # after Telegram shows the alert)
    operator = staff.member("Nigora", "ky")
    extra = {"thread": thread} if thread is not None else {"reply_to": anchor}
    update = operator.text_update("Саламатсызбы, кайда турасыз?", **extra)

    async def killed(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("SIGKILL")  # the update's own done-marker is never set

    monkeypatch.setattr(hotline.app[STORE], "once", killed)
    await api.push(update)
    [sms] = await sms_to(twilio, phone.number, 1)
    assert "Salamatsyzby" in sms
    monkeypatch.undo()  # the process is back, and the webhook brings the same update again
    channel = hotline.app[TELEGRAM]
    await channel.application.process_update(Update.de_json(update, channel.bot))
    await asyncio.sleep(1.0)
    assert [m["Body"] for m in twilio.sent if m.get("To") == phone.number] == [sms]


async def test_out_of_hours_on_sms_a_callback_keeps_the_number_only_until_done(
    hotline: Safar, api: BotAPI, staff: Group
) -> None:
    hotline.app[CONVERSATIONS].clock = lambda: CLOSED
    phone = Phone(hotline, "+996555000111")
    await phone.text("1")  # Kyrgyz
    told = await phone.text("OPERATOR")
    assert told
    await phone.text("1")  # yes, call me back on this number
    thread, anchor = await the_ticket(staff)
    posts = await staff.wait_posts(2)
    assert "+996555000111" in posts[-1].text  # the number the person agreed to give
    ticket = await handoffs(hotline).tickets.active_for(SessionKey("sms", phone.number))
    assert ticket is not None
    assert await handoffs(hotline).tickets.callback(ticket) == "+996555000111"
    operator = staff.member("Nigora", "ru")
    await operator_says(operator, "/done", thread, anchor)
    await staff.wait_posts(3)
    assert await handoffs(hotline).tickets.callback(ticket) is None
