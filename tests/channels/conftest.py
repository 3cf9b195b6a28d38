"""Fixtures of the channel tests: the loopback Bot API that stands in for Telegram's servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_api import BotAPI


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    server = BotAPI()
    await server.start()
    yield server
    await server.close()
