"""What an orchestrator asks a replica (alive? ready?) and how the replica stops."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.lifecycle import LIFECYCLE
from bot.settings import Settings
from tests.conftest import STAFF, STAFF_SECRET
from tests.fakes.telegram_safar import free_port

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


async def test_a_started_replica_is_alive_and_ready(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    client = await aiohttp_client(create_app(settings))
    live = await client.get("/livez")
    assert live.status == 200 and await live.json() == {"status": "alive"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and await ready.json() == {"status": "ready"}
    assert (await client.get("/healthz")).status == 200  # as it was


async def test_without_redis_it_is_alive_but_not_ready(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    """A restart would not bring Redis back: liveness stays green, traffic goes elsewhere."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    changes = {"redis_url": dead, "staff_token": STAFF_SECRET}
    client = await aiohttp_client(create_app(settings.model_copy(update=changes)))
    assert (await client.get("/livez")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 503 and await ready.json() == {"status": "not ready"}
    ready = await client.get("/readyz", headers=STAFF)  # why, for staff only
    assert await ready.json() == {"status": "not ready", "reason": "redis unreachable"}


async def test_a_stopping_replica_refuses_new_turns_with_retry_after_and_finishes_the_others(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    client = await aiohttp_client(create_app(settings))
    state = client.app[LIFECYCLE]
    assert client.port is not None
    # a chat message on its way in: headers sent, the body still coming
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    body = b'{"user": "leaving-visitor-1", "command": "start"}'
    writer.write(
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
    )
    await writer.drain()
    for _ in range(100):
        if state.in_flight:
            break
        await asyncio.sleep(0.01)
    assert state.in_flight == 1

    state.stop(grace=5)
    refused = await client.post("/api/chat", json={"user": "late-visitor-01", "command": "start"})
    assert refused.status == 503 and refused.headers["Retry-After"] == "5"
    webhook = await client.post("/telegram/webhook", data=b"{}")
    assert webhook.status == 503
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/livez")).status == 200

    drained = asyncio.create_task(state.drained())
    await asyncio.sleep(0.05)
    assert not drained.done()  # the visitor's message is still being read
    writer.write(body[10:])
    await writer.drain()
    assert b" 200 " in await asyncio.wait_for(reader.readline(), 5)  # answered in full
    assert await asyncio.wait_for(drained, 5)
    writer.close()


async def test_the_drain_gives_up_when_the_grace_period_is_over(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    client = await aiohttp_client(create_app(settings))
    state = client.app[LIFECYCLE]
    state.enter()  # a request that never ends
    state.stop(grace=0.2)
    assert not await asyncio.wait_for(state.drained(), 2)
    state.leave()
