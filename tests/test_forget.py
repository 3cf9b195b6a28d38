"""/forget as a person would check it: afterwards Redis holds nothing about them.

Each story snapshots every key of the test's own prefix, lets one person use Safar, asks it to
forget them, and looks at what is left. What may stay names nobody: day counters for the
report, the outbox's delivered-markers, a per-address minute counter, the ticket counter, and
the reply to the very message that asked to forget (kept for Twilio's retries, under the
message id, saying only that everything was deleted)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.content.load import Content
from bot.conversations import ContentHolder
from bot.settings import Settings
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN
from tests.fakes.twilio_api import FakeTwilio

Client = TestClient[web.Request, web.Application]
NOBODYS = re.compile(r":(stats|outbox|purge|t:seq|rate:web-addr)(:|$)")


@pytest.fixture
async def client(
    settings: Settings,
    content: Content,
    twilio: FakeTwilio,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> Client:
    changes = {
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
        "twilio_from": SAFAR_NUMBER,
        "twilio_api_url": twilio.url,
    }
    app = create_app(settings.model_copy(update=changes), ContentHolder(content))
    return await aiohttp_client(app)


async def keys(redis: Redis, prefix: str) -> set[str]:
    return {k.decode() async for k in redis.scan_iter(f"{prefix}:*")}


async def test_after_forget_on_sms_no_key_of_that_person_is_left(
    client: Client, redis: Redis, prefix: str
) -> None:
    before = await keys(redis, prefix)
    validator = RequestValidator(TOKEN)
    sids = iter(range(100))

    async def text(body: str) -> str:
        form = {
            "MessageSid": f"SM{next(sids):032d}",
            "From": "+996555123123",
            "To": SAFAR_NUMBER,
            "Body": body,
        }
        url = str(client.make_url("/sms/twilio"))
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
        resp = await client.post("/sms/twilio", data=form, headers=headers)
        assert resp.status == 200
        return await resp.text()

    await text("1")
    await text("patent kantip alam")
    await text("MORE")
    assert len(await keys(redis, prefix) - before) >= 4  # session, prefs, reply caches
    await text("FORGET")
    assert "1" in await text("1")
    left = {k for k in await keys(redis, prefix) - before if not NOBODYS.search(k)}
    # only the reply to the message that confirmed the forget, for Twilio's retries
    assert len(left) == 1 and ":sms:msg:" in next(iter(left)), left
    kept = await redis.get(next(iter(left)))
    assert isinstance(kept, bytes) and "öchürüldü" in kept.decode()  # "deleted"


async def test_after_forget_on_the_web_no_key_of_that_browser_is_left(
    client: Client, redis: Redis, prefix: str
) -> None:
    before = await keys(redis, prefix)
    user = "browser-0123456789abcdef"
    for body in ({"command": "start"}, {"choice": "2"}, {"text": "как получить патент"}):
        resp = await client.post("/api/chat", json={"user": user, **body})
        assert resp.status == 200
    await client.post("/api/chat", json={"user": user, "command": "forget"})
    resp = await client.post("/api/chat", json={"user": user, "choice": "1"})
    assert resp.status == 200
    left = {k for k in await keys(redis, prefix) - before if not NOBODYS.search(k)}
    assert left == set(), left
