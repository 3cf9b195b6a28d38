"""The webhook door: `POST /telegram/webhook` on Safar's one app, as Telegram (or anyone) calls it.

Updates are posted here by the test itself, like Telegram's servers would, so each story can
also try what Telegram never sends: a wrong secret, none, a repeat, garbage.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.channels.telegram import TelegramConfig
from bot.content.load import Content
from bot.settings import Settings
from tests.fakes.telegram_api import BotAPI
from tests.fakes.telegram_safar import Safar, run_safar

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
async def safar(settings: Settings, api: BotAPI, content: Content) -> AsyncIterator[Safar]:
    async with run_safar(settings, api, content, "webhook") as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, safar: Safar, body: Any, secret: str | None
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(safar.webhook_url, data=data, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_the_webhook_is_registered_with_a_generated_secret(safar: Safar) -> None:
    [call] = safar.api.calls_to("setWebhook")
    assert call.params["url"] == safar.webhook_url
    secret = call.params["secret_token"]
    assert secret == safar.channel.secret and len(secret) >= 32
    assert call.params["allowed_updates"] == ["message", "callback_query"]
    assert not safar.api.calls_to("getUpdates")  # no polling in webhook mode


async def test_a_configured_secret_is_used_as_given(
    settings: Settings, api: BotAPI, content: Content
) -> None:
    async with run_safar(
        settings, api, content, "webhook", telegram_webhook_secret="my-own_Secret-42"
    ):
        [call] = api.calls_to("setWebhook")
        assert call.params["secret_token"] == "my-own_Secret-42"


async def test_an_update_with_the_right_secret_is_stored_acknowledged_and_then_answered(
    safar: Safar, http: aiohttp.ClientSession
) -> None:
    aida = safar.api.person("Aida", language_code="ru")
    status, _ = await post(http, safar, aida.text_update("/start"), safar.channel.secret)
    assert status == 200
    [home] = await aida.replies()  # from the stored update, by this process's worker
    assert home.rows


async def test_a_press_is_acknowledged_at_once_while_the_bot_api_answers_slowly(
    safar: Safar, http: aiohttp.ClientSession
) -> None:
    """Telegram sends a chat's next update only after our 200: a webhook that waited for the
    Bot API (answering the button) would hold the person up as long as Telegram is slow."""
    aida = safar.api.person("Aida", language_code="ru")
    await post(http, safar, aida.text_update("/start"), safar.channel.secret)
    await aida.replies()
    safar.api.latency = (1.0, 1.0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    status, _ = await post(http, safar, aida.press_update("2"), safar.channel.secret)
    assert status == 200 and loop.time() - began < 0.5
    [screen] = await aida.replies(within=10)  # the press still works, just later
    assert screen.rows


@pytest.mark.parametrize("secret", ["wrong-secret", "", None])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_processed(
    safar: Safar, http: aiohttp.ClientSession, secret: str | None
) -> None:
    aida = safar.api.person("Aida", language_code="ru")
    sends_before = len(safar.api.calls_to("sendMessage"))
    status, text = await post(http, safar, aida.text_update("/start"), secret)
    assert status == 403 and "secret" in text
    await aida.quiet(0.2)
    assert len(safar.api.calls_to("sendMessage")) == sends_before


async def test_the_same_update_twice_is_answered_once(
    safar: Safar, http: aiohttp.ClientSession
) -> None:
    aida = safar.api.person("Aida", language_code="ru")
    update = aida.text_update("/start")
    for _ in range(2):  # Telegram repeats an update when our first 200 got lost on the way
        status, _ = await post(http, safar, update, safar.channel.secret)
        assert status == 200
    await aida.replies()
    await aida.quiet(0.2)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", {"message": {"text": "no update_id"}}, {"update_id": "7"}],
)
async def test_something_that_is_not_an_update_gets_a_clear_400(
    safar: Safar, http: aiohttp.ClientSession, body: Any
) -> None:
    status, text = await post(http, safar, body, safar.channel.secret)
    assert status == 400 and "not a Telegram update" in text


async def test_an_update_we_do_not_handle_is_accepted_and_ignored(
    safar: Safar, http: aiohttp.ClientSession
) -> None:
    """Telegram would retry anything but a 200 for a day: an edited message is simply dropped."""
    aida = safar.api.person("Aida", language_code="ru")
    update = aida.text_update("hello")
    update["edited_message"] = update.pop("message")
    status, _ = await post(http, safar, update, safar.channel.secret)
    assert status == 200
    await aida.quiet(0.2)


def test_a_webhook_url_without_a_path_gets_ours(settings: Settings) -> None:
    bare = settings.model_copy(
        update={"telegram_bot_token": "1:x", "telegram_webhook_url": "https://safar.example.org"}
    )
    assert (
        TelegramConfig.from_settings(bare).webhook_url
        == "https://safar.example.org/telegram/webhook"
    )
    proxied = bare.model_copy(update={"telegram_webhook_url": "https://example.org/tg/hook"})
    assert TelegramConfig.from_settings(proxied).webhook_url == "https://example.org/tg/hook"


async def test_while_the_bot_api_fails_a_reply_waits_and_then_arrives_once(
    safar: Safar, http: aiohttp.ClientSession
) -> None:
    """Telegram's servers answer 502 for a while: the reply is kept in the outbox and sent
    once they recover; Telegram's repeat of the update is not answered a second time."""
    aida = safar.api.person("Aida", language_code="ru")
    safar.api.fail("sendMessage", code=502, description="Bad Gateway", times=3)
    update = aida.text_update("/start")
    status, _ = await post(http, safar, update, safar.channel.secret)
    assert status == 200
    [home] = await aida.replies(within=15)
    assert home.rows
    status, _ = await post(http, safar, update, safar.channel.secret)
    assert status == 200
    await aida.quiet(1.0)
    assert len([c for c in safar.api.calls_to("sendMessage") if c.status == 200]) == 1
