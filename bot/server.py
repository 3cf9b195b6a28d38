"""Run the app until Ctrl-C or SIGTERM, and say what is running where."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from bot.app import CHANNELS, CONTENT, STORE, create_app
from bot.content.watch import LiveContent
from bot.settings import Settings
from bot.store.content_version import ContentVersions

log = logging.getLogger("safar")


async def serve_forever(settings: Settings) -> None:
    app = create_app(settings)
    # keepalive_timeout also bounds how long a connection may take to send its request
    # headers (aiohttp arms it when the connection opens): slow clients are cut off
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.client_timeout)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    url = f"http://{settings.host}:{settings.port}/"
    redis = (settings.redis_url and "REDIS_URL") or f"embedded Redis in {settings.data_dir}"
    channels = app[CHANNELS]
    log.info("Safar is running: %s  (storage: %s)", url, redis)
    log.info("channels: %s; health: %shealthz; Ctrl-C to stop", ", ".join(channels), url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Content edits go live by themselves (file watching, other processes' announcements); also
    # on `kill -HUP <pid>` or `safar reload`: checked aside, swapped in only if clean
    store = app[STORE]
    live = LiveContent(
        app[CONTENT],
        ContentVersions(store.redis, prefix=store.prefix),
        watch=settings.content_watch,
    )
    await live.start()
    loop.add_signal_handler(signal.SIGHUP, live.trigger, "SIGHUP")
    pidfile = write_pidfile(settings.data_dir)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        pidfile.unlink(missing_ok=True)
        await live.stop()
        await runner.cleanup()


def pid_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def write_pidfile(data_dir: Path) -> Path:
    """`<data dir>/run/<pid>.pid`, one per process, so `safar reload` without Redis finds
    every server sharing this data dir."""
    path = pid_dir(data_dir) / f"{os.getpid()}.pid"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")
    return path


def signal_servers(data_dir: Path, sig: int = signal.SIGHUP) -> list[int]:
    """Send `sig` to every server with a pid file here; files left by servers that are gone
    (after a crash) are removed. The pids signalled."""
    done = []
    for path in sorted(pid_dir(data_dir).glob("*.pid")):
        try:
            pid = int(path.read_text(encoding="ascii").strip())
            if not _is_server(pid):
                raise ProcessLookupError(pid)
            os.kill(pid, sig)
        except (ValueError, ProcessLookupError):
            path.unlink(missing_ok=True)
        except OSError:
            continue
        else:
            done.append(pid)
    return done


def _is_server(pid: int) -> bool:
    """After a crash the pid may belong to another program by now: SIGHUP would end it."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc/self").exists():
        return True  # no /proc (macOS): trust the file
    try:
        return b"serve" in cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
