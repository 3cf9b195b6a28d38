"""Up, ready, stopping: the probes container orchestrators ask, and a stop that loses nothing.

`GET /livez`: the process answers (no Redis call, nothing that can be slow): restart it if not.
`GET /readyz`: send it traffic. 200 once every channel and the outbox sender have started, the
content is loaded and Redis answers; 503 while Redis is unreachable or the process is stopping,
so a load balancer moves traffic to the other replicas. Telegram connecting in the background
does not hold readiness back: a slow Bot API must not take the web chat and SMS down with it
(Telegram keeps its updates until a replica takes them; /healthz details say how far it got).
`GET /healthz` stays what it was (bot/app.py), for the checks that already use it.

SIGTERM (bot/server.py): `stopping` is set at once. New webhook and chat requests get 503 with
Retry-After (Telegram tries again later; a proxy with `proxy_next_upstream` hands them to another
replica, and both webhooks are deduplicated, so a retry is never answered twice); requests
already inside finish. Then the channels stop, each finishing the turns it has started, and
the outbox sender finishes the sends in progress, all within SAFAR_SHUTDOWN_GRACE.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.guard import bearer_ok

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REFUSED_WHEN_STOPPING = ("/telegram/", "/sms/", "/api/")
"""POSTs under these paths are turns: refused once stopping, since one started now could be cut
off half way. Pages, probes and metrics are still answered."""
RETRY_AFTER = "5"


class Lifecycle:
    def __init__(self) -> None:
        self.started = False
        """Every cleanup context ran: Redis, the channels, the outbox sender."""
        self.stopping = False
        self.deadline: float | None = None
        """time.monotonic() by which the stop must be done, once stopping."""
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def stop(self, grace: float) -> None:
        if not self.stopping:
            self.stopping = True
            self.deadline = time.monotonic() + grace

    def remaining(self, default: float) -> float:
        """Seconds left of the grace period (`default` when not stopping), never below 0.1."""
        if self.deadline is None:
            return default
        return max(0.1, self.deadline - time.monotonic())

    async def drained(self) -> bool:
        """Wait until no request is in progress, or the grace period is over (False)."""
        try:
            async with asyncio.timeout(self.remaining(0.0)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()


LIFECYCLE = web.AppKey("lifecycle", Lifecycle)


def setup(app: web.Application) -> None:
    app[LIFECYCLE] = Lifecycle()
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)


async def mark_started(app: web.Application) -> None:
    """on_startup, after every cleanup context has started (aiohttp runs those first)."""
    app[LIFECYCLE].started = True


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts the requests in progress; refuses new turns once stopping."""
    state = request.app[LIFECYCLE]
    if (
        state.stopping
        and request.method == "POST"
        and request.path.startswith(REFUSED_WHEN_STOPPING)
    ):
        return web.json_response(
            {"error": "this server is stopping: try again"},
            status=503,
            headers={"Retry-After": RETRY_AFTER, "Connection": "close"},
        )
    state.enter()
    try:
        return await handler(request)
    finally:
        state.leave()


async def livez(request: web.Request) -> web.Response:
    """The event loop runs and answers: nothing else is asked, so a slow Redis never gets a
    healthy process restarted."""
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    from bot.app import CONTENT, SETTINGS, STORE

    app = request.app
    state = app[LIFECYCLE]
    reason = None
    if state.stopping:
        reason = "stopping"
    elif not state.started:
        reason = "starting"
    elif CONTENT not in app or app[CONTENT].current is None:
        reason = "no content"
    elif not await app[STORE].ping():
        reason = "redis unreachable"
    if reason is None:
        return web.json_response({"status": "ready"})
    body = {"status": "not ready"}
    token = app[SETTINGS].staff_token  # why, only for staff: as the details of /healthz
    if bearer_ok(request, token.get_secret_value() if token else None):
        body["reason"] = reason
    return web.json_response(body, status=503, headers={"Retry-After": "1"})
