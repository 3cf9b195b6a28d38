"""The storage interface the rest of the bot sees.

Small on purpose (after aiogram's BaseStorage): sessions with a TTL, an atomic update, and the
few flags channels need (seen-once for retries, opt-out). Anything a person told us is never
stored here; only where they are in the menu and their language.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from redis.exceptions import RedisError, ResponseError, WatchError

from bot.engine.types import Session

if TYPE_CHECKING:
    from bot.store.outbox import OutMessage

T = TypeVar("T")


@dataclass(frozen=True)
class SessionKey:
    channel: str
    user: str

    def digest(self, secret: bytes | str) -> str:
        """A pseudonym for the user: keys and logs never carry a phone number or chat id.

        Keyed (HMAC-SHA256 with SAFAR_SECRET): phone numbers are few enough to try them all,
        so a plain hash of one could be reversed in an hour; without the secret it cannot."""
        key = secret.encode() if isinstance(secret, str) else secret
        return _digest(key, self.channel, self.user)


@functools.lru_cache(maxsize=4096)
def _digest(secret: bytes, channel: str, user: str) -> str:
    """Cached: one SMS turn names its person in half a dozen keys, and each HMAC costs more
    than the dictionary look-up. Holds the ids of the people who wrote last, as the process
    does anyway while it answers them."""
    raw = f"{channel}:{user}".encode()
    return hmac.new(secret, raw, hashlib.sha256).hexdigest()[:24]


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

    async def update_and_send(
        self,
        key: SessionKey,
        fn: Callable[[Session], tuple[Session | None, T]],
        emit: Callable[[T], tuple[Sequence[OutMessage], bool]],
        marker: tuple[str, int] | None = None,
    ) -> T | None:
        """`update`, queuing what `emit` makes of the result on the outbox in the same
        transaction, with a once-`marker` (None: seen before, nothing done)."""

    async def mark(self, owner: SessionKey | None, marker: tuple[str, int]) -> None:
        """Set a once-marker after the fact (see `update_and_send`)."""

    async def queue(self, messages: Sequence[OutMessage]) -> None:
        """Put messages on the durable outbox."""

    async def once(
        self, namespace: str, item: str, ttl: int, owner: SessionKey | None = None
    ) -> bool:
        """True the first time `item` is seen in `namespace` within `ttl` seconds; with
        `owner`, the marker goes when that person is forgotten."""

    async def seen(self, namespace: str, item: str) -> bool:
        """Whether `once` was called for `item` within its ttl (nothing is marked)."""

    async def track(self, owner: SessionKey, redis_key: str, ttl: int) -> None:
        """`redis_key` is about `owner`: delete it with them."""

    async def allow(
        self, namespace: str, item: str, limit: int, window: int, owner: SessionKey | None = None
    ) -> bool:
        """True while `item` has made at most `limit` calls in the current `window` seconds."""

    async def ping(self) -> bool: ...

    def pseudonym(self, key: SessionKey) -> str:
        """How this person is named in keys and logs (keyed hash of channel + id)."""


class StoreUnavailable(Exception):
    """Redis could not be reached, or not in time. The one storage error the rest of the bot
    handles: channels answer without a session, the SMS channel fails closed, and so on."""


_DOWN = ("OOM", "MISCONF", "READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS", "BUSY ")
"""Error replies that mean "Redis cannot serve now", not "this command was wrong"."""

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _translating(fn: F) -> F:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except WatchError:
            raise
        except ResponseError as exc:
            if str(exc).startswith(_DOWN):
                raise StoreUnavailable(str(exc).split(" ", 1)[0]) from exc
            raise
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    return wrapper  # type: ignore[return-value]


C = TypeVar("C", bound=type)


def guarded(cls: C) -> C:
    """Every public coroutine method of a store raises StoreUnavailable, never a Redis error:
    only bot/store knows there is a Redis behind it."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, _translating(member))
    return cls
