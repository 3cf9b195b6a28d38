"""Two Safar processes for one bot: they agree on the webhook secret without being told, and
only one of them long-polls Telegram."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.channels.telegram import TelegramConfig
from bot.channels.telegram.replicas import webhook_secret_for
from bot.content.load import Content
from bot.settings import Settings
from bot.store.lease import Lease
from tests.conftest import STAFF, STAFF_SECRET
from tests.fakes.telegram_api import BotAPI
from tests.fakes.telegram_safar import run_safar

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"


def test_every_replica_derives_the_same_webhook_secret_from_the_token(settings: Settings) -> None:
    one = webhook_secret_for(TOKEN)
    assert one == webhook_secret_for(TOKEN)
    assert one != webhook_secret_for(TOKEN + "x")
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,256}", one)  # what Telegram accepts
    assert TOKEN.split(":")[1] not in one and "123456789" not in one
    Settings(telegram_webhook_secret=one)  # passes our own check of the variable
    config = TelegramConfig.from_settings(
        settings.model_copy(update={"telegram_bot_token": TOKEN})
    )
    assert config.webhook_secret is None  # unset: the channel derives it


async def test_two_webhook_replicas_accept_the_update_either_receives(
    settings: Settings, api: BotAPI, content: Content
) -> None:
    async with (
        run_safar(settings, api, content, "webhook") as first,
        run_safar(settings, api, content, "webhook") as second,
    ):
        assert first.channel.secret == second.channel.secret == webhook_secret_for(api.token)
        # Telegram calls the one registered last with the secret the first registered: fine
        headers = {"X-Telegram-Bot-Api-Secret-Token": first.channel.secret}
        async with (
            aiohttp.ClientSession() as http,
            http.post(second.webhook_url, data=b"{}", headers=headers) as resp,
        ):
            assert resp.status == 400  # past the secret: only the update itself was wrong


async def test_a_second_polling_process_keeps_telegram_off_with_a_clear_message(
    settings: Settings, api: BotAPI, content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    async with run_safar(settings, api, content, "polling") as first:
        async with run_safar(
            settings, api, content, "polling", wait_ready=False, staff_token=STAFF_SECRET
        ) as second:
            for _ in range(200):
                if second.channel.failure:
                    break
                await asyncio.sleep(0.05)
            assert second.channel.failure and "polling refused" in second.channel.failure
            assert not second.channel.ready.is_set()
            assert "Telegram allows one poller per bot" in caplog.text
            assert "TELEGRAM_WEBHOOK_URL" in caplog.text
            async with aiohttp.ClientSession() as http:  # everything else runs
                payload = {"user": "visitor-0002", "command": "start"}
                async with http.post(f"{second.url}/api/chat", json=payload) as resp:
                    assert resp.status == 200
                async with http.get(f"{second.url}/readyz") as resp:
                    assert resp.status == 200
                async with http.get(f"{second.url}/healthz", headers=STAFF) as resp:
                    state = (await resp.json())["channels"]["telegram (polling)"]
                    assert state.startswith("off: polling refused")
            aida = first.api.person("Aida", language_code="ru")
            await aida.send("/start")
            assert await aida.replies()  # the first one still answers
        assert first.channel.ready.is_set()
    lease = first.channel.poll_lease
    assert lease is not None and await lease.lease.holder() is None  # released on stop


async def test_the_lease_is_held_by_one_owner_and_freed_by_it_only(
    redis: Redis, prefix: str
) -> None:
    one = Lease(redis, prefix=prefix, name="x", owner="one", ttl_ms=300)
    two = Lease(redis, prefix=prefix, name="x", owner="two", ttl_ms=300)
    assert await one.renew() is True
    assert await two.renew() is False
    assert await one.renew() is True  # renewing keeps it
    await two.release()  # not the owner: nothing happens
    assert await one.holder() == "one"
    assert 0 < await redis.pttl(one.key) <= 300  # every key has a TTL
    await asyncio.sleep(0.4)  # the owner died: the lease runs out
    assert await two.renew() is True
    await two.release()
    assert await one.holder() is None
