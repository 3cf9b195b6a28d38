"""Which content version is live, told through Redis, so every process ends on the same one.

Several `safar serve` processes (replicas, or hosts sharing a content folder) each load content
from disk. When one of them loads a new version it announces it here; the others see the
announcement and reload from their own disk. `safar reload` asks every process to reload.

Keys and channel (the store's prefix, `safar` by default):
  safar:content:version   the newest version a process loaded, JSON {"version", "at"};
                          expires after ANNOUNCE_TTL, refreshed by every announcement
  safar:content           pub/sub: {"kind": "version", "version": ...} or {"kind": "reload"}

Pub/sub is instant but forgets what is sent while a process is disconnected, so `follow` also
reads the key on every quiet `poll` interval: a process that missed a message catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

ANNOUNCE_TTL = 30 * 86400
"""A month: long after any reload, yet an abandoned deployment leaves nothing behind forever."""


@dataclass(frozen=True)
class ContentSignal:
    kind: Literal["version", "reload"]
    version: str | None = None


class ContentVersions:
    def __init__(self, redis: Redis, *, prefix: str = "safar") -> None:
        self.redis = redis
        self.key = f"{prefix}:content:version"
        self.channel = f"{prefix}:content"

    async def announce(self, version: str) -> bool:
        """Tell every process that `version` is the newest; False when Redis is unreachable
        (the process keeps serving what it loaded, the others catch up once it is back)."""
        entry = json.dumps({"version": version, "at": int(time.time())})
        message = json.dumps({"kind": "version", "version": version})
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self.key, entry, ex=ANNOUNCE_TTL)
                pipe.publish(self.channel, message)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("content version %s not announced: %s", version, type(exc).__name__)
            return False
        return True

    async def announced(self) -> str | None:
        """The announced version, or None when there is none or Redis is unreachable."""
        try:
            raw = await self.redis.get(self.key)
        except (RedisError, OSError):
            return None
        return _version(raw)

    async def request_reload(self) -> int | None:
        """Ask every running process to reload from disk: how many were listening, or None
        when Redis is unreachable."""
        try:
            return int(await self.redis.publish(self.channel, json.dumps({"kind": "reload"})))
        except (RedisError, OSError):
            return None

    async def follow(self, poll: float = 5.0) -> AsyncGenerator[ContentSignal, None]:
        """Announcements and reload requests as they come, for as long as the caller iterates.
        Every quiet `poll` seconds the key is read as well, so a missed message is caught up;
        a Redis outage is waited out, never raised."""
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=poll
                    )
                    signal = _signal(message) if message else None
                    if signal is None:
                        version = _version(await self.redis.get(self.key))
                        signal = ContentSignal("version", version) if version else None
                    if signal is not None:
                        yield signal
            except (RedisError, OSError) as exc:
                log.warning("content announcements: %s; retrying", type(exc).__name__)
                await asyncio.sleep(poll)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed in redis 8.2


def _loads(raw: Any) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _version(raw: Any) -> str | None:
    version = _loads(raw).get("version") if raw else None
    return version if isinstance(version, str) and version else None


def _signal(message: dict[str, Any]) -> ContentSignal | None:
    if message.get("type") != "message":
        return None
    data = _loads(message.get("data"))
    if data.get("kind") == "reload":
        return ContentSignal("reload")
    version = _version(message.get("data"))
    return ContentSignal("version", version) if version else None
