"""The web chat: one static page and one JSON endpoint, a thin translation to the engine.

The browser id in localStorage is the only thing naming a visitor, so the endpoint takes it
only from the page itself: JSON bodies only (a cross-site form or `text/plain` POST cannot send
one without a CORS preflight we never answer), and a request another site's page makes is
refused by its Origin / Sec-Fetch-Site. Limits count per browser and per network address, the
address taken from X-Forwarded-For only when the hop before us is a trusted proxy
(SAFAR_TRUSTED_PROXIES); when Redis is slow or down they are counted in this process instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.engine import Inbound, Reply
from bot.engine.types import COMMANDS
from bot.store.base import SessionKey, StoreUnavailable

USER_ID = r"^[A-Za-z0-9_-]{8,64}$"


class ChatRequest(BaseModel):
    user: str = Field(pattern=USER_ID)
    text: str = Field("", max_length=4000)
    choice: str | None = Field(None, pattern=r"^\d{1,2}$")
    command: Literal[COMMANDS] | None = None  # type: ignore[valid-type]
    lang_hint: str | None = Field(None, max_length=16)


def reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "kind": reply.kind,
        "text": reply.text,
        "lang": reply.lang,
        "title": reply.title,
        "article": reply.article,
        "hint": reply.hint,
        "options": [{"key": o.key, "label": o.label} for o in reply.options],
    }


STATIC = resources.files("bot.web").joinpath("static")


async def index(request: web.Request) -> web.Response:
    # the security headers (a CSP without unsafe-inline) are added to every response: bot/guard
    page = STATIC.joinpath("index.html").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html")


PER_PERSON = (30, 60)
"""Messages per browser per minute: more than anyone types or taps."""
PER_ADDRESS = (120, 60)
"""Requests per network address per minute, however many browser ids it sends: four busy
people behind one home router or phone network address. With a reverse proxy, set
SAFAR_TRUSTED_PROXIES, or every visitor shares the proxy's address and this one limit."""
LIMIT_WAIT = 0.5
"""Seconds the limits may wait for Redis before they are counted in this process instead."""
MAX_DEPTH = 32
"""Deeper JSON than this is refused before parsing: ours is two levels deep."""


async def chat(request: web.Request) -> web.Response:
    from bot.app import CONVERSATIONS

    if request.content_type != "application/json":
        return _error("send JSON: Content-Type must be application/json", 415)
    if not _same_origin(request):
        return _error("forbidden: the chat answers its own page only", 403)
    try:
        req = ChatRequest.model_validate(await _json(request))
    except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
        return _error(f"bad request: {_first_error(exc)}", 400)
    if not await _allowed(request, req.user):
        return web.json_response(
            {"error": "too many messages: please wait a minute"},
            status=429,
            headers={"Retry-After": str(PER_PERSON[1])},
        )
    hint = (req.lang_hint or "")[:2].lower() or None
    inbound = Inbound(text=req.text, choice=req.choice, command=req.command, lang_hint=hint)
    turn = await request.app[CONVERSATIONS].handle(SessionKey("web", req.user), inbound)
    return web.json_response(
        {"lang": turn.session.lang, "replies": [reply_json(r) for r in turn.replies]},
        dumps=_dumps,
    )


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)  # Cyrillic as is: half the bytes


