"""The one aiohttp application: web chat, health, and the Telegram and SMS webhooks.

Resources (Redis, the embedded server, channels) are opened and closed around a `yield` in
`cleanup_ctx`, in the aiohttp-demos style, so start and stop are symmetric and testable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from bot.channels import sms as sms_channel
from bot.channels import telegram as telegram_channel
from bot.channels import web as web_channel
from bot.conversations import ContentHolder, Conversations
from bot.settings import Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.redis import RedisStore
from bot.store.stats import Stats

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
CONTENT = web.AppKey("content", ContentHolder)
STORE = web.AppKey("store", RedisStore)
CONVERSATIONS = web.AppKey("conversations", Conversations)
STARTED = web.AppKey("started", float)
CHANNELS = web.AppKey("channels", list[str])

MAX_BODY = 256 * 1024
"""Larger requests get 413 before any handler runs: no webhook we serve is anywhere near this."""


def create_app(settings: Settings, content: ContentHolder | None = None) -> web.Application:
    """Build the app; content is checked here, so broken content stops the start, loudly."""
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[CONTENT] = content or ContentHolder.load(settings.content_dir)
    app[STARTED] = time.time()
    app[CHANNELS] = []
    app.cleanup_ctx.append(_redis_ctx)
    app.router.add_get("/healthz", healthz)
    web_channel.setup(app)
    if settings.telegram_bot_token:
        telegram_channel.setup(app)
    if settings.twilio_auth_token:
        sms_channel.setup(app)
    if settings.staff_token:  # off unless set: the staff routes then do not exist (404)
        from bot.staff import pages as staff_pages

        staff_pages.setup(app)
    return app


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        url = await embedded.astart()
        log.info("embedded Redis started (data in %s)", embedded.data_dir)
    redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    store = RedisStore(
        redis,
        session_ttl=settings.session_ttl,
        prefs_ttl=settings.prefs_ttl,
        prefix=settings.redis_prefix,
    )
    app[STORE] = store
    stats = Stats(redis, prefix=store.prefix, text_days=settings.report_text_days)
    app[CONVERSATIONS] = Conversations(store, app[CONTENT], stats)
    try:
        yield
    finally:
        await redis.aclose()
        if embedded is not None:
            await embedded.astop()


async def healthz(request: web.Request) -> web.Response:
    """For load balancers and people: is Redis reachable, which content version is live."""
    app = request.app
    redis_ok = await app[STORE].ping()
    channels: dict[str, str] = {name: "ok" for name in app[CHANNELS]}
    if telegram_channel.TELEGRAM in app:  # Telegram connects in the background: say how far
        tg = app[telegram_channel.TELEGRAM]
        name = next(n for n in channels if n.startswith("telegram"))
        connected = "ready" if tg.ready.is_set() else "connecting"
        channels[name] = f"off: {tg.failure}" if tg.failure else connected
    body = {
        "status": "ok" if redis_ok else "degraded",
        "redis": "ok" if redis_ok else "unreachable",
        "channels": channels,
        "content": app[CONTENT].health(),
        "uptime_s": int(time.time() - app[STARTED]),
    }
    return web.json_response(body, status=200 if redis_ok else 503)
