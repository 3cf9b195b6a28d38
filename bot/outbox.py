"""The one sender of the durable outbox (bot/store/outbox.py), whatever the channel.

Every process runs a `Sender`; the one holding the lease in Redis delivers, the others wait to
take over. One sender keeps each person's messages in order and keeps the bot under Telegram's
and Twilio's limits however many processes run. Messages to different people go in parallel;
a failure that may pass (a 5xx, a timeout, a 429) is retried with backoff, in place, so the
order holds; a final one (the person blocked the bot) is recorded without its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.store.outbox import OutboxStore, OutMessage

log = logging.getLogger(__name__)


class Retry(Exception):
    """The channel could not deliver now; the same message may go later."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class GiveUp(Exception):
    """The channel will never deliver this message (blocked, opted out, bad address)."""


HOUSEKEEPING = 10.0
Deliver = Callable[[OutMessage], Awaitable[None]]
Check = Callable[[OutMessage], Awaitable[bool]]
"""Asks the provider whether a message whose attempt was cut short did arrive."""


@dataclass
class SenderConfig:
    lease_ms: int = 5000
    idle_ms: int = 5000
    """An entry read by a sender that stopped renewing for this long is taken over."""
    attempts: int = 6
    backoff: float = 0.5
    parallel: int = 16
    block_ms: int = 400
    """How long one read waits for new entries: under the Redis socket timeout."""


