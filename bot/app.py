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

from bot import lifecycle, metrics
from bot.channels import sms as sms_channel
from bot.channels import telegram as telegram_channel
from bot.channels import web as web_channel
from bot.conversations import ContentHolder, Conversations
from bot.guard import bearer_ok, guard, hide_server_version, security_headers
from bot.handoff import Handoffs, StaffChat
from bot.outbox import Sender
from bot.privacy import quiet_bad_requests, use_secret
from bot.settings import Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.order import TurnOrder
from bot.store.redis import RedisStore, connect
from bot.store.stats import Stats
from bot.store.tickets import TicketStore

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
CONTENT = web.AppKey("content", ContentHolder)
STORE = web.AppKey("store", RedisStore)
CONVERSATIONS = web.AppKey("conversations", Conversations)
STARTED = web.AppKey("started", float)
CHANNELS = web.AppKey("channels", list[str])
SENDER = web.AppKey("sender", Sender)

MAX_BODY = 256 * 1024
"""Larger requests get 413 before any handler runs: no webhook we serve is anywhere near this."""


def create_app(settings: Settings, content: ContentHolder | None = None) -> web.Application:
    """Build the app; content is checked here, so broken content stops the start, loudly."""
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            lifecycle.middleware,  # outermost: counts every request, refuses turns when stopping
            metrics.timing,
            guard(settings.client_timeout, settings.redis_budget),
        ],
    )
    app.on_response_prepare.append(security_headers)
    hide_server_version()
    quiet_bad_requests()
    app[SETTINGS] = settings
    app[CONTENT] = content or ContentHolder.load(settings.content_dir)
    app[STARTED] = time.time()
    app[CHANNELS] = []
    app.cleanup_ctx.append(_redis_ctx)
    lifecycle.setup(app)
    metrics.setup(app)
    app.router.add_get("/healthz", healthz)
    web_channel.setup(app)
    if settings.telegram_bot_token:
        telegram_channel.setup(app)
    if settings.twilio_auth_token:
        sms_channel.setup(app)
    app.cleanup_ctx.append(_sender_ctx)  # last: starts after every channel, stops first
    app.on_startup.append(lifecycle.mark_started)  # runs after every cleanup context
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
    secret = settings.pseudonym_secret()
    use_secret(secret)
    redis = connect(
        url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout,
        timeout=settings.redis_timeout,
    )
    store = RedisStore(
        redis,
        session_ttl=settings.session_ttl,
        prefs_ttl=settings.prefs_ttl,
        prefix=settings.redis_prefix,
        secret=secret,
    )
    app[STORE] = store
    stats = Stats(redis, prefix=store.prefix, text_days=settings.report_text_days)
    app[CONVERSATIONS] = Conversations(store, app[CONTENT], stats)
    app[CONVERSATIONS].order = TurnOrder(redis, prefix=store.prefix, secret=store.secret)
    _handoffs(app, redis, store)
    try:
        yield
    finally:
        await redis.aclose()
        if embedded is not None:
            await embedded.astop()


def _handoffs(app: web.Application, redis: Redis, store: RedisStore) -> None:
    """Tickets and the outbox, when operators are configured (TELEGRAM_OPERATOR_CHAT_ID)."""
    settings = app[SETTINGS]
    outbox = store.outbox
    app[SENDER] = Sender(outbox)
    app[SENDER].housekeeping = store.purge_if_due
    if not settings.handoff_on:
        return
    assert settings.telegram_operator_chat_id is not None
    tickets = TicketStore(
        redis,
        prefix=store.prefix,
        secret=store.secret,
        retention=settings.ticket_retention_days * 86400,
        callback_ttl=settings.callback_ttl_hours * 3600,
    )
    app[CONVERSATIONS].handoffs = Handoffs(
        tickets=tickets,
        outbox=outbox,
        sender=app[SENDER],
        content=app[CONTENT],
        sessions=store,
        staff=StaffChat(settings.telegram_operator_chat_id, settings.staff_lang),
        stats=app[CONVERSATIONS].stats,
    )


async def _sender_ctx(app: web.Application) -> AsyncIterator[None]:
    sender = app[SENDER]
    if app[SETTINGS].background:
        sender.start()  # delivers what channels registered; without any, keeps the AOF purged
    else:
        log.info(
            "a front process (SAFAR_BACKGROUND=false): Telegram turns and outbox sends are left "
            "to a process with SAFAR_BACKGROUND=true on the same Redis"
        )
    try:
        yield
    finally:
        await sender.stop(grace=app[lifecycle.LIFECYCLE].remaining(default=5.0))


async def healthz(request: web.Request) -> web.Response:
    """For load balancers: 200 {"status": "ok"} or 503 {"status": "not ok"}, nothing more. The
    details (content version, channels, Redis) tell an attacker what runs where, so they need
    `Authorization: Bearer <STAFF_TOKEN>`."""
    app = request.app
    redis_ok = await app[STORE].ping()
    status = 200 if redis_ok else 503
    token = app[SETTINGS].staff_token
    if not bearer_ok(request, token.get_secret_value() if token else None):
        return web.json_response({"status": "ok" if redis_ok else "not ok"}, status=status)
    return web.json_response(health_details(app, redis_ok), status=status)


def health_details(app: web.Application, redis_ok: bool) -> dict[str, object]:
    """Everything /healthz tells staff: one place, so what is shown is decided once."""
    channels: dict[str, str] = {name: "ok" for name in app[CHANNELS]}
    if telegram_channel.TELEGRAM in app:  # Telegram connects in the background: say how far
        tg = app[telegram_channel.TELEGRAM]
        name = next(n for n in channels if n.startswith("telegram"))
        connected = "ready" if tg.ready.is_set() else "connecting"
        channels[name] = f"off: {tg.failure}" if tg.failure else connected
    body: dict[str, object] = {
        "status": "ok" if redis_ok else "degraded",
        "redis": "ok" if redis_ok else "unreachable",
        "channels": channels,
        "handoff": "on" if app[CONVERSATIONS].handoffs is not None else "off",
        "background": "on" if app[SETTINGS].background else "off",
        "content": app[CONTENT].health(),
        "uptime_s": int(time.time() - app[STARTED]),
    }
    return body
