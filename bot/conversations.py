"""Where channels meet the engine: load the session, run the engine, save, in one atomic step.

Channels call `Conversations.handle(key, inbound)` and render the replies; they never touch the
store or the engine themselves, so every channel gets the same ordering, privacy and failure
behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.content.load import Content, LoadResult, load_content
from bot.content.problems import ContentError, Problem
from bot.engine import Engine, Inbound, Session, Turn
from bot.engine.types import Effects
from bot.store.base import SessionKey, Store, StoreUnavailable
from bot.store.order import Ticket, TurnOrder
from bot.store.outbox import OutMessage
from bot.store.stats import Stage, Stats

if TYPE_CHECKING:
    from bot.handoff import Handoffs
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

_HELD: ContextVar[frozenset[SessionKey]] = ContextVar("safar_turns_held", default=frozenset())


@dataclass(frozen=True)
class Snapshot:
    content: Content
    engine: Engine


RELOAD_SWITCH_INTERVAL = 0.001
"""Seconds, see `ContentHolder.areload`."""


@dataclass(frozen=True)
class ReloadError:
    """Why the last reload was refused, for /healthz: the problems as `path:line: message`."""

    at: float
    problems: tuple[str, ...]


class ContentHolder:
    """The live content. A reload builds a new snapshot aside (off the event loop in the
    server) and swaps it in one assignment, only if it has no errors: a bad edit is reported,
    kept in `last_error`, and the bot keeps answering with what it had."""

    def __init__(self, content: Content) -> None:
        self.current = Snapshot(content, Engine(content))
        self.last_error: ReloadError | None = None
        self.announced: str | None = None
        """The version other processes announced last (see bot/content/watch.py)."""
        self.reloading = False
        self._lock = asyncio.Lock()
        self._asked = 0
        self._started = 0

    @classmethod
    def load(cls, root: Path) -> ContentHolder:
        result = load_content(root)
        if result.content is None:
            raise ContentError(result.errors)
        return cls(result.content)

    def reload(self) -> LoadResult:
        """Build and swap in the caller's thread (tools, tests); the server uses `areload`."""
        return self._apply(*_build(self.current.content.root))

    async def areload(self, unless: str | None = None) -> LoadResult | None:
        """Build in a worker thread while requests go on with the current snapshot (a big
        knowledge base takes seconds). Calls made during a build share one more build after it,
        since the files may have changed again meanwhile. None when nothing was built: a later
        build already covered this call, or version `unless` is live already."""
        self._asked += 1
        ticket = self._asked
        async with self._lock:
            if self._started >= ticket or self.current.content.version == unless:
                return None
            self._started = self._asked
            self.reloading = True
            # The build holds the GIL; the event loop gets it back only after the switch
            # interval (5 ms) at every await. 1 ms keeps a request's dozen awaits short.
            interval = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, RELOAD_SWITCH_INTERVAL))
            try:
                built = await _in_thread(_build, self.current.content.root)
            finally:
                sys.setswitchinterval(interval)
                self.reloading = False
            return self._apply(*built)

    def _apply(self, result: LoadResult, snapshot: Snapshot | None) -> LoadResult:
        old = self.current.content.version
        if snapshot is None:
            self.last_error = ReloadError(time.time(), tuple(str(p) for p in result.errors))
            for problem in result.errors:
                log.error("%s", problem)
            log.error(
                "content not reloaded, %d error(s); still serving %s", len(result.errors), old
            )
            return result
        self.last_error = None
        if snapshot.content.version == old:
            log.info("content unchanged: version %s", old)
        else:
            self.current = snapshot  # the one assignment: a turn sees all old or all new
            log.info("content reloaded: version %s (was %s)", snapshot.content.version, old)
        return result

    def health(self) -> dict[str, object]:
        """The content part of /healthz, in one place so access to it can be narrowed."""
        content = self.current.content
        error = self.last_error
        return {
            "version": content.version,
            "loaded_at": int(content.loaded_at),
            "last_error": error and {"at": int(error.at), "errors": list(error.problems[:20])},
            "reloading": self.reloading,
            "announced": self.announced,
            "articles": len(content.articles),
            "nodes": len(content.dialog.nodes),
        }


