"""The storage interface the rest of the bot sees.

Small on purpose (after aiogram's BaseStorage): sessions with a TTL, an atomic update, and the
few flags channels need (seen-once for retries, opt-out). Anything a person told us is never
stored here; only where they are in the menu and their language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.engine.types import Session

T = TypeVar("T")


@dataclass(frozen=True)
class SessionKey:
    channel: str
    user: str

    def digest(self, salt: str = "") -> str:
        """A pseudonym for the user: keys and logs never carry a phone number or chat id."""
        raw = f"{salt}:{self.channel}:{self.user}".encode()
        return hashlib.blake2b(raw, digest_size=12).hexdigest()


class Store(Protocol):
    async def load(self, key: SessionKey) -> Session:
        """The session, or a fresh one that keeps the person's saved language and script."""

    async def save(self, key: SessionKey, session: Session) -> None: ...

    async def delete(self, key: SessionKey) -> None:
        """Remove everything kept about this person (the /forget command)."""

    async def update(
        self, key: SessionKey, fn: Callable[[Session], tuple[Session | None, T]]
    ) -> T:
        """Apply `fn` atomically: concurrent updates of one session never lose a write.
        `fn` may run more than once, so it must be pure. Returning None deletes the session."""

    async def once(self, namespace: str, item: str, ttl: int) -> bool:
        """True the first time `item` is seen in `namespace` within `ttl` seconds."""

    async def allow(self, namespace: str, item: str, limit: int, window: int) -> bool:
        """True while `item` has made at most `limit` calls in the current `window` seconds."""

    async def ping(self) -> bool: ...
