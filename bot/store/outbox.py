"""The durable outbox: messages that are not direct replies, on a Redis stream.

An operator's answer, a closing message, an alert to the staff chat: each is added here first
(and only then acknowledged to whoever asked), and one sender (the process holding the lease)
delivers them in order. An entry leaves the stream only after delivery, so a SIGKILL loses
nothing: the next leader takes over the entries the dead one had read. A delivered entry's id
is marked done before it is acknowledged, so a taken-over entry is never sent twice.

Key layout (the store's prefix, `safar` by default):
  safar:outbox              the stream; field "m" holds the message as JSON
  safar:outbox:lease        which process sends (expires when it stops renewing)
  safar:outbox:begun:<id>   an attempt started (until delivered): a taker-over asks first
  safar:outbox:done:<id>    delivered (1 day), checked before every send
  safar:outbox:ref:<channel>:<provider id>   which message a provider's message was (1 day)
  safar:outbox:dead         the last 500 messages given up on (without their text), 30 days
  safar:rate:<name>         token buckets shared by all processes (`throttle`)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.store.base import guarded

GROUP = "senders"
DONE_TTL = 86400
STREAM_TTL = 7 * 86400
DEAD_KEPT = 500


async def consumer_group(redis: Redis, stream: str, group: str, ttl: int) -> None:
    """Make `stream` and its consumer `group` if they are not there yet (one that expired after
    a quiet spell is made again), with the stream's time to live."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    await redis.expire(stream, ttl)


@dataclass(frozen=True)
class OutMessage:
    channel: str
    """"telegram", "sms" (to a person) or "staff" (to the operators' chat)."""
    address: str
    text: str
    kind: str = "text"
    lang: str | None = None
    ticket: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    queued: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes | str) -> OutMessage:
        return cls(**json.loads(raw))