def _build(root: Path) -> tuple[LoadResult, Snapshot | None]:
    """Load and check everything under `root`; a bug in the loader is a refused reload, too."""
    try:
        result = load_content(root)
    except Exception as exc:
        log.exception("content could not be loaded")
        problem = Problem(str(root), 1, f"cannot load: {exc!r}: see the log, then fix or revert")
        return LoadResult(None, [problem]), None
    if result.content is None:
        return result, None
    return result, Snapshot(result.content, Engine(result.content))


T = TypeVar("T")


def _in_thread(fn: Callable[[Path], T], arg: Path) -> asyncio.Future[T]:
    """Run `fn(arg)` in a daemon thread: unlike asyncio.to_thread, a stop during a long build
    does not wait for it (the half-built content is simply dropped)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        try:
            value, exc = fn(arg), None
        except BaseException as err:
            value, exc = None, err
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, exc)

    threading.Thread(target=run, name="safar-content-reload", daemon=True).start()
    return future


class Conversations:
    def __init__(self, store: Store, content: ContentHolder, stats: Stats | None = None) -> None:
        self.store = store
        self.content = content
        self.stats = stats
        """Counters for `safar report`; channels call stats.record_sms, tickets record_handoff."""
        self.handoffs: Handoffs | None = None
        """Set when operators are configured: tickets, relays, callbacks."""
        self.metrics: Metrics | None = None
        """/metrics: counts and times every turn (bot/metrics.py)."""
        self.clock: Callable[[], float] = time.time
        """The engine's "now" (office hours); tests move it."""
        self.order: TurnOrder | None = None
        """One person's messages in arrival order across processes (set by the app)."""
        self._locks: weakref.WeakValueDictionary[SessionKey, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @contextlib.asynccontextmanager
    async def in_order(self, key: SessionKey, taken: int | None = None) -> AsyncIterator[None]:
        """Hold this person's turn: their earlier messages, on any process, are done first.

        A channel takes it as the very first step for a message (the SMS webhook does, before
        its dedupe and opt-out look-ups), so the order is that of arrival; `handle` inside it
        does not take it again. `taken` is a number the channel took already, in the same
        atomic step that stored the message (Telegram's inbound queue). Without Redis an
        in-process lock keeps what order it can."""
        held = _HELD.get()
        if key in held:
            yield
            return
        number: int | None = None
        if self.order is not None:
            try:
                number = taken or await self.order.take(key)
                await self.order.wait(key, number)
            except StoreUnavailable:
                number = None
        async with self._holding(key, number):
            yield

    @contextlib.asynccontextmanager
    async def in_order_taken(self, key: SessionKey, ticket: Ticket) -> AsyncIterator[None]:
        """`in_order` for a number a script took with its own look-ups (the SMS webhook's
        first round trip, which also says whether anyone was ahead). When the script that saved
        the turn marked the number done as well (`ticket.done`), nothing is left for the end."""
        if key in _HELD.get():
            yield
            return
        number = ticket.number
        if number is not None and not ticket.ready and self.order is not None:
            try:
                await self.order.wait(key, number)
            except StoreUnavailable:
                number = None
        async with self._holding(key, number, ticket):
            yield

    @contextlib.asynccontextmanager
    async def _holding(
        self, key: SessionKey, number: int | None, ticket: Ticket | None = None
    ) -> AsyncIterator[None]:
        token = _HELD.set(_HELD.get() | {key})
        try:
            if number is None:
                lock = self._locks.get(key)
                if lock is None:
                    lock = self._locks[key] = asyncio.Lock()
                async with lock:
                    yield
            else:
                yield
        finally:
            _HELD.reset(token)
            done = ticket is not None and ticket.done
            if number is not None and self.order is not None and not done:
                with contextlib.suppress(StoreUnavailable):
                    await self.order.finish(key, number)

    async def handle(self, key: SessionKey, inbound: Inbound) -> Turn:
        turn, _ = await self._handle(key, inbound)
        assert turn is not None
        return turn

    async def handle_and_send(
        self,
        key: SessionKey,
        inbound: Inbound,
        send: Callable[[Turn], Sequence[OutMessage]],
        marker: tuple[str, int],
    ) -> tuple[Turn | None, bool]:
        """The turn, with its replies (`send` renders them) queued on the durable outbox in
        the same transaction as the session and the once-`marker` of the update that caused
        it: a redelivered update is then answered exactly once, and a reply that failed is
        retried, not lost. Returns (None, True) for a repeat, (turn, False) when the store is
        down and the caller must send the replies itself."""
        return await self._handle(key, inbound, send, marker)

    async def handle_loaded(
        self,
        key: SessionKey,
        inbound: Inbound,
        session: Session,
        commit: Callable[[Turn, Sequence[Stage]], Awaitable[bool]],
    ) -> Turn:
        """`handle` for a session the channel read already, in the round trip that took the
        person's turn (the SMS webhook), saved by `commit` together with what the channel keeps
        of the turn (the reply for Twilio's retries) and the turn's counters (`Stage`s): a
        plain turn then costs two round trips in all, not ten. `commit` returns False when the
        session changed since it was read; then, and for a turn with effects (a ticket, a
        relay, forget), the turn is run again the usual way, by `handle`."""
        started = time.perf_counter()
        engine = self.content.current.engine
        asked = self.handoffs.inbound(key, inbound) if self.handoffs is not None else inbound
        turn = engine.handle(session, asked, self.clock())
        if turn.effects == Effects():
            stats = self.stats
            stages = [] if stats is None else [stats.staged_turn(key.channel, asked, turn)]
            try:
                saved = await commit(turn, stages)
            except StoreUnavailable as exc:
                log.error("store unavailable (%s); the turn is run again", type(exc).__name__)
                saved = False
            if saved:
                if self.metrics is not None:  # in memory, never raises
                    self.metrics.turn(key.channel, asked, turn, time.perf_counter() - started)
                return turn
        return await self.handle(key, inbound)

    async def _handle(
        self,
        key: SessionKey,
        inbound: Inbound,
        send: Callable[[Turn], Sequence[OutMessage]] | None = None,
        marker: tuple[str, int] | None = None,
    ) -> tuple[Turn | None, bool]:
        started = time.perf_counter()
        engine = self.content.current.engine  # one snapshot for the whole turn
        if self.handoffs is not None:
            inbound = self.handoffs.inbound(key, inbound)

        now = self.clock()

        def step(session: Session) -> tuple[Session | None, Turn]:
            turn = engine.handle(session, inbound, now)
            return (None if turn.effects.forget else turn.session), turn

        def emit(turn: Turn) -> tuple[Sequence[OutMessage], bool]:
            """Plain turns are queued and marked in the transaction; a turn with effects
            (a ticket, a relay, forget) is queued after those are done."""
            if send is None or turn.effects != Effects():
                return (), False
            return send(turn), True

        queued = False
        async with self.in_order(key):  # one person's messages in arrival order, everywhere
            try:
                if send is None:
                    turn: Turn | None = await self.store.update(key, step)
                else:
                    turn = await self.store.update_and_send(key, step, emit, marker)
                    if turn is None:
                        return None, True
                    queued = True
            except StoreUnavailable as exc:
                # Without the store we still answer: a clear question gets its article, anything
                # else the language menu. Nothing is saved, nothing is lost but the menu position.
                log.error(
                    "store unavailable (%s); answering without a session", type(exc).__name__
                )
                turn = engine.handle(Session(), replace(inbound, handoff=False), now)
                turn = engine.without_memory(turn, inbound.lang_hint)
            else:
                assert turn is not None
                sent_already = send is not None and turn.effects == Effects()
                if self.handoffs is not None:
                    # inside the lock: a relay is queued before the person's next message is read
                    turn = await self.handoffs.after_turn(key, inbound, turn)
                if send is not None and marker is not None and not sent_already:
                    await self.store.queue(send(turn))
                    await self.store.mark(None if turn.effects.forget else key, marker)
        if self.stats is not None:  # counts only, no user id; never raises
            await self.stats.record_turn(key.channel, inbound, turn)
        if self.metrics is not None:  # in memory, never raises
            self.metrics.turn(key.channel, inbound, turn, time.perf_counter() - started)
        return turn, queued
