"""Hand-off across real `safar serve` processes on one Redis: killed with SIGKILL mid-way and
started again, and two of them answering one ticket. Telegram and Twilio are the loopback
emulators; the processes reach them over HTTP as they would reach the real services.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN, Phone, Serve, replica_env
from tests.fakes.telegram_api import BotAPI, Group
from tests.fakes.twilio_api import FakeTwilio


@pytest.fixture
def staff(api: BotAPI) -> Group:
    return api.staff_group(forum=True)


@pytest.fixture
def env(
    redis_url: str, prefix: str, api: BotAPI, twilio: FakeTwilio, staff: Group
) -> dict[str, str]:
    return {
        **replica_env(redis_url, prefix, SECRET, (api.token, api.url)),
        "TELEGRAM_OPERATOR_CHAT_ID": str(staff.id),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": SAFAR_NUMBER,
        "TWILIO_API_URL": twilio.url,
        "SAFAR_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def serves(env: dict[str, str], tmp_path: Path) -> Iterator[list[Serve]]:
    made: list[Serve] = []
    yield made
    for serve in made:
        serve.stop()


async def sms_bodies(twilio: FakeTwilio, number: str, n: int, within: float = 20) -> list[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = [m["Body"] for m in twilio.sent if m.get("To") == number]
        if len(got) >= n:
            await asyncio.sleep(1.0)  # and nothing more after them
            return [m["Body"] for m in twilio.sent if m.get("To") == number]
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {n} SMS, got {twilio.sent!r}")


async def open_ticket(phone: Phone, serve: Serve, staff: Group) -> int:
    assert await phone.text(serve, "1") == 200  # Kyrgyz
    assert await phone.text(serve, "OPERATOR") == 200
    [alert] = await staff.wait_posts(1, within=20)
    assert alert.thread is not None
    return alert.thread


async def test_sigkill_in_the_middle_of_a_hand_off_loses_nothing_and_repeats_only_a_cut_send(
    env: dict[str, str], tmp_path: Path, serves: list[Serve], staff: Group, twilio: FakeTwilio
) -> None:
    serve = Serve(env, tmp_path)
    serves.append(serve)
    await serve.start()
    phone = Phone("+996555010203")
    thread = await open_ticket(phone, serve, staff)
    # Slow SMS deliveries, so the kill finds some queued and one on its way: Safar must ask
    # Twilio whether that one arrived instead of sending it twice.
    twilio.delay = 0.3
    operator = staff.member("Nigora", "ru")
    for i in range(8):  # queued with the emulator, which delivers them one after another
        await operator.send(f"operator line {i}", thread=thread)
    for i in range(8):
        assert await phone.text(serve, f"person line {i}") == 200
    serve.kill()  # mid-way: some of both directions not yet delivered
    delivered = [m for m in twilio.sent if m.get("To") == phone.number]
    assert len(delivered) < 8, "nothing was left to recover: the test proves nothing"
    twilio.delay = 0.0
    await serve.start()
    bodies = await sms_bodies(twilio, phone.number, 8)
    lines = [b for b in bodies if "operator line" in b]
    assert lines == [f"Operator: operator line {i}" for i in range(8)], bodies

    def person_lines() -> list[str]:
        """What the operators saw from the person (a backlog arrives as one post)."""
        return [
            line
            for post in staff.posts(thread)
            for line in post.text.split("\n")
            if line.startswith("person line")
        ]

    await staff.api.wait_for(lambda: len(person_lines()) >= 8, 20, "8 person lines")
    await asyncio.sleep(1.0)
    seen = person_lines()
    assert list(dict.fromkeys(seen)) == [f"person line {i}" for i in range(8)], seen
    if len(seen) > 8:
        # A staff post the kill caught between the Bot API taking it and the outbox marking
        # it sent is sent again: the Bot API cannot be asked whether a post arrived (issue 11),
        # and twice beats never for a person in trouble. Only that, and never silently.
        cut = serve.log.read_text().count("cut short by a crash is sent again")
        assert cut >= 1, seen
        assert len(seen) - 8 <= cut * 8, seen


async def test_a_ticket_opened_through_one_process_is_answered_through_the_other(
    env: dict[str, str], tmp_path: Path, serves: list[Serve], staff: Group, twilio: FakeTwilio
) -> None:
    first, second = Serve(env, tmp_path), Serve(env, tmp_path)
    serves += [first, second]
    await first.start()
    await second.start()  # Telegram now delivers the staff chat's updates to the second
    phone = Phone("+996555040506")
    thread = await open_ticket(phone, first, staff)
    operator = staff.member("Nigora", "ru")
    await operator.send("Саламатсызбы, мен операторmun", thread=thread)
    [answer] = await sms_bodies(twilio, phone.number, 1)
    assert answer.startswith("Operator:")
    assert await phone.text(second, "rahmat") == 200
    posts = await staff.wait_posts(2, within=20, thread=thread)
    assert posts[-1].text == "rahmat"
