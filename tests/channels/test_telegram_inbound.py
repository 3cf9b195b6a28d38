"""The worker that runs stored Telegram updates (bot/channels/telegram/inbound.py), on real
Redis, with a stand-in for the channel that only notes what ran when."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from bot.channels.telegram.inbound import InboundConfig, InboundWorker
from bot.store.base import SessionKey, StoreUnavailable
from bot.store.inbound import InboundStore, Stored
from bot.store.order import TurnOrder
from bot.store.redis import RedisStore
from tests.conftest import SECRET


def update(update_id: int, chat: int) -> bytes:
    return json.dumps({"update_id": update_id, "message": {"chat": {"id": chat}}}).encode()


async def test_a_chat_waiting_for_another_process_holds_up_no_other_chat(
    redis: Redis, prefix: str
) -> None:
    """Aida's first message is being answered elsewhere (its number is taken, not done): her
    second waits for it, while Bakyt, behind her in the stream, is answered at once even with
    room for a single turn."""
    order = TurnOrder(redis, prefix=prefix, secret=SECRET)
    sessions = RedisStore(redis, session_ttl=600, prefs_ttl=3600, prefix=prefix, secret=SECRET)
    store = InboundStore(redis, prefix=prefix, bot_id=1, order=order, owner=sessions.owner)
    await order.take(SessionKey("telegram", "501"))  # Aida's first, on the other process
    await store.add(2, 501, update(2, 501))
    await store.add(3, 502, update(3, 502))
    ran: list[int] = []

    async def run(stored: Stored) -> bool:
        ran.append(json.loads(stored.raw)["update_id"])
        return True

    worker = InboundWorker(store, run, InboundConfig(parallel=1, ahead=4))
    worker.start()
    try:
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.02)
        assert ran == [3]  # Bakyt; Aida's second still waits for her first
        await order.finish(SessionKey("telegram", "501"), 1)
        for _ in range(100):
            if len(ran) == 2:
                break
            await asyncio.sleep(0.02)
        assert ran == [3, 2]
    finally:
        await worker.stop()
    assert await store.depth() == 0


class _Away(InboundStore):
    """The real store, but Redis "away" until `back` is set: every read fails as it would."""

    back = False

    async def read(self, *args: object, **kwargs: object) -> list[Stored]:
        if not self.back:
            raise StoreUnavailable("Redis away")
        return await super().read(*args, **kwargs)  # type: ignore[arg-type]


async def test_updates_stored_before_redis_went_away_run_within_a_second_of_its_return(
    redis: Redis, prefix: str
) -> None:
    """Cholpon's message was stored and acknowledged; then Redis was away for 4 s, long enough
    for a doubling back-off to reach 4 s and more. Once Redis is back her message is answered
    within a second or so, not after the worker's next long sleep."""
    order = TurnOrder(redis, prefix=prefix, secret=SECRET)
    sessions = RedisStore(redis, session_ttl=600, prefs_ttl=3600, prefix=prefix, secret=SECRET)
    store = _Away(redis, prefix=prefix, bot_id=1, order=order, owner=sessions.owner)
    await store.add(7, 701, update(7, 701))
    ran: list[float] = []
    loop = asyncio.get_running_loop()

    async def run(stored: Stored) -> bool:
        ran.append(loop.time())
        return True

    worker = InboundWorker(store, run, InboundConfig(block_ms=50))
    worker.start()
    try:
        await asyncio.sleep(4.0)
        assert ran == []
        store.back = True
        back_at = loop.time()
        for _ in range(150):
            if ran:
                break
            await asyncio.sleep(0.02)
        assert ran, "not answered within 3 s of Redis coming back"
        assert ran[0] - back_at < 1.5
    finally:
        await worker.stop()
