"""Telegram's sending limits, kept in Redis so they hold for every process of one bot.

Telegram allows a bot about 30 messages a second overall, about one a second in one chat (short
bursts are fine) and 20 a minute in one group. PTB's own AIORateLimiter counts per process: two
`safar serve` replicas would send twice as fast. This limiter asks a token bucket shared in Redis
(`OutboxStore.throttle`) before each call that sends to a chat, and retries after a 429 as
Telegram asks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

Throttle = Callable[[str, float, float], Awaitable[float]]
"""(bucket name, rate per second, burst) -> seconds to wait."""

OVERALL = (30.0, 30.0)
PRIVATE = (1.0, 3.0)
GROUP = (20 / 60, 20.0)


class SharedRateLimiter(BaseRateLimiter[int]):
    def __init__(self, max_retries: int = 3, overall: tuple[float, float] = OVERALL) -> None:
        self.max_retries = max_retries
        self.overall = overall
        self.throttle: Throttle | None = None
        """Bound when the store exists (`bind`); until then calls go unthrottled."""
        self.name: Callable[[int | str], str] = str

    def bind(self, throttle: Throttle, name: Callable[[int | str], str]) -> None:
        """`name` turns a chat id into the pseudonym its bucket is kept under."""
        self.throttle = throttle
        self.name = name

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = data.get("chat_id")
        for attempt in range(self.max_retries + 1):
            if chat is not None and self.throttle is not None:
                await self._wait(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= self.max_retries:
                    raise
                await asyncio.sleep(retry_seconds(exc) + 0.1)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, chat: Any) -> None:
        assert self.throttle is not None
        group = isinstance(chat, str) or (isinstance(chat, int) and chat < 0)
        rate, burst = GROUP if group else PRIVATE
        waits = await asyncio.gather(
            self.throttle("tg:all", *self.overall),
            self.throttle(f"tg:chat:{self.name(chat)}", rate, burst),
        )
        wait = max(waits)
        if wait > 0:
            await asyncio.sleep(min(wait, 60.0))


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 deprecates the int form of retry_after
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
