"""`safar serve` as a newcomer runs it: a subprocess with the embedded Redis, no token."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import uvloop

from bot.server import run
from bot.settings import REPO_ROOT, load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, payload: dict[str, object]) -> dict[str, object]:
    req = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        data: dict[str, object] = json.load(resp)
        return data


def start_serve(data_dir: Path, **env_vars: str) -> tuple[subprocess.Popen[str], str]:
    """`safar serve` on a free port with the embedded Redis in `data_dir`, up and healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TELEGRAM_BOT_TOKEN")}
    env.update(SAFAR_PORT=str(port), SAFAR_DATA_DIR=str(data_dir), **env_vars)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.stdout.read() if proc.stdout else "no output") from None
            time.sleep(0.2)


def test_safar_serve_starts_answers_and_stops_cleanly(tmp_path: Path) -> None:
    proc, base = start_serve(tmp_path / "data")
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
            assert json.load(resp) == {"status": "ok"}  # the details are for staff only
        post(f"{base}/api/chat", {"user": "newcomer-001", "command": "start"})
        reply = post(f"{base}/api/chat", {"user": "newcomer-001", "choice": "1"})
        assert reply["lang"] == "ky"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert f"{base}/" in out
    assert (tmp_path / "data" / "redis" / "appendonly.aof").exists() or any(
        (tmp_path / "data" / "redis").glob("appendonly*")
    )
    assert not (tmp_path / "data" / "redis" / "redis.pid").exists()  # stopped with Safar


def redis_servers_in(data_dir: Path) -> list[int]:
    from tests.store.test_embedded import redis_servers_in as servers

    return servers(data_dir)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")
def test_a_sigkilled_safar_leaves_no_redis_behind_and_restarts_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, base = start_serve(data)
    try:
        post(f"{base}/api/chat", {"user": "newcomer-002", "command": "start"})
        post(f"{base}/api/chat", {"user": "newcomer-002", "choice": "2"})  # Русский
        assert len(redis_servers_in(data / "redis")) == 1
        proc.kill()  # SIGKILL: no cleanup runs in Safar
        proc.communicate(timeout=10)
        deadline = time.monotonic() + 10
        while redis_servers_in(data / "redis") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not redis_servers_in(data / "redis"), "redis-server outlived safar serve"
        proc, base = start_serve(data)
        assert len(redis_servers_in(data / "redis")) == 1  # one per data dir, ever
        reply = post(f"{base}/api/chat", {"user": "newcomer-002", "command": "start"})
        assert reply["lang"] == "ru"  # the AOF was flushed on the way down: nothing lost
    finally:
        proc.kill()
        proc.communicate(timeout=10)
        for pid in redis_servers_in(data / "redis"):
            os.kill(pid, signal.SIGKILL)


def test_slow_and_malformed_clients_cost_seconds_and_one_log_line(tmp_path: Path) -> None:
    """Half-sent requests are cut off after SAFAR_CLIENT_TIMEOUT; an 9 KB header is a 400
    and one line in the log, not a traceback."""
    proc, base = start_serve(tmp_path / "data", SAFAR_CLIENT_TIMEOUT="1")
    port = int(base.rsplit(":", 1)[1])
    try:
        half = []
        for _ in range(20):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            half.append(conn)
        started = time.monotonic()
        for conn in half:
            conn.settimeout(5)
            assert conn.recv(100) == b""  # closed by the server
            conn.close()
        assert time.monotonic() - started < 3
        big = socket.create_connection(("127.0.0.1", port))
        big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        big.settimeout(5)
        answer = big.recv(1000)
        assert b" 400 " in answer.split(b"\r\n")[0]
        assert b"aiohttp" not in answer and b"Python" not in answer
        big.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert "Traceback" not in out, out
    assert out.count("bad request refused") == 1, out


def test_serve_runs_on_uvloop_unless_an_operator_asks_for_asyncios_own_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def loop_kind() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert load_settings().event_loop == "uvloop"
    assert run(loop_kind(), load_settings().event_loop) is uvloop.Loop
    monkeypatch.setenv("SAFAR_EVENT_LOOP", "asyncio")
    chosen = load_settings().event_loop
    assert chosen == "asyncio"
    kind = run(loop_kind(), chosen)
    assert not issubclass(kind, uvloop.Loop)
    assert issubclass(kind, asyncio.BaseEventLoop)