# Renew the lease if we hold it, take it if nobody does.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# An attempt: -1 if the message was delivered already, else whether one had begun before (a
# sender died with it on its way); marks this one begun.
_ATTEMPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local before = redis.call('EXISTS', KEYS[2])
redis.call('SET', KEYS[2], 1, 'EX', ARGV[1])
return before
"""

# A token bucket: returns how many ms to wait before the call may go (0 = now).
_THROTTLE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'n')
local t, n = tonumber(state[1]) or now, tonumber(state[2]) or burst
n = math.min(burst, n + (now - t) * rate / 1000)
local wait = 0
if n < 1 then wait = math.ceil((1 - n) * 1000 / rate) end
n = n - 1
redis.call('HSET', KEYS[1], 't', now, 'n', n)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


@guarded
class OutboxStore:
    def __init__(self, redis: Redis, *, prefix: str = "safar") -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream = f"{prefix}:outbox"
        self._lease = redis.register_script(_LEASE)
        self._attempt = redis.register_script(_ATTEMPT)
        self._throttle = redis.register_script(_THROTTLE)
        self._group_ready = False

    async def ready(self) -> None:
        """Make sure the stream and its consumer group exist (before a transaction uses it)."""
        await self._group()

    def queue(self, pipe: Any, messages: Sequence[OutMessage]) -> None:
        """Add `messages` inside someone's MULTI (see RedisStore.update_and_send)."""
        for message in messages:
            pipe.xadd(self.stream, {"m": message.to_json()})
        if messages:
            pipe.expire(self.stream, STREAM_TTL)

    async def _group(self) -> None:
        if not self._group_ready:
            await consumer_group(self.redis, self.stream, GROUP, STREAM_TTL)
            self._group_ready = True

    async def add(self, *messages: OutMessage, marker: tuple[str, int] | None = None) -> None:
        """Durable once this returns: the caller may acknowledge its own request. `marker`
        (name, ttl) is the `once` marker of that request (RedisStore.once), set in the same
        transaction: a crash leaves both or neither, so a repeat is skipped exactly when its
        messages were queued, never queued twice nor lost."""
        if not messages:
            return
        await self._group()
        async with self.redis.pipeline(transaction=True) as pipe:
            for message in messages:
                pipe.xadd(self.stream, {"m": message.to_json()})
            pipe.expire(self.stream, STREAM_TTL)
            if marker is not None:
                pipe.set(f"{self.prefix}:once:{marker[0]}", 1, ex=marker[1])
            await pipe.execute()

    async def lease(self, owner: str, ttl_ms: int) -> bool:
        return bool(await self._lease(keys=[f"{self.prefix}:outbox:lease"], args=[owner, ttl_ms]))

    async def release(self, owner: str) -> None:
        key = f"{self.prefix}:outbox:lease"
        if await self.redis.get(key) == owner.encode():
            await self.redis.delete(key)

    async def read(
        self,
        consumer: str,
        count: int = 100,
        block_ms: int = 500,
        idle_ms: int = 5000,
        own: bool = True,
        claim: bool = True,
    ) -> list[tuple[str, OutMessage]]:
        """Entries to deliver, oldest first: with `own`, those this consumer read before and
        has not acknowledged; with `claim`, those a dead sender left behind for `idle_ms`; and
        new ones (waiting up to `block_ms` when there is nothing else)."""
        await self._group()
        entries: list[tuple[str, dict[bytes, bytes]]] = []
        if own:
            mine = await self.redis.xreadgroup(GROUP, consumer, {self.stream: "0"}, count=count)
            entries += _entries(mine)
        if claim:
            claimed = await self.redis.xautoclaim(
                self.stream, GROUP, consumer, min_idle_time=idle_ms, start_id="0", count=count
            )
            entries += [(_s(i), f) for i, f in claimed[1] if f]
        new = await self.redis.xreadgroup(
            GROUP,
            consumer,
            {self.stream: ">"},
            count=count,
            block=None if entries else block_ms,
        )
        entries += _entries(new)
        seen: set[str] = set()
        out = []
        for i, f in sorted(entries, key=lambda e: tuple(map(int, e[0].split("-")))):
            if i not in seen and b"m" in f:
                seen.add(i)
                out.append((i, OutMessage.from_json(f[b"m"])))
        return out

    async def attempt(self, message: OutMessage) -> bool | None:
        """An attempt starts, so that if this sender dies now the next one knows to check
        first: None when the message was delivered already (before a crash, not yet
        acknowledged), else whether an earlier attempt had begun. One round trip."""
        base = f"{self.prefix}:outbox"
        keys = [f"{base}:done:{message.id}", f"{base}:begun:{message.id}"]
        before = int(await self._attempt(keys=keys, args=[DONE_TTL]))
        return None if before < 0 else bool(before)

    async def is_done(self, message: OutMessage) -> bool:
        return bool(await self.redis.exists(f"{self.prefix}:outbox:done:{message.id}"))

    async def done(self, entry: str, message: OutMessage, ref: str | None = None) -> None:
        """Mark delivered and drop the entry, in one transaction: its text is not kept after
        delivery, and a crash leaves it either pending and not done, or done and gone.
        `ref`: the provider's id of the message sent (Twilio's sid), so that a look-up after a
        crash never takes it for another message with the same text."""
        async with self.redis.pipeline(transaction=True) as pipe:  # all of it, or none
            pipe.set(f"{self.prefix}:outbox:done:{message.id}", 1, ex=DONE_TTL)
            if ref:
                pipe.set(self._ref(message, ref), message.id, ex=DONE_TTL)
            pipe.delete(f"{self.prefix}:outbox:begun:{message.id}")
            pipe.xack(self.stream, GROUP, entry)
            pipe.xdel(self.stream, entry)
            await pipe.execute()

    async def claim(self, message: OutMessage, ref: str) -> bool:
        """Take the provider's message `ref` as the one `message` became, unless another message
        has it: an operator may send one text twice, and after a crash the look-up finds both."""
        key = self._ref(message, ref)
        if await self.redis.set(key, message.id, nx=True, ex=DONE_TTL):
            return True
        owner = await self.redis.get(key)
        return owner in (message.id, message.id.encode())

    def _ref(self, message: OutMessage, ref: str) -> str:
        return f"{self.prefix}:outbox:ref:{message.channel}:{ref}"

    async def drop(self, entry: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, entry)
            pipe.xdel(self.stream, entry)
            await pipe.execute()

    async def dead(self, entry: str, message: OutMessage, reason: str) -> None:
        """Given up on: kept without its text or address, so staff can see that it happened."""
        record = {
            "channel": message.channel,
            "kind": message.kind,
            "ticket": message.ticket,
            "reason": reason[:200],
            "at": int(time.time()),
        }
        key = f"{self.prefix}:outbox:dead"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, json.dumps(record))
            pipe.ltrim(key, 0, DEAD_KEPT - 1)
            pipe.expire(key, 30 * 86400)
            await pipe.execute()
        await self.drop(entry)

    async def depth(self) -> int:
        return int(await self.redis.xlen(self.stream))

    async def forget(self, channel: str, address: str) -> int:
        """Drop undelivered messages to one person (they asked to be forgotten)."""
        removed = 0
        async for entry, message in self._scan():
            if message.channel == channel and message.address == address:
                await self.drop(entry)
                removed += 1
        return removed

    async def _scan(self) -> AsyncIterator[tuple[str, OutMessage]]:
        last = "-"
        while True:
            raw: Any = await self.redis.xrange(self.stream, min=last, count=500)
            batch = [(_s(i), f) for i, f in raw or [] if f and _s(i) != last]
            if not batch:
                return
            for i, f in batch:
                if b"m" in f:
                    yield i, OutMessage.from_json(f[b"m"])
            last = batch[-1][0]

    async def throttle(self, name: str, rate: float, burst: float) -> float:
        """Seconds to wait before one more call under `rate` per second, shared by every
        process on this Redis (Telegram's and Twilio's limits are per bot, not per process)."""
        now = int(time.time() * 1000)
        try:
            wait = await self._throttle(
                keys=[f"{self.prefix}:rate:{name}"], args=[rate, burst, now]
            )
        except (RedisError, OSError):
            return 0.0  # without Redis, Telegram's own 429s are the limit
        return int(wait) / 1000


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entries(response: Any) -> list[tuple[str, dict[bytes, bytes]]]:
    out: list[tuple[str, dict[bytes, bytes]]] = []
    for _stream, items in response or []:
        out += [(_s(i), f) for i, f in items if f]
    return out
