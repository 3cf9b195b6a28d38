"""The web chat over real HTTP on loopback: the page, the JSON endpoint, bad requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.web import PER_PERSON
from bot.settings import Settings

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    settings: Settings,
    redis: Redis,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[Client]:
    """The app, with the loopback address's request counter reset before and after."""

    async def reset() -> None:
        async for key in redis.scan_iter("safar:rate:web-*"):
            await redis.delete(key)

    await reset()
    yield await aiohttp_client(create_app(settings))
    await reset()


async def say(client: Client, user: str, **payload: Any) -> dict[str, Any]:
    resp = await client.post("/api/chat", json={"user": user, **payload})
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


async def test_the_page_loads_with_the_chat(client: Client) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    page = await resp.text()
    assert "/api/chat" in page and "Safar" in page
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_a_visitor_picks_a_language_walks_the_menu_and_asks(client: Client) -> None:
    data = await say(client, "visitor-0001", command="start")
    assert data["replies"][0]["kind"] == "languages"
    assert [o["label"] for o in data["replies"][0]["options"]][:4] == [
        "Кыргызча",
        "Русский",
        "Тоҷикӣ",
        "English",
    ]
    data = await say(client, "visitor-0001", choice="3")
    assert data["lang"] == "tg" and data["replies"][-1]["kind"] == "menu"
    data = await say(client, "visitor-0001", choice="2")
    data = await say(client, "visitor-0001", choice="2")
    assert data["replies"][0]["article"] == "work-patent"
    assert data["replies"][0]["title"]
    data = await say(client, "visitor-0001", text="Музди кор надоданд")
    assert data["replies"][0]["article"] == "unpaid-wages"


async def test_a_returning_visitor_keeps_the_language(client: Client) -> None:
    await say(client, "visitor-0002", command="start")
    await say(client, "visitor-0002", choice="4")
    data = await say(client, "visitor-0002", command="start")
    assert data["lang"] == "en" and data["replies"][0]["kind"] == "menu"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "bad request"),
        (b'{"text": "hi"}', "user"),
        (b'{"user": "x", "text": "hi"}', "user"),
        (b'{"user": "visitor-0003", "command": "rm -rf"}', "command"),
        (b"[1, 2]", "bad request"),
    ],
)
async def test_bad_requests_get_a_clear_400(client: Client, body: bytes, fragment: str) -> None:
    resp = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert fragment in (await resp.json())["error"]


async def test_a_10_mb_message_is_refused_before_any_work(client: Client) -> None:
    resp = await client.post("/api/chat", data=b"x" * (10 * 1024 * 1024))
    assert resp.status == 413


async def test_odd_unicode_gets_a_safe_reply(client: Client) -> None:
    for text in ["\u202e\u200b\x00\x07", "😀" * 500, "Ӣ\u0301Ҳ\u0327", "\ud7ff" + "я" * 3000]:
        data = await say(client, "visitor-0004", text=text[:4000])
        assert data["replies"], text


async def test_health_reports_redis_and_content(client: Client) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    data = await resp.json()
    assert data["redis"] == "ok"
    assert data["channels"] == {"web chat": "ok"}
    assert data["content"]["articles"] == 22


async def test_a_script_hammering_the_chat_is_slowed_down_and_told_why(client: Client) -> None:
    limit, window = PER_PERSON
    for _ in range(limit):
        await say(client, "visitor-0005", text="menu")
    resp = await client.post("/api/chat", json={"user": "visitor-0005", "text": "menu"})
    assert resp.status == 429
    assert resp.headers["Retry-After"] == str(window)
    assert "wait" in (await resp.json())["error"]
    await say(client, "visitor-0006", text="menu")  # another visitor is not affected
