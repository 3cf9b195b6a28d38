"""Telegram updates between the webhook's 200 and their turn (bot/store/inbound.py).

Two workers on one Redis stand for two `safar serve` processes: what one stored, either may
run; what a killed one had taken, the other runs once it has waited long enough.
"""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from bot.store.base import SessionKey
from bot.store.inbound import InboundStore
from bot.store.order import TurnOrder
from bot.store.redis import RedisStore
from tests.conftest import SECRET

BOT = 123456


def inbound(redis: Redis, prefix: str) -> InboundStore:
    order = TurnOrder(redis, prefix=prefix, secret=SECRET)
    sessions = RedisStore(redis, session_ttl=600, prefs_ttl=3600, prefix=prefix, secret=SECRET)
    return InboundStore(redis, prefix=prefix, bot_id=BOT, order=order, owner=sessions.owner)


def update(update_id: int, chat: int) -> bytes:
    return json.dumps({"update_id": update_id, "message": {"chat": {"id": chat}}}).encode()


async def test_a_repeat_is_stored_once_and_each_chat_numbers_its_updates_in_order(
    redis: Redis, prefix: str
) -> None:
    store = inbound(redis, prefix)
    await store.ready()
    aida, bakyt = 501, 502
    assert await store.add(10, aida, update(10, aida)) == 1
    assert await store.add(11, bakyt, update(11, bakyt)) == 1
    assert await store.add(12, aida, update(12, aida)) == 2
    assert await store.add(12, aida, update(12, aida)) is None  # Telegram missed our 200
    assert await store.add(13, None, b'{"update_id": 13}') == 0  # no chat, no place in an order
    got = await store.read("one", count=10, block_ms=10, claim_ms=None)
    assert [(s.chat, s.number) for s in got] == [(aida, 1), (bakyt, 1), (aida, 2), (None, 0)]
    assert json.loads(got[2].raw)["update_id"] == 12


async def test_the_numbers_are_those_the_turn_order_waits_for(redis: Redis, prefix: str) -> None:
    """The webhook takes the number, the worker waits for it: one sequence, not two."""
    store = inbound(redis, prefix)
    aida = SessionKey("telegram", "501")
    first = await store.add(20, 501, update(20, 501))
    assert first == 1
    assert await store.order.take(aida) == 2


async def test_an_update_a_killed_process_had_taken_is_run_by_another_after_a_while(
    redis: Redis, prefix: str
) -> None:
    store = inbound(redis, prefix)
    await store.ready()
    await store.add(30, 501, update(30, 501))
    [taken] = await store.read("killed", count=10, block_ms=10, claim_ms=None)
    assert await store.read("alive", count=10, block_ms=10, claim_ms=300) == []  # not yet
    await asyncio.sleep(0.35)
    [again] = await store.read("alive", count=10, block_ms=10, claim_ms=300)
    assert again.entry == taken.entry and again.number == 1
    await store.done(again.entry)
    await asyncio.sleep(0.35)
    assert await store.read("third", count=10, block_ms=10, claim_ms=300) == []
    assert await store.depth() == 0  # the person's words are not kept after their turn


async def test_an_update_still_in_progress_is_not_taken_over(redis: Redis, prefix: str) -> None:
    """A slow turn renews its update: another process must not run it a second time."""
    store = inbound(redis, prefix)
    await store.ready()
    await store.add(40, 501, update(40, 501))
    [mine] = await store.read("busy", count=10, block_ms=10, claim_ms=None)
    for _ in range(4):
        await asyncio.sleep(0.15)
        await store.touch("busy", [mine.entry])
    assert await store.read("other", count=10, block_ms=10, claim_ms=300) == []


async def test_a_stopping_process_leaves_the_group_only_when_nothing_waits_on_it(
    redis: Redis, prefix: str
) -> None:
    store = inbound(redis, prefix)
    await store.ready()
    await store.add(50, 501, update(50, 501))
    [held] = await store.read("stopping", count=10, block_ms=10, claim_ms=None)
    await store.leave("stopping")  # its update is still pending: the name stays
    await asyncio.sleep(0.05)
    [claimed] = await store.read("other", count=10, block_ms=10, claim_ms=10)
    assert claimed.entry == held.entry
    await store.done(claimed.entry)
    await store.leave("other")
    names = [c["name"] for c in await redis.xinfo_consumers(store.stream, "workers")]
    assert b"other" not in names and "other" not in names


async def test_a_forgotten_person_leaves_no_marker_of_their_updates(
    redis: Redis, prefix: str
) -> None:
    store = inbound(redis, prefix)
    sessions = RedisStore(redis, session_ttl=600, prefs_ttl=3600, prefix=prefix, secret=SECRET)
    await store.add(60, 501, update(60, 501))
    await store.add(61, 501, update(61, 501))
    assert await redis.keys(f"{prefix}:once:tg-in:*")
    await sessions.delete(SessionKey("telegram", "501"))
    assert await redis.keys(f"{prefix}:once:tg-in:*") == []
    assert await redis.keys(f"{prefix}:q:*") == []


async def test_a_stream_that_expired_is_made_again_and_updates_flow_on(
    redis: Redis, prefix: str
) -> None:
    store = inbound(redis, prefix)
    await store.ready()
    await redis.delete(store.stream)  # a week without a single update
    assert await store.read("one", count=10, block_ms=10, claim_ms=300) == []
    await store.add(70, 501, update(70, 501))
    [again] = await store.read("one", count=10, block_ms=10, claim_ms=None)
    assert json.loads(again.raw)["update_id"] == 70
