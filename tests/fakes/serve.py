"""`safar serve` as a real process for tests and benchmarks, and a basic phone texting it
through Twilio-signed webhooks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

from bot.settings import REPO_ROOT
from tests.fakes.telegram_safar import free_port

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "12345678901234567890123456789012"
SAFAR_NUMBER = "+15005550006"
HOOK_SECRET = "hook-secret-shared-by-replicas"


def replica_env(
    redis_url: str, prefix: str, secret: bytes, bot_api: tuple[str, str] | None = None
) -> dict[str, str]:
    """What the `safar serve` replicas of one test share: this machine's environment without
    its Telegram and Twilio settings, the test's Redis, key prefix and secret, and with
    `bot_api` (token, URL) the loopback Bot API by webhook. Callers add their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env |= {"REDIS_URL": redis_url, "SAFAR_REDIS_PREFIX": prefix, "SAFAR_SECRET": secret.decode()}
    if bot_api is not None:
        token, url = bot_api
        env |= {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": url,
            "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET,
        }
    return env


class Serve:
    """One `safar serve` process, on a fixed port so it can be started again after a kill."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **env,
            "SAFAR_PORT": str(self.port),
            "TELEGRAM_WEBHOOK_URL": f"{self.url}/telegram/webhook",
            "SAFAR_DATA_DIR": str(tmp / f"data-{self.port}"),
        }
        self.log = tmp / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        out = self.log.open("ab")
        # Popen returns at once; waiting for the process happens below, without blocking
        self.proc = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bot", "serve"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"{self.url}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.proc.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, "safar serve did not come up"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Phone:
    def __init__(self, number: str) -> None:
        self.number = number
        self.validator = RequestValidator(TOKEN)
        self.n = 0

    async def text(self, serve: Serve, body: str) -> int:
        self.n += 1
        form = {
            "MessageSid": f"SM{self.number[1:]}{self.n:08d}",
            "AccountSid": ACCOUNT,
            "From": self.number,
            "To": SAFAR_NUMBER,
            "Body": body,
        }
        url = f"{serve.url}/sms/twilio"
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, form)}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=form, headers=headers) as r,
        ):
            await r.read()
            return r.status
