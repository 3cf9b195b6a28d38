"""An app with the staff pages on (STAFF_TOKEN set), its own Redis prefix, and a staff member
who logs in with a browser-like cookie jar, or a tool that sends the bearer token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.settings import Settings
from tests.conftest import SECRET, STAFF_TOKEN

Client = TestClient[web.Request, web.Application]
BEARER = {"Authorization": f"Bearer {STAFF_TOKEN}"}
PRICE = 0.05


def staff_settings(redis_url: str, data_dir: Path, prefix: str, **more: Any) -> Settings:
    return Settings(
        redis_url=redis_url,
        data_dir=data_dir,
        secret=SECRET.decode(),
        staff_token=STAFF_TOKEN,
        redis_prefix=prefix,
        sms_price_per_segment=PRICE,
        **more,
    )


@pytest.fixture
def staff_app_settings(redis_url: str, tmp_path: Path, prefix: str) -> Settings:
    return staff_settings(redis_url, tmp_path, prefix)


@pytest.fixture
async def staff(
    staff_app_settings: Settings,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> Client:
    """A client of an app with the staff pages on; not logged in."""
    return await aiohttp_client(create_app(staff_app_settings))


async def log_in(client: Client, token: str = STAFF_TOKEN) -> None:
    resp = await client.post(
        "/staff/login", data={"token": token, "next": "preview"}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
