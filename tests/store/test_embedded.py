"""The embedded Redis that `make run` starts: a real server that keeps data across restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis as sync_redis
from redis.asyncio import Redis

from bot.settings import REPO_ROOT
from bot.store.embedded import EmbeddedRedis, server_binary


async def test_data_survives_a_restart_of_the_embedded_server(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    client = Redis.from_url(server.start())
    await client.set("safar:p:someone", '{"lang": "ky"}')
    await client.aclose()
    server.stop()  # Ctrl-C: redis flushes its append-only file on SIGTERM

    assert (tmp_path / "redis" / "redis.log").exists()
    again = EmbeddedRedis(tmp_path / "redis")
    client = Redis.from_url(again.start())
    assert await client.get("safar:p:someone") == b'{"lang": "ky"}'
    await client.aclose()
    again.stop()
    assert again.proc is None


# -- one redis-server per data dir, and none outliving Safar (defect 6) -------------------------


def redis_servers_in(data_dir: Path) -> list[int]:
    """The pids of redis-servers working in `data_dir` (redis chdirs to its --dir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "cwd").resolve() == data_dir.resolve() and b"redis-server" in (
                proc / "cmdline"
            ).read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


OWNER = """
import sys, time
from pathlib import Path
from bot.store.embedded import EmbeddedRedis
server = EmbeddedRedis(Path(sys.argv[1]))
server.start()
print(server.proc.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")
def test_the_embedded_redis_dies_with_a_sigkilled_parent(tmp_path: Path) -> None:
    data = tmp_path / "redis"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(data)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        assert redis_servers_in(data) == [pid]
        owner.send_signal(signal.SIGKILL)  # no cleanup, no atexit: the kernel takes over
        owner.wait()
        assert wait_until(lambda: not redis_servers_in(data)), "redis-server outlived Safar"
    finally:
        for pid in redis_servers_in(data):
            os.kill(pid, signal.SIGKILL)


def test_a_second_start_takes_over_an_orphan_and_keeps_its_data(tmp_path: Path) -> None:
    """A redis-server left running on the data dir (by a Safar before this one, killed with
    SIGKILL) is stopped cleanly, its AOF flushed, before a new one starts: never two on one AOF."""
    data = tmp_path / "redis"
    data.mkdir()
    socket = data / "orphan.sock"
    orphan = subprocess.Popen(
        [
            str(server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(socket.exists)
        client = sync_redis.Redis(unix_socket_path=str(socket))
        client.set("safar:p:someone", "ky")
        client.close()
        server = EmbeddedRedis(data)
        server.start()
        try:
            assert orphan.wait(timeout=10) is not None  # stopped by the new start
            assert redis_servers_in(data) == [server.proc.pid]  # type: ignore[union-attr]
            client = sync_redis.Redis.from_url(server.url)
            assert client.get("safar:p:someone") == b"ky"
            client.close()
        finally:
            server.stop()
    finally:
        if orphan.poll() is None:
            orphan.kill()


def test_a_second_safar_on_a_data_dir_in_use_is_refused_clearly(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "redis")
    first.start()
    try:
        with pytest.raises(RuntimeError, match="in use by another Safar"):
            EmbeddedRedis(tmp_path / "redis").start()
        assert first.proc is not None and first.proc.poll() is None  # the first one is untouched
    finally:
        first.stop()
