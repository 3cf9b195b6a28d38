"""Run the app until Ctrl-C or SIGTERM, and say what is running where."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot import heap
from bot.app import CHANNELS, CONTENT, STORE, create_app
from bot.content.watch import LiveContent
from bot.lifecycle import LIFECYCLE
from bot.settings import Settings
from bot.store.content_version import ContentVersions

log = logging.getLogger("safar")

HARD_STOP_MARGIN = 5.0
"""Seconds after SAFAR_SHUTDOWN_GRACE for closing Redis; then the process exits regardless."""


T = TypeVar("T")


def loop_factory(choice: str = "uvloop") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux and macOS): the same aiohttp and redis-py code takes
    about a quarter less CPU per message (bench/sms.py), since the event loop's own work is in
    C. None means asyncio's own loop: on Windows, or with SAFAR_EVENT_LOOP=asyncio."""
    if choice != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str = "uvloop") -> T:
    """asyncio.run on the event loop `loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


class CannotListen(Exception):
    """The port is taken or not ours to use: one line says which setting to change."""


def _listen_error(exc: OSError, host: str, port: int) -> CannotListen:
    if exc.errno == errno.EADDRINUSE:
        return CannotListen(f"port {port} is in use: set SAFAR_PORT (or stop what uses it)")
    if exc.errno == errno.EACCES:
        return CannotListen(f"port {port} needs privileges here: set SAFAR_PORT above 1023")
    if exc.errno == errno.EADDRNOTAVAIL:
        return CannotListen(f"{host} is not an address of this machine: set SAFAR_HOST")
    return CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}: check SAFAR_HOST")


def check_port(host: str, port: int) -> None:
    """Before anything starts (content, Redis): a taken port is one line, at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            probe.bind(address)
    except socket.gaierror:
        raise CannotListen(f"{host} is not an address of this machine: set SAFAR_HOST") from None
    except OSError as exc:
        raise _listen_error(exc, host, port) from None


async def serve_forever(settings: Settings) -> None:
    check_port(settings.host, settings.port)
    app = create_app(settings)
    # keepalive_timeout also bounds how long a connection may take to send its request
    # headers (aiohttp arms it when the connection opens): slow clients are cut off
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=settings.client_timeout,
        shutdown_timeout=settings.shutdown_grace,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise _listen_error(exc, settings.host, settings.port) from None
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = f"http://{shown}:{settings.port}/"
    redis = (settings.redis_url and "REDIS_URL") or f"embedded Redis in {settings.data_dir}"
    channels = app[CHANNELS]
    log.info("Safar is running: open %s in a browser to chat  (storage: %s)", url, redis)
    log.info("channels: %s; probes: %slivez, %sreadyz", ", ".join(channels), url, url)
    log.info("press Ctrl-C to stop (SIGTERM stops gracefully too)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(name: str) -> None:
        if stop.is_set():
            log.warning("%s again: stopping now, without waiting", name)
            os._exit(1)
        log.info("%s: stopping; finishing what is in progress (up to %.0f s)", name, grace)
        app[LIFECYCLE].stop(grace)  # readiness goes 503 and new turns are refused at once
        _hard_stop_after(grace + HARD_STOP_MARGIN)
        stop.set()

    grace = settings.shutdown_grace
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
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
    heap.settle()  # everything loaded: out of the collector's sight
    pidfile = write_pidfile(settings.data_dir)
    try:
        await stop.wait()
        state = app[LIFECYCLE]
        if not await state.drained():
            log.warning("%d request(s) still running after %.0f s", state.in_flight, grace)
    finally:
        pidfile.unlink(missing_ok=True)
        await live.stop()
        await runner.cleanup()  # channels finish their turns, the outbox its sends
        log.info("stopped")


def _hard_stop_after(seconds: float) -> None:
    """The bound on a stop: a turn stuck on a dead connection must not keep a replica (and
    its deploy) waiting forever. A thread, so a blocked event loop is no excuse either."""

    def hard_stop() -> None:
        log.error("not stopped %.0f s after the signal: exiting now", seconds)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, hard_stop)
    timer.daemon = True
    timer.start()


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
