"""`GET /metrics`: what the bot does, in the Prometheus text format, without personal data.

Counted as it happens (one call per turn from `Conversations.handle`, one per request from the
middleware): messages in and out per channel and language, turn and request latency, search
answered or declined. Read when scraped: hand-offs open and waiting (from the ticket store),
the outbox depth (Redis) and this process's sends and retries, Redis errors, the content
version. Every label has a small fixed set of values (channel, language, route, result): no
user id, no text, nothing that grows with the number of people.

Every app has its own registry, so tests and benchmarks that build several apps in one process
never clash, and nothing lands in prometheus_client's global registry.

Protected like the details of /healthz: `Authorization: Bearer <STAFF_TOKEN>` (Prometheus:
`authorization: {credentials: ...}` in the scrape config); without STAFF_TOKEN the route does
not exist. The numbers say how busy the service is and which content runs: not for everyone.

Several replicas: scrape each one (not through the proxy). The counters are per process (sum
them); hand-offs and the outbox depth are read from the shared Redis, so every replica reports
the same value (take max, not sum).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.process_collector import ProcessCollector

from bot.engine import Inbound, Turn
from bot.guard import bearer_ok
from bot.store.base import StoreUnavailable
from bot.store.redis import RedisErrors
from bot.store.stats import is_question

log = logging.getLogger(__name__)

PATH = "/metrics"
SCRAPE_BUDGET = 2.0
"""Seconds the Redis reads of one scrape may take; after that the stale values are shown."""
TURN_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)
ROUTES = {
    "/api/chat": "web",
    "/telegram/webhook": "telegram",
    "/sms/twilio": "sms",
    "/sms/twilio/status": "sms-status",
}
"""Requests timed per channel route; every other path is `other` (a scan cannot add labels)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        per_lang = ["channel", "lang"]
        self.messages_in = Counter(
            "safar_messages_in",
            "Messages from people, per channel and language",
            per_lang,
            registry=r,
        )
        self.messages_out = Counter(
            "safar_messages_out",
            "Replies the bot gave, per channel and language",
            per_lang,
            registry=r,
        )
        self.turn_seconds = Histogram(
            "safar_turn_seconds",
            "One message handled: session, engine, save (seconds)",
            ["channel"],
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.request_seconds = Histogram(
            "safar_request_seconds",
            "Webhook and web chat requests, arrival to answer (seconds)",
            ["route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.search = Counter(
            "safar_search",
            "Questions searched: answered with an article, or declined (unsure)",
            ["result", "lang"],
            registry=r,
        )
        self.handoffs = Gauge(
            "safar_handoffs",
            "Active hand-off tickets by status (shared Redis)",
            ["status"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "safar_outbox_depth", "Outbox messages not yet delivered (shared Redis)", registry=r
        )
        self.content = Gauge(
            "safar_content_info",
            "The content version served here (value 1)",
            ["version"],
            registry=r,
        )
        self.reload_failed = Gauge(
            "safar_content_reload_failed", "1 while the last reload was refused", registry=r
        )
        for status in ("open", "waiting", "taken"):
            self.handoffs.labels(status)
        ProcessCollector(registry=r)  # CPU seconds, memory, open files of this process
        self._live = _Live()
        r.register(self._live)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """`metric.labels(*labels)`, kept: prometheus_client takes a lock and checks the
        values on every call, and a turn made five such calls. Label values are few and fixed
        (see the module docstring), so this stays small."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    # -- counted as it happens ---------------------------------------------------------------

    def turn(self, channel: str, inbound: Inbound, turn: Turn, seconds: float) -> None:
        """Called once per turn by `Conversations.handle`; never raises into a turn."""
        try:
            lang = turn.session.lang or "-"
            self.child(self.messages_in, channel, lang).inc()
            if turn.replies:
                self.child(self.messages_out, channel, lang).inc(len(turn.replies))
            self.child(self.turn_seconds, channel).observe(seconds)
            if is_question(inbound, turn):
                unsure = any(r.kind == "unsure" for r in turn.replies)
                self.child(self.search, "declined" if unsure else "answered", lang).inc()
        except Exception:  # a metric is never worth a person's answer
            log.exception("metrics: a turn was not counted")

    # -- read when scraped ---------------------------------------------------------------------

    async def refresh(self, app: web.Application) -> None:
        """Read what lives in Redis and in other objects, just before the text is written."""
        from bot.app import CONTENT, CONVERSATIONS, SENDER

        holder = app[CONTENT]
        self.content.clear()
        self.content.labels(holder.current.content.version).set(1)
        self.reload_failed.set(1 if holder.last_error is not None else 0)
        sender = app.get(SENDER)
        self._live.sender = sender
        conversations = app.get(CONVERSATIONS)
        handoffs = conversations.handoffs if conversations is not None else None
        try:
            async with asyncio.timeout(SCRAPE_BUDGET):
                if sender is not None:
                    self.outbox_depth.set(await sender.store.depth())
                if handoffs is not None:
                    counts = dict.fromkeys(("open", "waiting", "taken"), 0)
                    for ticket in await handoffs.tickets.active():
                        counts[ticket.status] = counts.get(ticket.status, 0) + 1
                    for status, n in counts.items():
                        self.handoffs.labels(status).set(n)
        except (StoreUnavailable, TimeoutError) as exc:
            log.warning(
                "metrics: Redis values not read (%s); showing the last ones", type(exc).__name__
            )


class _Live:
    """Counters kept by other objects (the outbox sender, the Redis client), read at scrape
    time so they need no hook where they are counted."""

    def __init__(self) -> None:
        from bot.outbox import Sender

        self.sender: Sender | None = None

    def collect(self) -> Iterable[Metric]:
        errors = CounterMetricFamily(
            "safar_redis_errors",
            "Redis calls that failed in this process (timeouts, lost connections)",
        )
        errors.add_metric([], RedisErrors.count)
        yield errors
        sender = self.sender
        sent = CounterMetricFamily("safar_outbox_sent", "Outbox messages this process delivered")
        retries = CounterMetricFamily(
            "safar_outbox_retries", "Outbox deliveries this process had to try again"
        )
        leader = GaugeMetricFamily(
            "safar_outbox_leader", "1 when this process is the one delivering the outbox"
        )
        sent.add_metric([], sender.sent if sender else 0)
        retries.add_metric([], sender.retries if sender else 0)
        leader.add_metric([], 1 if sender and sender.leader else 0)
        yield from (sent, retries, leader)


METRICS = web.AppKey("metrics", Metrics)


def setup(app: web.Application) -> None:
    """Called by create_app: the registry, the timing middleware's target and, with STAFF_TOKEN,
    the route. Conversations get their hook once the store is open (`_hook`)."""
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_hook)
    from bot.app import SETTINGS

    if app[SETTINGS].staff_token is not None:
        app.router.add_get(PATH, metrics)


async def _hook(app: web.Application) -> AsyncIterator[None]:
    from bot.app import CONVERSATIONS

    app[CONVERSATIONS].metrics = app[METRICS]
    yield


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Times the channel routes; other paths pass untouched (no label per path scanned)."""
    route = ROUTES.get(request.path)
    if route is None or request.method != "POST":
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[METRICS]
        metrics.child(metrics.request_seconds, route, _status_class(status)).observe(
            time.perf_counter() - started
        )


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


async def metrics(request: web.Request) -> web.Response:
    from bot.app import SETTINGS

    token = request.app[SETTINGS].staff_token
    if not bearer_ok(request, token.get_secret_value() if token else None):
        return web.json_response(
            {"error": "unauthorized: send Authorization: Bearer <STAFF_TOKEN>"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    registry = request.app[METRICS]
    await registry.refresh(request.app)
    body = generate_latest(registry.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