class Sender:
    def __init__(self, store: OutboxStore, config: SenderConfig | None = None) -> None:
        self.store = store
        self.config = config or SenderConfig()
        self.channels: dict[str, Deliver] = {}
        self.checks: dict[str, Check] = {}
        self.name = f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"
        self.leader = False
        self.sent = 0
        self.retries = 0
        self.housekeeping: Callable[[], Awaitable[None]] | None = None
        """Run by the leader every `HOUSEKEEPING` seconds (the AOF purge after forgets)."""
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def register(self, channel: str, deliver: Deliver, check: Check | None = None) -> None:
        self.channels[channel] = deliver
        if check is not None:
            self.checks[channel] = check

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    def poke(self) -> None:
        """Something was queued in this process: look now instead of at the next poll."""
        self._wake.set()

    async def stop(self, grace: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self.leader:
            with contextlib.suppress(Exception):
                await self.store.release(self.name)

    async def _run(self) -> None:
        renew = self.config.lease_ms / 3000
        delay = 0.5
        next_chores = 0.0
        while not self._stop.is_set():
            try:
                if not self.channels:  # nothing to send with here: only the chores
                    if self.housekeeping is not None:
                        await self.housekeeping()
                    await self._sleep(HOUSEKEEPING)
                    continue
                self.leader = await self.store.lease(self.name, self.config.lease_ms)
                if not self.leader:
                    await self._sleep(renew)
                    continue
                loop = asyncio.get_running_loop()
                if self.housekeeping is not None and loop.time() >= next_chores:
                    next_chores = loop.time() + HOUSEKEEPING
                    await self.housekeeping()
                batch = await self.store.read(
                    self.name, block_ms=self.config.block_ms, idle_ms=self.config.idle_ms
                )
                if batch:
                    await self._holding_lease(self._deliver_all(batch), renew)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away, most likely: try again, slower each time
                log.warning("outbox: %s; retrying in %.1f s", type(exc).__name__, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _holding_lease(self, work: Awaitable[None], every: float) -> None:
        """Deliver while renewing the lease: a batch in backoff can take longer than the
        lease, and another process must not take over entries this one is still sending.
        If the lease is lost anyway (Redis away long enough), the batch stops: its entries stay
        unacknowledged for the next leader."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=every)
                if task in done:
                    task.result()
                    return
                try:
                    self.leader = await self.store.lease(self.name, self.config.lease_ms)
                except Exception:  # Redis away: keep going until the lease ends
                    continue
                if not self.leader:
                    log.warning(
                        "outbox: lease lost mid-batch; leaving the rest to the next sender"
                    )
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, _StillFailing):
                        await task
                    return
        finally:
            if not task.done():
                task.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _deliver_all(self, batch: list[tuple[str, OutMessage]]) -> None:
        """One task per person, each in stream order; people in parallel. In the staff chat
        the order that matters is each ticket's, so each ticket is a lane there."""
        lanes: dict[tuple[str, str, str | None], list[tuple[str, OutMessage]]] = {}
        for entry, message in batch:
            ticket = message.ticket if message.channel == "staff" else None
            lane_key = (message.channel, message.address, ticket)
            lanes.setdefault(lane_key, []).append((entry, message))
        limit = asyncio.Semaphore(self.config.parallel)

        async def lane(items: list[tuple[str, OutMessage]]) -> None:
            async with limit:
                for group in _coalesce(items):
                    try:
                        await self._deliver(group)
                    except _StillFailing:
                        return  # the rest of this person's messages wait behind it, in order

        await asyncio.gather(*(lane(items) for items in lanes.values()))

    async def _deliver(self, group: list[tuple[str, OutMessage]]) -> None:
        """Deliver one message, or several of one ticket's as one post (see `_coalesce`)."""
        pending = [(e, m) for e, m in group if not await self.store.is_done(m)]
        for e, m in group:
            if (e, m) not in pending:
                await self.store.drop(e)  # delivered before a crash, not yet acknowledged
        if not pending:
            return
        if len(pending) > 1:
            merged = replace(pending[0][1], text="\n".join(m.text for _, m in pending))
            ok = await self._deliver_one(pending[0][0], merged)
            for e, m in pending[1:]:
                if ok:
                    await self.store.done(e, m)
                else:
                    await self.store.drop(e)
            return
        await self._deliver_one(*pending[0])

    async def _deliver_one(self, entry: str, message: OutMessage) -> bool:
        """True once delivered (or found delivered); False when given up for good."""
        deliver = self.channels.get(message.channel)
        if deliver is None:  # replicas configured differently: leave it for one that can
            log.error(
                "outbox: no %r channel in this process; message left queued", message.channel
            )
            raise _StillFailing
        if await self.store.begun(message):
            # A sender died while this was on its way. Where the provider can tell (Twilio
            # lists sent messages) ask it; elsewhere (Telegram) send again: a rare repeat
            # beats a lost message to a person in trouble.
            check = self.checks.get(message.channel)
            if check is not None and await check(message):
                await self.store.done(entry, message)
                return True
        await self.store.begin(message)
        reason = ""
        for attempt in range(1, self.config.attempts + 1):
            try:
                await deliver(message)
            except GiveUp as exc:
                await self.store.dead(entry, message, str(exc))
                log.warning("outbox: %s message given up: %s", message.channel, exc)
                return False
            except Retry as exc:
                reason = str(exc)
                self.retries += 1
                wait = exc.after or self.config.backoff * 2 ** (attempt - 1)
                await asyncio.sleep(min(wait, 30.0) * random.uniform(0.8, 1.2))
                continue
            await self.store.done(entry, message)
            self.sent += 1
            return True
        # Not given up for good: left unacknowledged, the next round (or leader) tries again.
        log.error("outbox: %s message still failing (%s); will try again", message.channel, reason)
        raise _StillFailing


class _StillFailing(Exception):
    """Ends this round: the entry stays unacknowledged, and so do the ones after it."""


COALESCED = ("person",)
"""Kinds merged into one post when several of one ticket wait: a group takes only about 20
bot messages a minute, and a person in trouble often sends many short ones."""


def _coalesce(items: list[tuple[str, OutMessage]]) -> list[list[tuple[str, OutMessage]]]:
    groups: list[list[tuple[str, OutMessage]]] = []
    for entry, message in items:
        last = groups[-1][-1][1] if groups else None
        if (
            last is not None
            and message.kind in COALESCED
            and last.kind == message.kind
            and last.ticket == message.ticket
            and sum(len(m.text) for _, m in groups[-1]) + len(message.text) < 3500
        ):
            groups[-1].append((entry, message))
        else:
            groups.append([(entry, message)])
    return groups
