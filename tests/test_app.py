"""The one app's limits on what a client or a busy Redis can take from it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import BlockingConnectionPool

from bot.app import STORE, create_app
from bot.settings import Settings
from bot.store.base import SessionKey

Client = TestClient[web.Request, web.Application]


async def test_the_redis_pool_is_bounded_by_the_settings_and_waits_for_a_connection(
    settings: Settings, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    """300 people at once through 3 connections: all get their session, none an error."""
    # a generous wait, so a busy test machine does not turn "waits" into "times out"
    changes = {"redis_max_connections": 3, "redis_pool_timeout": 20.0}
    app = create_app(settings.model_copy(update=changes))
    client = await aiohttp_client(app)
    store = client.app[STORE]
    pool = store.redis.connection_pool
    assert isinstance(pool, BlockingConnectionPool) and pool.max_connections == 3
    sessions = await asyncio.gather(
        *(store.load(SessionKey("web", f"crowd-{i:05d}")) for i in range(300))
    )
    assert len(sessions) == 300
    assert len(pool._available_connections) + len(pool._in_use_connections) <= 3


async def test_a_body_that_trickles_in_is_cut_off_with_408(
    settings: Settings, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"client_timeout": 0.5})))
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n" + b'{"user": '
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 3)  # 20 s before: it never came
    assert b" 408 " in status
    writer.close()
