"""Shared fixtures: a real Redis server (embedded, or REDIS_URL), the shipped content, an app.

Every test gets its own key prefix, so tests never see each other's data and need no flush.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.content.load import Content, require_content
from bot.conversations import ContentHolder, Conversations
from bot.engine import Engine
from bot.settings import REPO_ROOT, Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.redis import RedisStore
from tests.fakes.serve import ACCOUNT, TOKEN
from tests.fakes.telegram_api import BotAPI
from tests.fakes.twilio_api import FakeTwilio

SHARED = REPO_ROOT.parent / "shared"
SECRET = b"test-secret-for-pseudonyms-0123456789"
"""SAFAR_SECRET of the tests: pseudonyms are keyed as in production."""
STAFF_TOKEN = "test-staff-token-0123456789abcdefghij"
STAFF_SECRET = SecretStr(STAFF_TOKEN)
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
"""Headers that open the staff-only parts (the details of /healthz)."""


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the whole run: REDIS_URL if set, else the embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def store(redis: Redis, prefix: str) -> RedisStore:
    return RedisStore(redis, session_ttl=600, prefs_ttl=3600, prefix=prefix, secret=SECRET)


@pytest.fixture(scope="session")
def content() -> Content:
    return require_content(REPO_ROOT)


@pytest.fixture(scope="session")
def engine(content: Content) -> Engine:
    return Engine(content)


@pytest.fixture
async def conversations(store: RedisStore, content: Content) -> Conversations:
    return Conversations(store, ContentHolder(content))


@pytest.fixture
def settings(redis_url: str, tmp_path: Path, prefix: str) -> Settings:
    """Settings for an app under test: the shared Redis under this test's own prefix, no
    Telegram, no Twilio."""
    return Settings(
        redis_url=redis_url, data_dir=tmp_path, secret=SECRET.decode(), redis_prefix=prefix
    )


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    """The loopback Telegram Bot API (tests/fakes/telegram_api.py), for one story."""
    server = BotAPI()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """The loopback Twilio REST API (tests/fakes/twilio_api.py), for one story."""
    fake = FakeTwilio(ACCOUNT, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()
