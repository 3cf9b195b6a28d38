"""Sessions in Redis as JSON, under namespaced keys, every key with a TTL.

Key layout (prefix `safar` by default; `<id>` is a keyed hash of channel + user id):
  safar:s:<id>        the session, expires after inactivity (SAFAR_SESSION_TTL)
  safar:p:<id>        language and script, kept longer (SAFAR_PREFS_TTL)
  safar:once:<ns>:<x> seen-once markers for webhook retries
  safar:rate:<ns>:<h> request counters for rate limits, one window long

Every call is bounded twice: by the socket timeout of one command (SAFAR_REDIS_TIMEOUT), and by
the Redis time left to the request that waits for it (`redis_budget`, SAFAR_REDIS_BUDGET), so a
slow Redis costs a request seconds, never its deadline (Twilio gives up after 15 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot import LANGUAGES
from bot.engine.types import Session
from bot.store.base import SessionKey, guarded
from bot.store.outbox import OutboxStore, OutMessage

log = logging.getLogger(__name__)

T = TypeVar("T")
PURGE_EVERY = 60
"""Seconds between append-only-file rewrites after forgets (README: what is kept)."""
PREF_FIELDS = ("lang", "script")
MIN_SECRET = 16
_SESSION = TypeAdapter(Session)


# -- the Redis time of one request ------------------------------------------------------------


class Budget:
    """Seconds of Redis waiting left to one request. Shared by the tasks the request starts
    (they copy the context), and lifted when the request is answered (`close`), so work that
    goes on after the answer (a late SMS sent by REST) is bounded by the socket timeout only."""

    def __init__(self, seconds: float) -> None:
        self.deadline: float | None = asyncio.get_running_loop().time() + seconds

    def close(self) -> None:
        self.deadline = None

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()


_BUDGET: ContextVar[Budget | None] = ContextVar("safar_redis_budget", default=None)


@contextlib.contextmanager
def redis_budget(seconds: float) -> Iterator[Budget]:
    """All Redis calls in this block, and in tasks started in it, get `seconds` in total."""
    budget = Budget(seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        budget.close()
        _BUDGET.reset(token)


class RedisErrors:
    """Redis calls that failed in this process (a timeout, a lost connection, an error reply),
    for /metrics. A WATCH conflict is a retry of an optimistic transaction, not a failure."""

    count = 0


async def bounded(call: Awaitable[T], most: float | None = None) -> T:
    """Await a Redis call within `most` s (the command timeout) and what is left of the
    request's budget; RedisTimeoutError (a RedisError, which every caller handles already) when
    either runs out."""
    try:
        return await _within_budget(call, most)
    except WatchError:
        raise
    except (RedisError, OSError):
        RedisErrors.count += 1
        raise


async def _within_budget(call: Awaitable[T], most: float | None) -> T:
    budget = _BUDGET.get()
    left = budget.remaining() if budget is not None else None
    if left is not None and left <= 0:
        if asyncio.iscoroutine(call):
            call.close()
        raise RedisTimeoutError("the Redis time of this request is used up")
    if left is not None and (most is None or left <= most):
        seconds, why = left, "the Redis time of this request is used up"
    elif most is not None:
        seconds, why = most, f"Redis did not answer within {most:g} s (SAFAR_REDIS_TIMEOUT)"
    else:
        return await call
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError as exc:
        if isinstance(exc, RedisError):
            raise
        raise RedisTimeoutError(why) from None


class BoundedPipeline(Pipeline):
    timeout: float | None = None

    async def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        call = super().immediate_execute_command(*args, **options)  # type: ignore[no-untyped-call]
        return await bounded(call, self.timeout)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        return await bounded(super().execute(raise_on_error), self.timeout)


class BoundedRedis(Redis):
    """redis-py's client, every command and pipeline within the command timeout and the
    request's Redis budget. The command timeout is one asyncio timeout per call here rather
    than redis-py's `socket_timeout`, which costs a timeout per read and, on Python 3.11, a
    task per write (`asyncio.wait_for`): a tenth of a Telegram process's CPU (py-spy)."""

    timeout: float | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        call = super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        return await bounded(call, self.timeout)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> BoundedPipeline:
        pipe = BoundedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.timeout = self.timeout
        return pipe


