"""Where channels meet the engine: load the session, run the engine, save, in one atomic step.

Channels call `Conversations.handle(key, inbound)` and render the replies; they never touch the
store or the engine themselves, so every channel gets the same ordering, privacy and failure
behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from pathlib import Path

from redis.exceptions import RedisError

from bot.content.load import Content, LoadResult, load_content
from bot.content.problems import ContentError
from bot.engine import Engine, Inbound, Session, Turn
from bot.store.base import SessionKey, Store
from bot.store.stats import Stats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    content: Content
    engine: Engine


class ContentHolder:
    """The live content. `reload` builds a new snapshot aside and swaps it in one assignment,
    only if it has no errors: a bad edit is reported and the bot keeps answering."""

    def __init__(self, content: Content) -> None:
        self.current = Snapshot(content, Engine(content))

    @classmethod
    def load(cls, root: Path) -> ContentHolder:
        result = load_content(root)
        if result.content is None:
            raise ContentError(result.errors)
        return cls(result.content)

    def reload(self) -> LoadResult:
        result = load_content(self.current.content.root)
        if result.content is not None:
            self.current = Snapshot(result.content, Engine(result.content))
            log.info("content reloaded: version %s", result.content.version)
        else:
            log.error(
                "content not reloaded, %d errors; still serving %s",
                len(result.errors),
                self.current.content.version,
            )
        return result


class Conversations:
    def __init__(self, store: Store, content: ContentHolder, stats: Stats | None = None) -> None:
        self.store = store
        self.content = content
        self.stats = stats
        """Counters for `safar report`; channels call stats.record_sms, tickets record_handoff."""
        self._locks: weakref.WeakValueDictionary[SessionKey, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def handle(self, key: SessionKey, inbound: Inbound) -> Turn:
        engine = self.content.current.engine  # one snapshot for the whole turn

        def step(session: Session) -> tuple[Session | None, Turn]:
            turn = engine.handle(session, inbound)
            return (None if turn.effects.forget else turn.session), turn

        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:  # one person's messages in arrival order, within this process
            try:
                turn = await self.store.update(key, step)
            except (RedisError, OSError) as exc:
                # Without the store we still answer: a clear question gets its article, anything
                # else the language menu. Nothing is saved, nothing is lost but the menu position.
                log.error(
                    "store unavailable (%s); answering without a session", type(exc).__name__
                )
                turn = engine.handle(Session(), inbound)
        if self.stats is not None:  # counts only, no user id; never raises
            await self.stats.record_turn(key.channel, inbound, turn)
        return turn
