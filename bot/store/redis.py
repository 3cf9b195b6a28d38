"""Sessions in Redis as JSON, under namespaced keys, every key with a TTL.

Key layout (prefix `safar` by default; `<id>` is a keyed hash of channel + user id):
  safar:s:<id>        the session, expires after inactivity (SAFAR_SESSION_TTL)
  safar:p:<id>        language and script, kept longer (SAFAR_PREFS_TTL)
  safar:once:<ns>:<x> seen-once markers for webhook retries
  safar:rate:<ns>:<h> request counters for rate limits, one window long
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from bot.engine.types import Session
from bot.store.base import SessionKey

T = TypeVar("T")
PREF_FIELDS = ("lang", "script")


class RedisStore:
    def __init__(
        self,
        redis: Redis,
        *,
        session_ttl: int,
        prefs_ttl: int,
        prefix: str = "safar",
        salt: str = "",
    ) -> None:
        self.redis = redis
        self.session_ttl = session_ttl
        self.prefs_ttl = prefs_ttl
        self.prefix = prefix
        self.salt = salt

    def keys_for(self, key: SessionKey) -> tuple[str, str]:
        digest = key.digest(self.salt)
        return f"{self.prefix}:s:{digest}", f"{self.prefix}:p:{digest}"

    async def load(self, key: SessionKey) -> Session:
        skey, pkey = self.keys_for(key)
        raw, prefs = await self.redis.mget(skey, pkey)
        return self._decode(raw, prefs)

    async def save(self, key: SessionKey, session: Session) -> None:
        skey, pkey = self.keys_for(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write(pipe, skey, pkey, session)
            await pipe.execute()

    async def delete(self, key: SessionKey) -> None:
        await self.redis.delete(*self.keys_for(key))

    async def update(
        self, key: SessionKey, fn: Callable[[Session], tuple[Session | None, T]]
    ) -> T:
        skey, pkey = self.keys_for(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(skey, pkey)
                    raw, prefs = await pipe.mget(skey, pkey)
                    new, result = fn(self._decode(raw, prefs))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if new is None:
                        pipe.delete(skey, pkey)
                    else:
                        self._write(pipe, skey, pkey, new)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue  # someone wrote in between: run fn again on the new state

    async def once(self, namespace: str, item: str, ttl: int) -> bool:
        return bool(
            await self.redis.set(f"{self.prefix}:once:{namespace}:{item}", 1, nx=True, ex=ttl)
        )

    async def allow(self, namespace: str, item: str, limit: int, window: int) -> bool:
        digest = SessionKey(namespace, item).digest(self.salt)  # an IP address is personal data
        key = f"{self.prefix}:rate:{namespace}:{digest}"
        async with self.redis.pipeline(transaction=True) as pipe:
            # SET NX starts the window once; EXPIRE ... NX would need Redis 7
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count) <= limit

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    def _write(self, pipe: Any, skey: str, pkey: str, session: Session) -> None:
        pipe.set(skey, json.dumps(session.to_dict(), ensure_ascii=False), ex=self.session_ttl)
        prefs = {f: getattr(session, f) for f in PREF_FIELDS if getattr(session, f) is not None}
        if prefs:
            pipe.set(pkey, json.dumps(prefs), ex=self.prefs_ttl)

    @staticmethod
    def _decode(raw: bytes | str | None, prefs: bytes | str | None) -> Session:
        if raw:
            try:
                return Session.from_dict(json.loads(raw))
            except (ValueError, TypeError):
                pass  # a corrupt session is dropped, not fatal: start afresh
        session = Session()
        if prefs:
            try:
                data = json.loads(prefs)
                for f in PREF_FIELDS:
                    if f in data:
                        setattr(session, f, data[f])
            except (ValueError, TypeError):
                pass
        return session