def connect(
    url: str, *, max_connections: int, pool_timeout: float, timeout: float
) -> BoundedRedis:
    """A client with a bounded pool: when all `max_connections` are busy a call waits up to
    `pool_timeout` s for one (redis-py's default pool would fail at once, or grow without
    limit), and each command gets `timeout` s (SAFAR_REDIS_MAX_CONNECTIONS, _POOL_TIMEOUT,
    _TIMEOUT)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_timeout=None,  # BoundedRedis bounds each call instead
        socket_connect_timeout=timeout,
    )
    client: BoundedRedis = BoundedRedis.from_pool(pool)  # type: ignore[assignment]
    client.timeout = timeout
    return client


@guarded
class RedisStore:
    def __init__(
        self,
        redis: Redis,
        *,
        session_ttl: int,
        prefs_ttl: int,
        prefix: str = "safar",
        secret: bytes,
    ) -> None:
        if len(secret) < MIN_SECRET or not _utf8(secret):
            raise ValueError(f"the pseudonym secret must be at least {MIN_SECRET} bytes")
        self.redis = redis
        self.session_ttl = session_ttl
        self.prefs_ttl = prefs_ttl
        self.prefix = prefix
        self.secret = secret
        self.outbox = OutboxStore(redis, prefix=prefix)
        """Replies that go out after the turn (Telegram), queued in the turn's transaction."""

    @property
    def salt(self) -> str:
        """The same secret as text, for the stores that take `salt=` (tickets, logins): every
        module must name one person by one pseudonym, or forget would miss keys."""
        return self.secret.decode()

    def pseudonym(self, key: SessionKey) -> str:
        """How this person is named in keys and logs (keyed hash of channel + id)."""
        return key.digest(self.secret)

    def keys_for(self, key: SessionKey) -> tuple[str, str]:
        digest = key.digest(self.secret)
        return f"{self.prefix}:s:{digest}", f"{self.prefix}:p:{digest}"

    async def load(self, key: SessionKey) -> Session:
        skey, pkey = self.keys_for(key)
        raw, prefs = await self.redis.mget(skey, pkey)
        session, corrupt = self._decode(raw, prefs)
        if corrupt:
            with contextlib.suppress(RedisError, OSError):
                await self.redis.delete(skey)
        return session

    async def save(self, key: SessionKey, session: Session) -> None:
        skey, pkey = self.keys_for(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write(pipe, skey, pkey, session)
            await pipe.execute()

    async def delete(self, key: SessionKey) -> None:
        await self.redis.delete(*self.keys_for(key), *await self._owned(key))
        await self._purge()

    async def _purge(self) -> None:
        """After a forget: rewrite the append-only file, so the deleted keys leave the disk
        too, at most once a minute; a forget within that minute is purged by `purge_if_due`."""
        try:
            if await self.redis.set(f"{self.prefix}:purge", 1, nx=True, ex=PURGE_EVERY):
                await self.redis.bgrewriteaof()
            else:
                await self.redis.set(f"{self.prefix}:purge:due", 1, ex=4 * PURGE_EVERY)
        except ResponseError as exc:  # AOF off, a rewrite running, or the command renamed
            log.info("append-only file not rewritten after a forget: %s", exc)

    async def purge_if_due(self) -> None:
        """Run by the outbox's leader now and then: the rewrite a recent forget still needs."""
        if not await self.redis.exists(f"{self.prefix}:purge:due"):
            return
        if await self.redis.set(f"{self.prefix}:purge", 1, nx=True, ex=PURGE_EVERY):
            await self.redis.delete(f"{self.prefix}:purge:due")
            try:
                await self.redis.bgrewriteaof()
            except ResponseError as exc:
                log.info("append-only file not rewritten after a forget: %s", exc)

    def _own_key(self, key: SessionKey) -> str:
        return f"{self.prefix}:own:{key.digest(self.secret)}"

    def owner(self, key: SessionKey) -> tuple[str, int]:
        """The set naming `key`'s other keys, and its shortest life: for a store that adds
        a key about the person in an atomic step of its own (bot/store/inbound.py)."""
        return self._own_key(key), self.session_ttl

    async def _owned(self, key: SessionKey) -> list[str]:
        """Keys made for this person outside the session (reply caches, update markers, rate
        counters, their place in the turn order): `delete` removes them with it, so a /forget
        leaves nothing behind."""
        own = self._own_key(key)
        u = key.digest(self.secret)
        order = [f"{self.prefix}:q:{u}", f"{self.prefix}:d:{u}"]  # bot/store/order.py
        replies = f"{self.prefix}:sms:r:{u}"  # bot/store/sms.py
        members: set[bytes] = await self.redis.smembers(own)  # type: ignore[assignment]
        return [own, *order, replies, *[m.decode() for m in members]]

    async def track(self, owner: SessionKey, redis_key: str, ttl: int) -> None:
        """Remember that `redis_key` is about `owner` (it expires by itself after `ttl`)."""
        own = self._own_key(owner)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(own, redis_key)
            pipe.expire(own, max(ttl, self.session_ttl))
            await pipe.execute()

    async def update(
        self, key: SessionKey, fn: Callable[[Session], tuple[Session | None, T]]
    ) -> T:
        done = await self._update(key, fn)
        assert done is not None
        return done[0]

    async def update_and_send(
        self,
        key: SessionKey,
        fn: Callable[[Session], tuple[Session | None, T]],
        emit: Callable[[T], tuple[Sequence[OutMessage], bool]],
        marker: tuple[str, int] | None = None,
    ) -> T | None:
        """`update`, and in the same transaction queue the messages `emit` makes of the
        result on the outbox and, if `emit` says the turn is complete, set `marker` (name,
        ttl): a crash can then leave the session moved with no reply queued, or the reverse,
        never one without the other. None when `marker` was set already: a repeat."""
        done = await self._update(key, fn, emit, marker)
        return None if done is None else done[0]

    async def mark(self, owner: SessionKey | None, marker: tuple[str, int]) -> None:
        """Set a marker `update_and_send` left for later (its turn had more to do); without
        `owner` (a person just forgotten) it is tied to nobody."""
        name, ttl = marker
        mkey = f"{self.prefix}:once:{name}"
        await self.redis.set(mkey, 1, ex=ttl)
        if owner is not None:
            await self.track(owner, mkey, ttl)

    async def queue(self, messages: Sequence[OutMessage]) -> None:
        """Messages for the outbox outside a turn's transaction."""
        await self.outbox.add(*messages)

    async def _update(
        self,
        key: SessionKey,
        fn: Callable[[Session], tuple[Session | None, T]],
        emit: Callable[[T], tuple[Sequence[OutMessage], bool]] | None = None,
        marker: tuple[str, int] | None = None,
    ) -> tuple[T] | None:
        skey, pkey = self.keys_for(key)
        mkey = f"{self.prefix}:once:{marker[0]}" if marker else None
        if emit is not None:
            await self.outbox.ready()
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    watched = [skey, pkey] + ([mkey] if mkey else [])
                    await pipe.watch(*watched)
                    raw, prefs, *marked = await pipe.mget(*watched)
                    if any(marked):
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return None
                    new, result = fn(self._decode(raw, prefs)[0])
                    messages, complete = emit(result) if emit else ((), False)
                    owned = await self._owned(key) if new is None else []
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if new is None:
                        pipe.delete(skey, pkey, *owned)
                    else:
                        self._write(pipe, skey, pkey, new)
                    self.outbox.queue(pipe, messages)
                    if mkey and marker and complete:
                        pipe.set(mkey, 1, ex=marker[1])
                        if new is not None:
                            own = self._own_key(key)
                            pipe.sadd(own, mkey)
                            pipe.expire(own, max(marker[1], self.session_ttl))
                    await pipe.execute()
                    if new is None:
                        await self._purge()
                    return (result,)
                except WatchError:
                    continue  # someone wrote in between: run fn again on the new state

    async def seen(self, namespace: str, item: str) -> bool:
        """Whether `once` was called for `item` (without marking it)."""
        return bool(await self.redis.exists(f"{self.prefix}:once:{namespace}:{item}"))

    async def once(
        self, namespace: str, item: str, ttl: int, owner: SessionKey | None = None
    ) -> bool:
        key = f"{self.prefix}:once:{namespace}:{item}"
        first = bool(await self.redis.set(key, 1, nx=True, ex=ttl))
        if first and owner is not None:
            await self.track(owner, key, ttl)
        return first

    async def allow(
        self, namespace: str, item: str, limit: int, window: int, owner: SessionKey | None = None
    ) -> bool:
        digest = SessionKey(namespace, item).digest(self.secret)  # an IP address is personal data
        key = f"{self.prefix}:rate:{namespace}:{digest}"
        async with self.redis.pipeline(transaction=True) as pipe:
            # SET NX starts the window once; EXPIRE ... NX would need Redis 7
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        if owner is not None and int(count) == 1:
            await self.track(owner, key, window)  # a per-person counter goes with the person
        return int(count) <= limit

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    def _write(self, pipe: Any, skey: str, pkey: str, session: Session) -> None:
        data, prefs = self.encode(session)
        pipe.set(skey, data, ex=self.session_ttl)
        if prefs:
            pipe.set(pkey, prefs, ex=self.prefs_ttl)

    @staticmethod
    def encode(session: Session) -> tuple[str, str | None]:
        """The session and its preferences as stored (None: no preference to keep), for a
        script that writes them with other keys (bot/store/sms.py)."""
        prefs = {f: getattr(session, f) for f in PREF_FIELDS if getattr(session, f) is not None}
        data = json.dumps(session.to_dict(), ensure_ascii=False)
        return data, (json.dumps(prefs) if prefs else None)

    @staticmethod
    def _decode(raw: bytes | str | None, prefs: bytes | str | None) -> tuple[Session, bool]:
        """The stored session, or a fresh one with the saved language: a session that does not
        parse, or has a field of the wrong type, would break every turn of that person until it
        expired. Returns (session, whether a corrupt one was discarded)."""
        if raw:
            stored, problem = _parse(raw)
            if stored is not None:
                return stored, False
            # the field names and error kinds only: no value, no key, nothing about the person
            log.warning("a stored session was discarded and started afresh: %s", problem)
        session = Session()
        if prefs:
            try:
                data = json.loads(prefs)
            except (ValueError, TypeError):
                data = None
            if isinstance(data, dict):
                if data.get("lang") in LANGUAGES:
                    session.lang = data["lang"]
                if data.get("script") in ("cyr", "lat"):
                    session.script = data["script"]
        return session, bool(raw)


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _parse(raw: bytes | str) -> tuple[Session | None, str]:
    """The session, or None and why it cannot be used, in words that carry no personal data."""
    try:
        session = _SESSION.validate_json(raw, strict=True)
    except ValidationError as exc:
        kinds = sorted({".".join(map(str, e["loc"])) + f" ({e['type']})" for e in exc.errors()})
        return None, ", ".join(kinds)[:200]
    if session.lang is not None and session.lang not in LANGUAGES:
        return None, "lang (unknown language)"
    return session, ""
