"""Updates of one chat one at a time and in order; different chats at the same time.

PTB's `concurrent_updates` alone would run two quick messages of one person side by side, and
their answers could arrive swapped. This processor gives each chat a FIFO lock: PTB starts the
updates in the order Telegram sent them, each takes its chat's lock in that order, and a slow
chat holds up nobody else.

In webhook mode with Redis, updates are run from Redis instead (bot/channels/telegram/inbound.py),
in the order shared by every process; this processor orders long polling, and webhook updates
answered directly while Redis is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT = 256
"""Updates in flight at once across all chats (PTB's default for concurrent updates). Updates
waiting for their chat's turn count too, so one chat flooding the bot can use at most this."""


class _Turnstile:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, _Turnstile] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        turnstile = self._chats.get(chat.id)
        if turnstile is None:
            turnstile = self._chats[chat.id] = _Turnstile()
        turnstile.users += 1
        try:
            async with turnstile.lock:
                await coroutine
        finally:
            turnstile.users -= 1
            if turnstile.users == 0:
                del self._chats[chat.id]  # idle chats cost nothing

    async def initialize(self) -> None:
        """Nothing to open: the locks are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to close: PTB waits for running updates before it calls this."""
