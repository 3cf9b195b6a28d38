"""The web chat: one static page and one JSON endpoint, a thin translation to the engine."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from redis.exceptions import RedisError

from bot.engine import Inbound, Reply
from bot.engine.types import COMMANDS
from bot.store.base import SessionKey

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


async def index(request: web.Request) -> web.Response:
    page = resources.files("bot.web").joinpath("static/index.html").read_text(encoding="utf-8")
    return web.Response(
        text=page,
        content_type="text/html",
        headers={
            "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


PER_PERSON = (30, 60)
"""Messages per browser per minute: more than anyone types or taps."""
PER_ADDRESS = (1200, 60)
"""Requests per network address per minute: a flood guard. Behind a reverse proxy every
visitor shares the proxy's address, so this one is generous."""


async def chat(request: web.Request) -> web.Response:
    from bot.app import CONVERSATIONS

    try:
        data = await request.json()
        req = ChatRequest.model_validate(data)
    except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
        detail = _first_error(exc)
        return web.json_response({"error": f"bad request: {detail}"}, status=400)
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


async def _allowed(request: web.Request, user: str) -> bool:
    from bot.app import STORE

    store = request.app[STORE]
    try:
        return await store.allow("web-user", user, *PER_PERSON) and await store.allow(
            "web-addr", request.remote or "?", *PER_ADDRESS
        )
    except (RedisError, OSError):
        return True  # without Redis nothing can be counted; answering matters more


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        return f"{where}: {err['msg']}"
    return re.sub(r"\s+", " ", str(exc))[:200] or "expected a JSON object"


def setup(app: web.Application) -> None:
    from bot.app import CHANNELS

    app[CHANNELS].append("web chat")
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
