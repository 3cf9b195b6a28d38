"""Safar as `safar serve` runs it (the one aiohttp app, on a real port), with Telegram pointed at
the loopback Bot API. Used by the Telegram tests and the benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from bot.app import STORE, create_app
from bot.channels.telegram import TELEGRAM, WEBHOOK_PATH, TelegramChannel
from bot.content.load import Content
from bot.conversations import ContentHolder
from bot.settings import Settings
from bot.store.redis import RedisStore

from .telegram_api import BotAPI

Mode = Literal["polling", "webhook"]


@dataclass
class Safar:
    api: BotAPI
    app: web.Application
    url: str

    @property
    def channel(self) -> TelegramChannel:
        return self.app[TELEGRAM]

    @property
    def store(self) -> RedisStore:
        return self.app[STORE]

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{WEBHOOK_PATH}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def run_safar(
    settings: Settings,
    api: BotAPI,
    content: Content,
    mode: Mode = "polling",
    *,
    wait_ready: bool = True,
    **overrides: Any,
) -> AsyncIterator[Safar]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    changes: dict[str, Any] = {
        "telegram_bot_token": api.token,
        "telegram_api_url": api.url,
        "telegram_webhook_url": f"{url}{WEBHOOK_PATH}" if mode == "webhook" else None,
    }
    changes.update(overrides)
    app = create_app(settings.model_copy(update=changes), ContentHolder(content))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        if wait_ready:
            await asyncio.wait_for(app[TELEGRAM].ready.wait(), 15)
        yield Safar(api, app, url)
    finally:
        await runner.cleanup()
