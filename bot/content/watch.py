"""Keep a running process's content current, and the same as every other process's.

Four things start a reload: a file saved under dialogs/, knowledge/ or locales/ (watchfiles),
SIGHUP, `safar reload` (a request through Redis), and another process announcing a version
this one does not have. Every reload goes through `ContentHolder.areload`: built and checked off
the event loop, swapped in only when clean, so no request waits and a bad edit changes nothing.

A process that loads a new version from a change it saw itself announces it; one that reloads
because of an announcement does not announce again, so two processes whose folders differ
cannot keep bouncing each other. Such a mismatch is logged and shows in /healthz (`announced`
is not `version`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path

from watchfiles import Change, awatch

from bot import heap
from bot.content.load import LoadResult
from bot.content.problems import display_path
from bot.conversations import ContentHolder
from bot.store.content_version import ContentSignal, ContentVersions

log = logging.getLogger(__name__)

WATCHED = ("dialogs", "knowledge", "locales")
DEBOUNCE_MS = 1000
"""Longest wait to gather the events of one save (or a `git pull`) into one reload."""
QUIET_MS = 100
"""A save is taken as finished after this long without a new event."""


def content_filter(root: Path) -> Callable[[Change, str], bool]:
    """Only the files the loader reads: editor swap files, backups and folders of drafts next
    to the content would otherwise start reloads that change nothing. String work only: an
    import of 10,000 files sends 20,000 events through here."""
    bases = tuple({f"{root}{os.sep}", f"{root.resolve()}{os.sep}"})

    def wanted(_change: Change, path: str) -> bool:
        base = next((b for b in bases if path.startswith(b)), None)
        if base is None:
            return False
        parts = path[len(base) :].split(os.sep)
        if parts[-1].startswith("."):
            return False
        if parts[0] in ("dialogs", "knowledge"):
            return len(parts) == 2 and parts[1].endswith((".yaml", ".yml"))
        return parts[0] == "locales" and parts[-1].endswith((".po", ".pot", ".mo"))

    return wanted


class LiveContent:
    def __init__(
        self,
        holder: ContentHolder,
        versions: ContentVersions,
        *,
        watch: bool = True,
        poll: float = 5.0,
    ) -> None:
        self.holder = holder
        self.versions = versions
        self.watch = watch
        self.poll = poll
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[object]] = set()
        self._tried: str | None = None
        """The last announced version reloaded for, so a mismatch is tried once, not forever."""

    @property
    def root(self) -> Path:
        return self.holder.current.content.root

    async def start(self) -> None:
        """Announce what this process loaded (a new process brings the newest files), then
        follow the announcements and, unless watching is off, the files."""
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # we log each reload ourselves
        version = self.holder.current.content.version
        if await self.versions.announce(version):
            self.holder.announced = version
        self._spawn(self._follow())
        if self.watch:
            self._spawn(self._watch())

    async def stop(self) -> None:
        self._stop.set()  # lets the file watcher's thread end within one QUIET_MS step
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def trigger(self, reason: str) -> None:
        """Reload soon; for signal handlers, which cannot await."""
        self._spawn(self.reload(reason))

    async def reload(self, reason: str) -> LoadResult | None:
        """Reload from disk because of something this process was told or saw; announce the
        new version when there is one."""
        before = self.holder.current.content.version
        log.info("content reload: %s", reason)
        result = await self.holder.areload()
        after = self.holder.current.content.version
        if after != before:
            heap.resettle()
            if await self.versions.announce(after):
                self.holder.announced = after
        return result

    async def _on_signal(self, signal: ContentSignal) -> None:
        if signal.kind == "reload":
            await self.reload("'safar reload'")
            return
        version = signal.version
        self.holder.announced = version
        if version is None or version == self.holder.current.content.version:
            return
        if version == self._tried:
            return  # reloaded for it already and the files here gave something else
        self._tried = version
        log.info("content version %s announced by another process: reloading", version)
        await self.holder.areload(unless=version)
        live = self.holder.current.content.version
        if live == version:
            heap.resettle()
        else:
            log.warning(
                "content version %s was announced, but the files under %s give %s: "
                "is this content folder up to date? ('safar reload' once it is)",
                version,
                self.root,
                live if self.holder.last_error is None else "errors",
            )

    async def _follow(self) -> None:
        async for signal in self.versions.follow(self.poll):
            try:
                await self._on_signal(signal)
            except Exception:  # one bad reload must not end the following
                log.exception("content announcement %s not handled", signal)

    async def _watch(self) -> None:
        root = self.root
        while not self._stop.is_set():
            paths = [root / name for name in WATCHED if (root / name).is_dir()]
            try:
                async for changes in awatch(
                    *paths,
                    watch_filter=content_filter(root),
                    debounce=DEBOUNCE_MS,
                    step=QUIET_MS,
                    stop_event=self._stop,
                ):
                    changed = sorted({p for _, p in changes})
                    names = ", ".join(display_path(Path(p), root) for p in changed[:3])
                    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
                    await self.reload(f"changed {names}{more}")
            except Exception:  # a watched folder replaced or removed: watch again shortly
                log.exception("watching %s failed; retrying", root)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 5)

    def _spawn(self, coro: Coroutine[object, object, object]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
