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
from collections.abc import Awaitable, Callable, Sequence
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
Deliver = Callable[[OutMessage], Awaitable[str | None]]
"""Sends one message; returns the provider's id for it where there is one (Twilio's sid)."""
Check = Callable[[OutMessage], Awaitable[Sequence[str]]]
"""The provider's ids of the messages that look like this one (same person, same text, sent
since it was queued): asked when a crash cut an attempt short."""
"""Asks the provider whether a message whose attempt was cut short did arrive."""


@dataclass
class SenderConfig:
    lease_ms: int = 5000
    idle_ms: int = 5000
    """An entry read by a sender that stopped renewing for this long is taken over."""
    attempts: int = 3
    """Tries in a row (0.5, 1 s apart); then the lane waits longer and tries again."""
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
        self._lanes: dict[tuple[str, str, str | None], asyncio.Task[None]] = {}
        self._queues: dict[tuple[str, str, str | None], list[tuple[str, OutMessage]]] = {}
        self._inflight: set[str] = set()
        self._parallel = asyncio.Semaphore(self.config.parallel)
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
        loop = asyncio.get_running_loop()
        next_chores = next_claim = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if not self.channels:  # nothing to send with here: only the chores
                        if self.housekeeping is not None:
                            await self.housekeeping()
                        await self._sleep(HOUSEKEEPING)
                        continue
                    # renewed before every read: a sender that lost it must not read one more
                    self.leader = await self.store.lease(self.name, self.config.lease_ms)
                    if not self.leader:
                        self._drop_lanes()  # another sender has them now
                        await self._sleep(renew)
                        continue
                    if self.housekeeping is not None and loop.time() >= next_chores:
                        next_chores = loop.time() + HOUSEKEEPING
                        await self.housekeeping()
                    claim = loop.time() >= next_claim  # a dead sender's entries: looked at
                    if claim:  # five times in their idle time, not at every read
                        next_claim = loop.time() + self.config.idle_ms / 5000
                    batch = await self.store.read(
                        self.name,
                        block_ms=self.config.block_ms,
                        idle_ms=self.config.idle_ms,
                        own=not self._inflight,  # after a lost lease, take ours up again
                        claim=claim,
                    )
                    self._dispatch(batch)
                    delay = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis away, most likely: try again, slower each time
                    log.warning("outbox: %s; retrying in %.1f s", type(exc).__name__, delay)
                    await self._sleep(delay)
                    delay = min(delay * 2, 10.0)
            await self._finish_lanes()
        finally:
            self._drop_lanes()

    def _dispatch(self, batch: list[tuple[str, OutMessage]]) -> None:
        """Queue what was read on its lane, and start the lane if it is idle. Lanes run on
        their own: one person's failing messages never hold up the next read, nor anyone
        else's messages. One lane per person (in order); in the staff chat, one per ticket."""
        for entry, message in batch:
            if entry in self._inflight:
                continue  # our own pending entry, already queued on its lane
            self._inflight.add(entry)
            ticket = message.ticket if message.channel == "staff" else None
            key = (message.channel, message.address, ticket)
            self._queues.setdefault(key, []).append((entry, message))
            task = self._lanes.get(key)
            if task is None or task.done():
                self._lanes[key] = asyncio.create_task(self._lane(key), name="outbox-lane")

    async def _lane(self, key: tuple[str, str, str | None]) -> None:
        queue = self._queues[key]
        pause = self.config.backoff * 4
        while queue:
            group = _coalesce(queue)[0]
            try:
                async with self._parallel:  # not held while waiting to try again
                    await self._deliver(group)
            except _StillFailing:
                await asyncio.sleep(min(pause, 30.0))  # still in order: the same again
                pause *= 2
                continue
            except Exception as exc:  # Redis away: the entries stay pending, try later
                log.warning("outbox: lane paused (%s)", type(exc).__name__)
                await asyncio.sleep(min(pause, 30.0))
                pause *= 2
                continue
            pause = self.config.backoff * 4
            del queue[: len(group)]
            for entry, _ in group:
                self._inflight.discard(entry)
        self._queues.pop(key, None)  # no await since the queue emptied: nothing was added
        self._lanes.pop(key, None)

    async def _finish_lanes(self, grace: float = 5.0) -> None:
        """On stop: let deliveries under way end, for a few seconds."""
        running = [t for t in self._lanes.values() if not t.done()]
        if running:
            await asyncio.wait(running, timeout=grace)

    def _drop_lanes(self) -> None:
        for task in self._lanes.values():
            task.cancel()
        self._lanes.clear()
        self._queues.clear()
        self._inflight.clear()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _deliver(self, group: list[tuple[str, OutMessage]]) -> None:
        """Deliver one message, or several of one ticket's as one post (see `_coalesce`)."""
        if group[0][1].channel not in self.channels:  # replicas configured differently
            log.error(
                "outbox: no %r channel in this process; message left queued", group[0][1].channel
            )
            raise _StillFailing
        if len(group) == 1:  # the usual case: whether it was delivered, asked as it begins
            entry, message = group[0]
            begun = await self.store.attempt(message)
            if begun is None:
                await self.store.drop(entry)  # delivered before a crash, not yet acknowledged
            else:
                await self._deliver_one(entry, message, begun)
            return
        pending = [(e, m) for e, m in group if not await self.store.is_done(m)]
        for e, m in group:
            if (e, m) not in pending:
                await self.store.drop(e)
        if not pending:
            return
        merged = replace(pending[0][1], text="\n".join(m.text for _, m in pending))
        begun = await self.store.attempt(merged)  # the first one's id: not delivered, just seen
        ok = await self._deliver_one(pending[0][0], merged, bool(begun))
        for e, m in pending[1:]:
            if ok:
                await self.store.done(e, m)
            else:
                await self.store.drop(e)

    async def _found(self, message: OutMessage, refs: Sequence[str]) -> bool:
        """Whether one of the provider's look-alike messages is this one: the first that no
        other message has taken (an operator may send the same text twice)."""
        for ref in refs:
            if await self.store.claim(message, ref):
                return True
        return False

    async def _deliver_one(self, entry: str, message: OutMessage, begun: bool) -> bool:
        """True once delivered (or found delivered); False when given up for good. `begun`:
        an earlier attempt had started (`OutboxStore.attempt`, which marked this one)."""
        deliver = self.channels[message.channel]
        if begun:
            # A sender died while this was on its way. Where the provider can tell (Twilio
            # lists sent messages) ask it; elsewhere (Telegram) send again: a rare repeat
            # beats a lost message to a person in trouble.
            check = self.checks.get(message.channel)
            if check is None:  # the one way a message may arrive twice: the log says when
                log.info(
                    "outbox: a %s %s message cut short by a crash is sent again (it may "
                    "arrive twice)",
                    message.channel,
                    message.kind,
                )
            elif await self._found(message, await check(message)):
                await self.store.done(entry, message)
                return True
        reason = ""
        for attempt in range(1, self.config.attempts + 1):
            try:
                ref = await deliver(message)
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
            await self.store.done(entry, message, ref)
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
