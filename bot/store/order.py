"""One person's messages, one at a time and in the order they arrived, across every process.

A ticket lock in Redis (like a bakery's numbers): a message takes the next number for its person
as its very first step, and waits until the number before it is done. Two messages 5 ms apart
that land on two `safar serve` processes are then answered as a sequential conversation would
be, which an in-process lock (or a lock taken after a few Redis calls) cannot promise.

Key layout (the store's prefix; `<u>` is the person's keyed pseudonym), both expiring after a
minute of quiet:
  safar:q:<u>   the last number taken
  safar:d:<u>   the last number done

A number whose holder died is passed after `stall` seconds without progress, so a crash costs
the person's next message a short wait, never a stuck conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.base import SessionKey, guarded

TTL = 60


@dataclass
class Ticket:
    """A number taken by a script that did more in the same round trip (the SMS webhook's first
    look-up), for `Conversations.in_order`."""

    number: int | None
    """None: Redis could not give one (the in-process lock keeps what order it can)."""
    ready: bool = False
    """No earlier message of this person was still being answered when it was taken."""
    done: bool = False
    """Marked done already, by the script that saved the turn: nothing left to do at the end."""


# Only while the queue exists: after a /forget deleted both, a finishing turn leaves no trace.
_DONE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local done = tonumber(redis.call('GET', KEYS[1]) or '0')
if done < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


@guarded
class TurnOrder:
    def __init__(self, redis: Redis, *, prefix: str, secret: bytes, stall: float = 3.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.secret = secret
        self.stall = stall
        self.ttl = TTL
        self._done = redis.register_script(_DONE)

    def keys(self, key: SessionKey) -> tuple[str, str]:
        """The person's two keys (last number taken, last done), also for a store that takes a
        number or marks one done inside an atomic step of its own (bot/store/sms.py,
        bot/store/inbound.py)."""
        u = key.digest(self.secret)
        return f"{self.prefix}:q:{u}", f"{self.prefix}:d:{u}"

    async def take(self, key: SessionKey) -> int:
        """This message's number: the first thing done when it arrives."""
        queue, _ = self.keys(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(queue)
            pipe.expire(queue, TTL)
            number, _ = await pipe.execute()
        return int(number)

    async def wait(self, key: SessionKey, number: int, most: float = 0.05) -> None:
        """Until every earlier message of this person is done (or its holder stalled), asking
        Redis at most `most` seconds apart."""
        _, done_key = self.keys(key)
        last, since, pause = -1, time.monotonic(), 0.002
        while True:
            done = int(await self.redis.get(done_key) or 0)
            if done >= number - 1 or number == 1:
                return
            if done != last:
                last, since = done, time.monotonic()
            elif time.monotonic() - since > self.stall:
                await self.finish(key, number - 1)  # the one before us died holding it
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, most)

    async def finish(self, key: SessionKey, number: int) -> None:
        queue, done_key = self.keys(key)
        await self._done(keys=[done_key, queue], args=[number, TTL])

    @contextlib.asynccontextmanager
    async def turn(self, key: SessionKey, number: int) -> AsyncIterator[None]:
        await self.wait(key, number)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a number not marked done is passed later
                await self.finish(key, number)
