"""A lease in Redis: at most one process holds it, for as long as it keeps renewing it.

Used for Telegram long polling, which Telegram allows one connection per bot to do (a second
`getUpdates` gets 409 Conflict, and the two steal updates from each other).

Key: `<prefix>:lease:<name>` holding the owner's name (`host:pid:random`), with a TTL of one
lease period; taken with SET NX, renewed and released only by its owner (a script compares
first), so a process that paused past its lease cannot extend or drop another's.
"""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis
from redis.exceptions import RedisError

_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, *, prefix: str, name: str, owner: str, ttl_ms: int) -> None:
        self.redis = redis
        self.key = f"{prefix}:lease:{name}"
        self.owner = owner
        self.ttl_ms = ttl_ms
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def renew(self) -> bool | None:
        """Take the lease if it is free, or keep it if it is ours: True while this process
        holds it, False while another does, None when Redis cannot tell (unreachable)."""
        try:
            return bool(await self._renew(keys=[self.key], args=[self.owner, self.ttl_ms]))
        except (RedisError, OSError):
            return None

    async def holder(self) -> str | None:
        """Who holds it now (None: nobody, or Redis cannot tell)."""
        try:
            raw = await self.redis.get(self.key)
        except (RedisError, OSError):
            return None
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def release(self) -> None:
        """Free it for another process now, rather than after the TTL (a clean stop)."""
        with contextlib.suppress(RedisError, OSError):
            await self._release(keys=[self.key], args=[self.owner])
