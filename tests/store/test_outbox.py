"""The durable outbox on a real Redis: what a sender may read, and what survives its death."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from bot.outbox import GiveUp, Retry, Sender, SenderConfig
from bot.store.outbox import OutboxStore, OutMessage


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll what a loopback delivery did (no event to wait on: it is the sender's own loop)."""
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


def note(text: str, to: str = "100") -> OutMessage:
    return OutMessage("telegram", to, text)


async def test_a_message_leaves_the_stream_only_once_delivered(redis: Redis, prefix: str) -> None:
    box = OutboxStore(redis, prefix=prefix)
    await box.add(note("one"), note("two"))
    [(e1, m1), (_, m2)] = await box.read("a", block_ms=10)
    assert [m1.text, m2.text] == ["one", "two"]
    await box.done(e1, m1)
    assert await box.is_done(m1)
    assert await box.depth() == 1  # "two" is still there, read but not acknowledged
    again = await box.read("a", block_ms=10)
    assert [m.text for _, m in again] == ["two"]  # our own pending one comes back first


async def test_each_attempt_says_in_one_round_trip_whether_one_began_or_the_message_went(
    redis: Redis, prefix: str
) -> None:
    """A sender about to send asks once: sent already (a crash came between the send and the
    acknowledgement), begun by a sender that died (check first), or new. Asking marks it."""
    box = OutboxStore(redis, prefix=prefix)
    await box.add(note("Call 112"))
    [(entry, message)] = await box.read("a", block_ms=10)
    assert await box.attempt(message) is False  # new: nobody had begun it
    assert await box.attempt(message) is True  # as the next sender finds it after a crash
    await box.done(entry, message, "SM-1")
    assert await box.attempt(message) is None  # delivered: not to be sent again
    assert await box.depth() == 0
    assert not await redis.exists(f"{prefix}:outbox:begun:{message.id}")  # done clears it


async def test_a_dead_senders_messages_are_taken_over_after_it_stops(
    redis: Redis, prefix: str
) -> None:
    box = OutboxStore(redis, prefix=prefix)
    await box.add(note("for a person in trouble"))
    [(entry, _)] = await box.read("dead", block_ms=10)
    assert await box.read("alive", block_ms=10, idle_ms=60_000) == []  # not yet: it may live
    await asyncio.sleep(0.05)
    [(taken, message)] = await box.read("alive", block_ms=10, idle_ms=10)
    assert taken == entry and message.text == "for a person in trouble"


async def test_one_process_holds_the_lease_until_it_stops_renewing(
    redis: Redis, prefix: str
) -> None:
    box = OutboxStore(redis, prefix=prefix)
    assert await box.lease("p1", 200)
    assert not await box.lease("p2", 200)
    assert await box.lease("p1", 200)  # renewed
    await asyncio.sleep(0.3)
    assert await box.lease("p2", 200)


async def test_the_sending_rate_is_shared_by_every_process(redis: Redis, prefix: str) -> None:
    """Two processes with their own store objects draw from one bucket of 10 a second."""
    one, two = OutboxStore(redis, prefix=prefix), OutboxStore(redis, prefix=prefix)
    waits = [await (one if i % 2 else two).throttle("tg:all", 10, 10) for i in range(30)]
    assert waits[:10] == [0.0] * 10  # the burst
    assert waits[-1] >= 1.8  # 20 more at 10/s: the last waits about two seconds


async def test_the_sender_retries_keeps_order_and_records_what_it_gives_up(
    redis: Redis, prefix: str
) -> None:
    box = OutboxStore(redis, prefix=prefix)
    sender = Sender(box, SenderConfig(backoff=0.01, block_ms=50))
    got: list[str] = []
    failures = iter([True, True, False])

    async def deliver(message: OutMessage) -> None:
        if message.text == "my husband beats me":
            raise GiveUp("forbidden: bot was blocked by the user")
        if message.text == "flaky" and next(failures):
            raise Retry("network")
        got.append(message.text)

    sender.register("telegram", deliver)
    await box.add(note("flaky"), note("after it"), note("my husband beats me", to="200"))
    sender.start()
    await until(lambda: len(got) >= 2)
    await sender.stop()
    assert got == ["flaky", "after it"]  # retried in place: the order held
    assert await box.depth() == 0
    dead = await redis.lrange(f"{prefix}:outbox:dead", 0, -1)
    assert len(dead) == 1 and b"husband" not in dead[0]  # the reason, never the text


