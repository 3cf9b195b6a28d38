"""Tickets on a real Redis: the queue operators see, and nothing left after forget."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.engine.types import Handoff
from bot.store.base import SessionKey
from bot.store.tickets import Message, TicketStore
from tests.conftest import SECRET


def store(redis: Redis, prefix: str) -> TicketStore:
    return TicketStore(redis, prefix=prefix, secret=SECRET, retention=3600, callback_ttl=600)


async def test_urgent_tickets_go_before_older_ordinary_ones(redis: Redis, prefix: str) -> None:
    tickets = store(redis, prefix)
    first, _ = await tickets.open(SessionKey("sms", "+996555000001"), "ky", Handoff("kg"), 100.0)
    second, _ = await tickets.open(SessionKey("sms", "+996555000002"), "ru", Handoff("kg"), 200.0)
    urgent, _ = await tickets.open(
        SessionKey("telegram", "42"), "tg", Handoff("tj", queue="urgent"), 300.0
    )
    assert await tickets.position(urgent) == 1
    assert await tickets.position(first) == 2
    assert [t.id for t in await tickets.active()] == [urgent.id, first.id, second.id]
    await tickets.take(urgent, "operator-1")
    assert await tickets.position(first) == 1  # a taken ticket leaves the queue


async def test_asking_twice_keeps_one_ticket(redis: Redis, prefix: str) -> None:
    tickets = store(redis, prefix)
    key = SessionKey("telegram", "7")
    one, created = await tickets.open(key, "en", Handoff("tj"))
    two, again = await tickets.open(key, "en", Handoff("tj"))
    assert created and not again and one.id == two.id


async def test_every_key_expires_and_forget_leaves_none(redis: Redis, prefix: str) -> None:
    tickets = store(redis, prefix)
    key = SessionKey("sms", "+992935550000")
    ticket, _ = await tickets.open(key, "tg", Handoff("tj", open_now=False))
    await tickets.add_message(ticket, Message("person", "Pasportamro giriftand", 1.0))
    await tickets.set_callback(ticket, "+992935550000")
    await tickets.link(ticket, -100123, "th5")
    keys = [k async for k in redis.scan_iter(f"{prefix}:t:*")]
    assert keys
    for k in keys:
        assert await redis.ttl(k) > 0, k
    assert not [k for k in keys if b"992935550000" in k]  # no number in any key name

    await tickets.forget(key)
    left = [k.decode() async for k in redis.scan_iter(f"{prefix}:t:*")]
    assert left == [f"{prefix}:t:seq"]  # only the counter, which names nobody
    assert await tickets.linked(-100123, "th5") is None
