"""Telegram updates kept in Redis between the webhook's 200 and their turn.

The webhook stores an update in one atomic step and answers at once: Telegram then sends the
chat's next update without waiting for our turn or the Bot API, and an update that was
acknowledged is never lost, since it stays in the stream until its reply is in the outbox.

That one step (a Lua script) also dedupes on update_id (Telegram repeats an update whose 200
it missed) and takes the chat's next number in the turn order (bot/store/order.py), before
anything else happens to the update: a chat's numbers are then in update_id order, which is
the order Telegram delivers a chat in, and every process answers a chat by its numbers.

Any process may run any entry (a consumer group); an entry a stopped or killed process had
taken is claimed by another once it has been idle for `claim_ms`. A process renews the entries
it is working on (`touch`), so a slow turn is not taken over and run twice.

Key layout (the store's prefix; `<bot>` is the bot's numeric id):
  safar:tg:in:<bot>              the stream; fields u (the update as Telegram sent it), c (the
                                 chat id, empty for none) and n (the chat's number, 0 for none)
  safar:once:tg-in:<bot>:<id>    update <id> was stored (one day, as long as Telegram retries);
                                 named in the person's safar:own:<u>, so a forget deletes it
  safar:q:<u>                    the chat's last number taken (TurnOrder's key)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.store.base import SessionKey, guarded
from bot.store.order import TurnOrder
from bot.store.outbox import consumer_group

GROUP = "workers"
DEDUPE_TTL = 24 * 3600
STREAM_TTL = 7 * 86400
WAIT_MOST = 0.01
"""Seconds at most between two looks at whether a chat's previous update is done elsewhere."""

# -1: stored before (a repeat); else the chat's number (0: no chat, no place in an order).
_ADD = """
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return -1 end
local n = 0
if ARGV[4] ~= '' then
  n = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[4], KEYS[1])
  redis.call('EXPIRE', KEYS[4], math.max(tonumber(ARGV[1]), tonumber(ARGV[6])))
end
redis.call('XADD', KEYS[3], '*', 'u', ARGV[3], 'c', ARGV[4], 'n', n)
redis.call('EXPIRE', KEYS[3], ARGV[5])
return n
"""


@dataclass(frozen=True)
class Stored:
    entry: str
    raw: bytes
    chat: int | None
    number: int


@guarded
class InboundStore:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        bot_id: int,
        order: TurnOrder,
        owner: Callable[[SessionKey], tuple[str, int]],
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.bot_id = bot_id
        self.order = order
        self.owner = owner
        """The person's set of keys to delete with them, and its shortest life."""
        self.stream = f"{prefix}:tg:in:{bot_id}"
        self._add = redis.register_script(_ADD)
        self._group_ready = False

    async def add(self, update_id: int, chat: int | None, raw: bytes) -> int | None:
        """Durable once this returns (the webhook may answer 200): the chat's number, 0 for an
        update without a chat, None for a repeat."""
        queue, own, own_ttl = f"{self.prefix}:q:-", f"{self.prefix}:own:-", 0
        if chat is not None:
            key = SessionKey("telegram", str(chat))
            queue = self.order.keys(key)[0]
            own, own_ttl = self.owner(key)
        once = f"{self.prefix}:once:tg-in:{self.bot_id}:{update_id}"
        n = int(
            await self._add(
                keys=[once, queue, self.stream, own],
                args=[
                    DEDUPE_TTL,
                    self.order.ttl,
                    raw,
                    "" if chat is None else chat,
                    STREAM_TTL,
                    own_ttl,
                ],
            )
        )
        return None if n < 0 else n

    async def ready(self) -> None:
        if not self._group_ready:
            await consumer_group(self.redis, self.stream, GROUP, STREAM_TTL)
            self._group_ready = True

    async def read(
        self, consumer: str, count: int, block_ms: int, claim_ms: int | None
    ) -> list[Stored]:
        """Entries to run: with `claim_ms`, first those another process left idle that long,
        then new ones (waiting up to `block_ms` when there are none)."""
        await self.ready()
        raw: list[tuple[Any, dict[bytes, bytes]]] = []
        try:
            if claim_ms is not None:
                claimed: Any = await self.redis.xautoclaim(
                    self.stream, GROUP, consumer, min_idle_time=claim_ms, count=count
                )
                raw += [(i, f) for i, f in claimed[1] if f]
            if len(raw) < count:
                new: Any = await self.redis.xreadgroup(
                    GROUP,
                    consumer,
                    {self.stream: ">"},
                    count=count - len(raw),
                    block=None if raw else block_ms,
                )
                for _stream, items in new or []:
                    raw += [(i, f) for i, f in items if f]
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # the stream expired after a week of quiet: made anew
            return []
        out = []
        for i, f in raw:
            chat = f.get(b"c", b"")
            out.append(
                Stored(_s(i), f.get(b"u", b""), int(chat) if chat else None, int(f.get(b"n", 0)))
            )
        return out

    async def wait_turn(self, stored: Stored) -> None:
        """Until the updates of this chat before `stored` are done, on any process: asked
        often, since Telegram's next update for the chat is usually already here."""
        if stored.chat is not None and stored.number:
            key = SessionKey("telegram", str(stored.chat))
            await self.order.wait(key, stored.number, most=WAIT_MOST)

    async def touch(self, consumer: str, entries: list[str]) -> None:
        """Still working on these: reset their idle time so no other process claims them."""
        if entries:
            await self.redis.xclaim(
                self.stream,
                GROUP,
                consumer,
                min_idle_time=0,
                message_ids=list[Any](entries),
                justid=True,
            )

    async def done(self, entry: str) -> None:
        """The update's reply is in the outbox: the update itself is not kept any longer."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, entry)
            pipe.xdel(self.stream, entry)
            await pipe.execute()

    async def leave(self, consumer: str) -> None:
        """A stopping process drops its name from the group, unless entries still wait on it
        (those are claimed by another process; deleting the name would drop them)."""
        pending: Any = await self.redis.xpending_range(
            self.stream, GROUP, min="-", max="+", count=1, consumername=consumer
        )
        if not pending:
            await self.redis.xgroup_delconsumer(self.stream, GROUP, consumer)

    async def depth(self) -> int:
        return int(await self.redis.xlen(self.stream))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