def _error(reason: str, status: int) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def _json(request: web.Request) -> Any:
    """The body as JSON, every way it can be wrong a ValueError with a short reason."""
    body = await request.read()
    charset = request.charset or "utf-8"
    try:
        text = body.decode(charset)
    except LookupError:
        raise ValueError(f"unknown charset {charset[:40]!r}") from None
    except UnicodeDecodeError:
        raise ValueError(f"the body is not valid {charset[:40]}") from None
    if _depth(text) > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _depth(text: str) -> int:
    """How deep brackets nest outside strings (a message may well contain "[[["), counted
    without recursion, before json.loads would recurse into them."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _same_origin(request: web.Request) -> bool:
    """A browser says where a request comes from; another site's page is refused. Tools that
    send neither header (curl, tests) are not browsers and hold no one else's browser id.

    Sec-Fetch-Site, where a browser sends it (all current ones do), decides alone: it needs no
    idea of our own host name, which a reverse proxy may have rewritten. Older browsers send
    only Origin, compared with the Host, PUBLIC_URL and a trusted proxy's X-Forwarded-Host."""
    from bot.app import SETTINGS

    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    settings = request.app[SETTINGS]
    hosts = {request.host.lower()}
    if settings.public_url:
        hosts.add(urlsplit(settings.public_url).netloc.lower())
    peer = _ip(request.remote or "")
    if peer is not None and _trusted(peer, settings.proxy_networks):
        hosts.update(h.strip().lower() for h in request.headers.getall("X-Forwarded-Host", []))
    return urlsplit(origin).netloc.lower() in hosts


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    """The visitor's address: the peer, or, when the peer is a trusted proxy, the last address
    in X-Forwarded-For that is not one (anything before it could be made up by the client). An
    IPv6 visitor is counted by /64, the block one home or phone gets."""
    hop = _ip(request.remote or "")
    if hop is None:
        return request.remote or "?"
    if trusted and _trusted(hop, trusted):
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        for part in reversed([p.strip() for p in forwarded.split(",") if p.strip()]):
            ip = _ip(part)
            if ip is None:
                break  # garbage: stop at the last address a trusted proxy vouched for
            hop = ip
            if not _trusted(ip, trusted):
                break
    if isinstance(hop, ipaddress.IPv6Address) and hop.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{hop}/64", strict=False))
    return str(hop.ipv4_mapped if isinstance(hop, ipaddress.IPv6Address) else hop)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: tuple[Network, ...]) -> bool:
    return any(ip in net for net in nets)


class LocalLimits:
    """The limits counted in this process, while Redis cannot count them: fixed windows like
    the store's, and a bounded table, so a flood of addresses cannot grow it without end."""

    MAX_ITEMS = 50_000

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], tuple[float, int]] = {}

    def allow(self, namespace: str, item: str, limit: int, window: int) -> bool:
        now = time.monotonic()
        if len(self._counts) >= self.MAX_ITEMS:
            self._counts = {k: v for k, v in self._counts.items() if now - v[0] < window}
            if len(self._counts) >= self.MAX_ITEMS:
                self._counts.clear()
        start, count = self._counts.get((namespace, item), (now, 0))
        if now - start >= window:
            start, count = now, 0
        self._counts[(namespace, item)] = (start, count + 1)
        return count + 1 <= limit


LOCAL = web.AppKey("web-local-limits", LocalLimits)


async def _allowed(request: web.Request, user: str) -> bool:
    from bot.app import SETTINGS, STORE

    address = client_address(request, request.app[SETTINGS].proxy_networks)
    store = request.app[STORE]
    try:
        async with asyncio.timeout(LIMIT_WAIT):
            # the address first, and always: rotating browser ids must not skip it
            by_address = await store.allow("web-addr", address, *PER_ADDRESS)
            person = SessionKey("web", user)
            return await store.allow("web-user", user, *PER_PERSON, owner=person) and by_address
    except (StoreUnavailable, TimeoutError):
        # Redis is slow or down: count here. Per process, so N replicas allow N times as
        # much, which is still a limit; answering without any would invite a flood
        local = request.app[LOCAL]
        by_address = local.allow("web-addr", address, *PER_ADDRESS)
        return local.allow("web-user", user, *PER_PERSON) and by_address


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        return f"{where}: {err['msg']}"
    return re.sub(r"\s+", " ", str(exc))[:200] or "expected a JSON object"


def setup(app: web.Application) -> None:
    from bot.app import CHANNELS

    app[CHANNELS].append("web chat")
    app[LOCAL] = LocalLimits()
    app.router.add_get("/", index)
    app.router.add_static("/static/", str(STATIC), append_version=False)
    app.router.add_post("/api/chat", chat)
