"""The Telegram channel, wired into the one aiohttp app.

`setup(app)` is called by `bot.app.create_app` when TELEGRAM_BOT_TOKEN is set. Without
TELEGRAM_WEBHOOK_URL the bot long-polls from inside this process; with it, Telegram posts updates
to `POST /telegram/webhook` on the same app and port as everything else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.channels.telegram.channel import WEBHOOK_PATH, TelegramChannel, TelegramConfig
from bot.channels.telegram.replicas import PollingLease
from bot.store.inbound import InboundStore

__all__ = ["TELEGRAM", "WEBHOOK_PATH", "TelegramChannel", "TelegramConfig", "setup"]

TELEGRAM = web.AppKey("telegram", TelegramChannel)


def setup(app: web.Application, config: TelegramConfig | None = None) -> None:
    """`config` is for benchmarks and tests that need what no setting offers (no rate limit)."""
    from bot.app import CHANNELS, CONTENT, SETTINGS

    # PTB logs request parameters (chat ids, texts) and the token-bearing URL at DEBUG
    if logging.getLogger("telegram").getEffectiveLevel() < logging.INFO:
        logging.getLogger("telegram").setLevel(logging.INFO)
    config = config or TelegramConfig.from_settings(app[SETTINGS])
    channel = TelegramChannel(config, app[CONTENT])
    app[TELEGRAM] = channel
    app[CHANNELS].append(f"telegram ({config.mode})")
    if config.webhook_url:
        app.router.add_post(WEBHOOK_PATH, channel.webhook)
    app.cleanup_ctx.append(_telegram_ctx)


async def _telegram_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after the Redis context, so the store and conversations exist; stops before it."""
    from bot.app import CONVERSATIONS, SENDER, STORE

    channel = app[TELEGRAM]
    store = app[STORE]
    if not channel.config.webhook_url:  # Telegram allows one poller per bot
        channel.poll_lease = PollingLease(
            store.redis, prefix=store.prefix, token=channel.config.token
        )
    sender = app[SENDER]
    conversations = app[CONVERSATIONS]
    order = conversations.order

    def queue_for(bot_id: int) -> InboundStore:
        assert order is not None
        return InboundStore(
            store.redis, prefix=store.prefix, bot_id=bot_id, order=order, owner=store.owner
        )

    channel.launch(
        conversations,
        store,
        sender.store.throttle,
        sender,
        queue_for if order is not None and channel.config.webhook_url else None,
    )
    try:
        yield
    finally:
        await channel.stop()
