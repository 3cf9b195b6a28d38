"""The worker that answers the Telegram updates the webhook stored (bot/store/inbound.py).

Every process runs one; any of them may take any update, so a busy or stopped process holds
up nobody. Updates of one chat still run one at a time and in the order Telegram sent them:
each carries the chat's number, taken when it was stored, and waits for the number before it
(in this process without asking Redis; elsewhere through the shared turn order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.store.base import StoreUnavailable
from bot.store.inbound import InboundStore, Stored

log = logging.getLogger(__name__)

RETRY_MOST = 1.0
"""The longest wait between two tries to read the stored updates while Redis is away: once it
is back, the updates acknowledged before it went run within a second, not after a 10 s
back-off; a try costs one failed connection."""

Run = Callable[[Stored], Awaitable[bool]]
"""Runs one stored update; False leaves it stored, to be tried again (nothing holds its
reply yet)."""


@dataclass(frozen=True)
class InboundConfig:
    parallel: int = 3
    """Turns running at once in one process: few, so that a webhook's 200 does not queue
    behind many of them in the event loop (8 gave one process a p99 of up to 38 ms at
    100 updates/s: README, Benchmarks); a front with a worker does not depend on it."""
    ahead: int = 24
    """Updates taken at once, those waiting for their chat's turn included: an update whose
    chat's previous one runs on another process waits without holding a turn's place."""
    claim_ms: int = 1500
    """An update another process took and left this long is taken over: a killed process's
    updates wait about this long, under the turn order's stall (3 s), so they keep their
    place. Entries in progress are renewed three times as often."""
    block_ms: int = 400
    """How long one read waits for new updates: under the Redis socket timeout."""


class InboundWorker:
    def __init__(self, store: InboundStore, run: Run, config: InboundConfig | None = None) -> None:
        self.store = store
        self.run = run
        self.config = config or InboundConfig()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"
        self.handled = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._room = asyncio.Event()
        self._turns = asyncio.Semaphore(self.config.parallel)
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._chats: dict[int, dict[int, asyncio.Task[None]]] = {}
        """This process's updates in progress by chat and number, for the local wait."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="telegram-inbound")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop reading, let updates under way end for `grace` seconds; the rest stay stored
        and another process (or this one, restarted) takes them over."""
        self._stop.set()
        if self._task is None:  # never started (a front process): it took nothing
            return
        try:
            await asyncio.wait_for(self._task, self.config.block_ms / 1000 + 1)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        running = list(self._inflight.values())
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(StoreUnavailable):
            await self.store.leave(self.name)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        every = self.config.claim_ms / 3000
        next_chores = 0.0
        delay = 0.5
        while not self._stop.is_set():
            free = self.config.ahead - len(self._inflight)
            if free <= 0:
                self._room.clear()
                await self._room.wait()  # until an update finishes
                continue
            try:
                claim: int | None = None
                if loop.time() >= next_chores:
                    next_chores = loop.time() + every
                    await self.store.touch(self.name, list(self._inflight))
                    claim = self.config.claim_ms
                batch = await self.store.read(self.name, free, self.config.block_ms, claim)
                delay = 0.5
            except Exception as exc:  # Redis away, most likely: the loop must not end
                log.warning("Telegram inbound: %r; retrying in %.1f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, RETRY_MOST)
                continue
            for stored in batch:
                if stored.entry not in self._inflight:
                    self._start(stored)

    def _start(self, stored: Stored) -> None:
        earlier: list[asyncio.Task[None]] = []
        if stored.chat is not None and stored.number:
            mine = self._chats.setdefault(stored.chat, {})
            earlier = [t for n, t in mine.items() if n < stored.number]
        task = asyncio.create_task(self._one(stored, earlier), name="telegram-update")
        self._inflight[stored.entry] = task
        if stored.chat is not None and stored.number:
            self._chats[stored.chat][stored.number] = task

    async def _one(self, stored: Stored, earlier: list[asyncio.Task[None]]) -> None:
        try:
            if earlier:  # the chat's earlier updates in this process: no need to poll Redis
                await asyncio.wait(earlier)
            try:
                await self.store.wait_turn(stored)  # the chat's earlier ones on other processes
                async with self._turns:
                    done = await self.run(stored)
            except StoreUnavailable:
                done = False  # Redis away: left stored, and taken up again once it is back
            except Exception:
                log.exception("a stored Telegram update failed; dropped")
                done = True  # tried once more it would fail again
            if done:
                with contextlib.suppress(StoreUnavailable):  # left stored: taken over later
                    await self.store.done(stored.entry)
                self.handled += 1
        finally:
            self._inflight.pop(stored.entry, None)
            self._room.set()
            if stored.chat is not None and stored.number:
                mine = self._chats.get(stored.chat, {})
                mine.pop(stored.number, None)
                if not mine:
                    self._chats.pop(stored.chat, None)
