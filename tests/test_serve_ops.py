"""`safar serve` as an operator runs it: stopped by SIGTERM mid-conversation, started on a busy
port, its log read by a collector."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.settings import REPO_ROOT
from tests.test_serve import start_serve

BODY = b'{"user": "leaving-visitor-1", "command": "start"}'


def half_sent_message(port: int) -> socket.socket:
    """A chat message whose headers have arrived and whose body is still on its way."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY[:10]
    )
    return conn


def status_of(base: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(
        f"{base}{path}", body, {"Content-Type": "application/json"} if body else {}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def test_sigterm_finishes_the_message_in_progress_and_refuses_new_ones(tmp_path: Path) -> None:
    proc, base = start_serve(tmp_path / "data", SAFAR_SHUTDOWN_GRACE="8")
    port = int(base.rsplit(":", 1)[1])
    try:
        conn = half_sent_message(port)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        status, headers = status_of(base, "/api/chat", b'{"user": "late-visitor-01"}')
        assert status == 503 and headers["Retry-After"] == "5"
        assert status_of(base, "/readyz")[0] == 503  # the proxy moves traffic away
        assert status_of(base, "/livez")[0] == 200
        conn.sendall(BODY[10:])
        conn.settimeout(5)
        assert b" 200 " in conn.recv(200).split(b"\r\n")[0]  # the visitor got the answer
        conn.close()
        started = time.monotonic()
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert time.monotonic() - started < 5
    assert "SIGTERM: stopping" in out and "stopped" in out
    assert "Traceback" not in out


def test_a_request_that_never_ends_holds_the_stop_no_longer_than_the_grace(
    tmp_path: Path,
) -> None:
    proc, base = start_serve(
        tmp_path / "data", SAFAR_SHUTDOWN_GRACE="1", SAFAR_CLIENT_TIMEOUT="60"
    )
    conn = half_sent_message(int(base.rsplit(":", 1)[1]))  # never finished
    try:
        time.sleep(0.3)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        took = time.monotonic() - signalled
    finally:
        conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert took < 1 + 5, out  # the grace, then closing Redis
    assert "1 request(s) still running" in out


def test_a_busy_port_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TELEGRAM_BOT_TOKEN")}
        env.update(SAFAR_PORT=str(port), SAFAR_DATA_DIR=str(tmp_path / "data"))
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"Error: port {port} is in use: set SAFAR_PORT" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert len(done.stderr.strip().splitlines()) <= 3, done.stderr  # Redis up and down, the line


def test_json_logs_are_one_object_per_line_with_the_fields_collectors_expect(
    tmp_path: Path,
) -> None:
    proc, base = start_serve(tmp_path / "data", SAFAR_LOG_FORMAT="json")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) >= 4, out
    for line in lines:
        entry = json.loads(line)
        assert {"ts", "level", "logger", "msg"} <= entry.keys(), line
        assert entry["ts"].endswith("Z")
    assert any(f"{base}/" in json.loads(line)["msg"] for line in lines)
