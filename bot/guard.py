"""What every request passes on its way in and out, whatever route it takes.

In: the body must arrive within SAFAR_CLIENT_TIMEOUT (a client sending one byte a second holds a
connection and a buffer), the request gets its share of Redis time (SAFAR_REDIS_BUDGET), and
input that cannot be decoded (an unknown charset, bytes that are not UTF-8, JSON nested deeper
than Python recurses) is the sender's fault: 400 with a short reason, never a 500 or a
traceback. Out: the security headers of every response, and no server version.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.store.redis import redis_budget

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""No inline script or style anywhere: the page's script and style are files under /static/."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def bad_request(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def guard(client_timeout: float, budget: float) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        with redis_budget(budget):
            if request.body_exists:
                try:
                    async with asyncio.timeout(client_timeout):
                        await request.read()  # kept: .json() and .post() read it from memory
                except TimeoutError:
                    return bad_request("request body too slow", status=408)
            try:
                return await handler(request)
            except LookupError:  # codecs: "charset=bogus"
                return bad_request("bad request: unknown charset")
            except UnicodeError:
                return bad_request("bad request: text that is not valid UTF-8")
            except RecursionError:
                return bad_request("bad request: nested too deeply")

    return middleware


def hide_server_version() -> None:
    """aiohttp answers a request it cannot parse before any app sees it (so without
    `security_headers`), naming its version and Python's in `Server`: name neither."""
    from aiohttp import web_response

    web_response.SERVER_SOFTWARE = "Safar"  # type: ignore[attr-defined]


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors and 404s included."""
    headers = response.headers
    headers["Server"] = "Safar"  # aiohttp would say its version and Python's
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")  # a screen of the chat is personal


def bearer_ok(request: web.Request, token: str | None) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time; False when no token is set."""
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(
        value.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
    )