async def test_a_backlog_of_one_persons_messages_reaches_the_operators_as_one_post(
    redis: Redis, prefix: str
) -> None:
    """A group takes ~20 bot posts a minute: what one person sent meanwhile goes as one."""
    box = OutboxStore(redis, prefix=prefix)
    sender = Sender(box, SenderConfig(block_ms=50))
    posts: list[str] = []

    async def deliver(message: OutMessage) -> None:
        posts.append(message.text)

    sender.register("staff", deliver)
    staff = [OutMessage("staff", "-100", t, kind="person", ticket="7") for t in ("a", "b", "c")]
    other = OutMessage("staff", "-100", "x", kind="person", ticket="8")
    await box.add(*staff, other)
    sender.start()
    await until(lambda: len(posts) >= 2)
    await sender.stop()
    assert sorted(posts) == ["a\nb\nc", "x"]  # two tickets: two lanes, either first
    assert await box.depth() == 0
    assert all([await box.is_done(m) for m in staff])


async def test_a_message_a_killed_sender_had_begun_is_asked_about_or_sent_again_and_logged(
    redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A SIGKILL between `attempt` and `done`. Twilio can be asked whether the SMS went: it
    had it, so it is not sent twice. The Bot API cannot be asked: the Telegram message goes
    again, and the log says it may arrive twice (the fault bench counts those lines)."""
    box = OutboxStore(redis, prefix=prefix)
    await box.add(OutMessage("sms", "+996555000001", "Operator: call 112"), note("Call 112"))
    for _, message in await box.read("killed", block_ms=10):
        assert await box.attempt(message) is False  # and there the process died
    await asyncio.sleep(0.05)
    sent: list[str] = []
    asked: list[str] = []

    async def deliver(message: OutMessage) -> None:
        sent.append(message.channel)

    async def twilio_has_it(message: OutMessage) -> list[str]:
        asked.append(message.channel)
        return ["SM0001"]

    sender = Sender(box, SenderConfig(block_ms=50, idle_ms=10))
    sender.register("sms", deliver, check=twilio_has_it)
    sender.register("telegram", deliver)
    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        sender.start()
        await until(lambda: bool(sent and asked))
        await sender.stop()
    assert (sent, asked) == (["telegram"], ["sms"])
    assert await box.depth() == 0
    again = [r.getMessage() for r in caplog.records if "cut short" in r.getMessage()]
    assert again == [
        "outbox: a telegram text message cut short by a crash is sent again (it may arrive twice)"
    ]


async def test_an_operator_who_sends_one_text_twice_gets_it_to_the_person_twice_across_a_crash(
    redis: Redis, prefix: str
) -> None:
    """An operator writes "Call 112" twice; the first went out (Twilio sid SM-A), the second
    was on its way when the process died and never reached Twilio. Twilio's list shows one
    "Call 112": it is the first message's, so the second is sent, not taken for delivered."""
    box = OutboxStore(redis, prefix=prefix)
    first = OutMessage("sms", "+996555000002", "Call 112")
    second = OutMessage("sms", "+996555000002", "Call 112")
    await box.add(first)
    await box.add(second)
    (entry, got), (_, again) = await box.read("killed", block_ms=10)
    assert (got.id, again.id) == (first.id, second.id)
    assert await box.attempt(first) is False
    await box.done(entry, first, "SM-A")
    assert await box.attempt(second) is False  # and there the process died
    await asyncio.sleep(0.05)
    twilio = ["SM-A"]

    async def deliver(message: OutMessage) -> str:
        twilio.append(f"SM-{len(twilio)}")
        return twilio[-1]

    async def look_alikes(message: OutMessage) -> list[str]:
        return list(twilio)

    sender = Sender(box, SenderConfig(block_ms=50, idle_ms=10))
    sender.register("sms", deliver, check=look_alikes)
    sender.start()
    await until(lambda: len(twilio) == 2)
    await sender.stop()
    assert twilio == ["SM-A", "SM-1"]
    assert await box.depth() == 0
    assert await box.is_done(second)
