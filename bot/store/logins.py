"""Failed staff logins per network address, so a token cannot be guessed by trying.

Key layout: safar:staff-fail:<h>, <h> a keyed hash of the address (an IP address is personal
data), a counter that expires `window` seconds after the first failure.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.base import SessionKey, guarded


@guarded
class FailedLogins:
    def __init__(
        self, redis: Redis, *, prefix: str = "safar", salt: str = "", limit: int, window: int
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.salt = salt
        self.limit = limit
        self.window = window

    def key(self, address: str) -> str:
        return f"{self.prefix}:staff-fail:{SessionKey('staff', address).digest(self.salt)}"

    async def blocked(self, address: str) -> bool:
        """Whether this address has failed `limit` times within the window; while it is, even
        the right token is refused, or guessing would only need patience."""
        raw = await self.redis.get(self.key(address))
        return raw is not None and int(raw) >= self.limit

    async def failed(self, address: str) -> int:
        """Count one failure; the count so far."""
        key = self.key(address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count)
