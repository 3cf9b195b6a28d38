"""The staff preview: walk any dialog as a person on Telegram or SMS would see it.

The page holds the session (the engine's plain-data Session, sent back with every step), so
nothing is stored in Redis and nobody's real conversation is touched. Each step runs the pure
engine once and renders its replies with the channel's own renderer: Telegram's messages and
buttons (bot/channels/telegram/render.py), or the SMS body in Cyrillic and in Latin letters,
each with its encoding, segments and cost (bot/sms/render.py, bot/sms/segments.py).

Edited files can be previewed before they go live: uploaded contents (or SAFAR_PREVIEW_DIR)
are laid over a copy of the live content, validated with the same loader as a reload, and
rendered from that draft, which is never swapped in. Errors come back as `path:line: message`.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot import LANGUAGES
from bot.channels.sms.keywords import sms_word
from bot.channels.telegram.render import render, screen_token
from bot.channels.telegram.texts import COMMAND_NAMES, Texts
from bot.content.load import Content, load_content
from bot.conversations import ContentHolder, Snapshot
from bot.engine import Engine, Inbound, Session, Turn
from bot.engine.types import ARTICLE, COMMANDS, FORGET, HANDOFF, LANG_MENU, SUGGEST
from bot.sms.render import Renderer, Script
from bot.sms.segments import count

Channel = Literal["telegram", "sms"]
SCRIPTS: tuple[Script, ...] = ("cyr", "lat")
STATES = (ARTICLE, FORGET, HANDOFF, LANG_MENU, SUGGEST)
CONTENT_DIRS = ("dialogs", "knowledge", "locales")
SUFFIXES = (".yaml", ".yml", ".po", ".pot")
MAX_DRAFTS = 8
"""Drafts kept in memory (each a whole content snapshot); the oldest goes first."""
DRAFT_TTL = 2 * 3600
MAX_FILES = 50


class StepRequest(BaseModel):
    channel: Literal["telegram", "sms"]
    lang: Literal["ky", "ru", "tg", "en"]
    session: dict[str, Any] | None = None
    """The session the previous step returned; None starts a conversation in `lang`."""
    text: str = Field("", max_length=4000)
    choice: str | None = Field(None, pattern=r"^\d{1,2}$")
    command: Literal[COMMANDS] | None = None  # type: ignore[valid-type]
    draft: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{4,40}$")


class DraftRequest(BaseModel):
    files: dict[str, str] = Field(default_factory=dict)
    """File name or path under the content dir ("knowledge/work-patent.yaml") -> its text."""
    from_dir: bool = False
    """Take SAFAR_PREVIEW_DIR instead of uploaded files."""


# -- sessions from the page ----------------------------------------------------------------


def session_from(data: dict[str, Any] | None, content: Content, lang: str) -> Session:
    """The page's session, checked field by field against this content: anything odd (a node a
    draft removed, a forged value) is dropped, so the engine only ever sees a state it made."""
    fresh = Session(lang=lang)
    if not data:
        return fresh
    try:
        s = Session.from_dict(data)
    except TypeError:
        return fresh
    nodes = content.dialog.nodes
    articles = content.articles

    def node_ok(node: object) -> bool:
        return isinstance(node, str) and (node in nodes or node in STATES)

    return Session(
        lang=s.lang if s.lang in LANGUAGES else lang,
        script=s.script if s.script in SCRIPTS else None,
        node=s.node if node_ok(s.node) else None,
        trail=[n for n in s.trail if node_ok(n)][-10:] if isinstance(s.trail, list) else [],
        article=s.article if isinstance(s.article, str) and s.article in articles else None,
        page=s.page if isinstance(s.page, int) and 0 <= s.page < 1000 else 0,
        suggestions=[a for a in s.suggestions if isinstance(a, str) and a in articles][:9]
        if isinstance(s.suggestions, list)
        else [],
        turns=s.turns if isinstance(s.turns, int) else 0,
    )


def inbound_for(req: StepRequest, session: Session | None) -> Inbound:
    """What the channel would hand the engine: SMS one-word keywords (LAT, KIR, MORE...) and
    Telegram's /commands are understood here as the channels do."""
    if session is None:
        return Inbound(command="start")
    if req.command is not None or req.choice is not None:
        return Inbound(text=req.text, choice=req.choice, command=req.command)
    text = req.text.strip()
    if req.channel == "telegram" and text.startswith("/"):
        name = text[1:].split("@")[0].split(" ")[0].lower()
        for command in COMMAND_NAMES:
            if command == name:
                return Inbound(command=command)
    if req.channel == "sms":
        word = sms_word(text)
        if word in ("lat", "cyr"):
            return Inbound(command="script", arg=word)
        if word == "operator":
            return Inbound(command="operator")
        if word in ("more", "start"):
            return Inbound(command=word)
    return Inbound(text=req.text)


# -- rendering -----------------------------------------------------------------------------


def telegram_messages(snapshot: Snapshot, turn: Turn) -> list[dict[str, Any]]:
    """Each reply as the Telegram messages it becomes: HTML text, and buttons on the last."""
    texts = Texts(ContentHolder(snapshot.content))
    token = screen_token(turn.session)
    out: list[dict[str, Any]] = []
    for reply in turn.replies:
        hint = texts.language_hint(reply.lang) if reply.hint else None
        for chunk in render(reply, token, hint):
            rows = []
            if chunk.markup is not None:
                for row in chunk.markup.inline_keyboard:
                    rows.append(
                        [
                            {"label": b.text, "key": str(b.callback_data).partition(":")[2]}
                            for b in row
                        ]
                    )
            out.append({"kind": reply.kind, "html": chunk.html, "buttons": rows})
    return out


def sms_message(
    content: Content, turn: Turn, budget: int, price: float, default_script: Script
) -> dict[str, Any]:
    """The one SMS answering a turn, in both scripts, each with what it costs."""
    renderer = Renderer(content.catalogs, budget)
    scripts: dict[str, Any] = {}
    for script in SCRIPTS:
        body = renderer.body(turn, script)
        seg = count(body)
        scripts[script] = {
            "text": body,
            "encoding": seg.encoding,
            "units": seg.units,
            "segments": seg.segments,
            "cost": round(seg.segments * price, 4),
            "over_budget": seg.segments > budget,
        }
    keys = [o.key for r in turn.replies for o in r.options]
    return {
        "scripts": scripts,
        "script": turn.session.script or default_script,
        "keys": list(dict.fromkeys(keys)),
    }


def step(
    snapshot: Snapshot,
    req: StepRequest,
    *,
    budget: int,
    price: float,
    default_script: Script,
    now: float | None = None,
) -> dict[str, Any]:
    """One step of the preview: the engine's turn, rendered for the chosen channel."""
    content = snapshot.content
    session = session_from(req.session, content, req.lang) if req.session is not None else None
    inbound = inbound_for(req, session)
    turn = snapshot.engine.handle(session or Session(lang=req.lang), inbound, now=now)
    body: dict[str, Any] = {
        "session": turn.session.to_dict(),
        "version": content.version,
        "handoff": turn.effects.handoff,
    }
    if req.channel == "telegram":
        body["messages"] = telegram_messages(snapshot, turn)
    else:
        body["sms"] = sms_message(content, turn, budget, price, default_script)
    return body


# -- drafts --------------------------------------------------------------------------------


class DraftError(ValueError):
    """An upload that cannot be placed (a path outside the content, an unknown file type)."""


def place(name: str, live_root: Path) -> str:
    """Where an uploaded file goes: a path under the content dir as given, or, for a bare file
    name from a browser, the live file of that name (else a new article in knowledge/)."""
    name = name.replace("\\", "/").strip()
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DraftError(f"{name}: give a path under the content folder, like knowledge/x.yaml")
    if path.suffix not in SUFFIXES:
        raise DraftError(f"{name}: only .yaml and .po files are content")
    if len(path.parts) == 1:
        if path.suffix in (".po", ".pot"):
            raise DraftError(f"{name}: give the path, like locales/ky/LC_MESSAGES/messages.po")
        for folder in ("dialogs", "knowledge"):
            if (live_root / folder / path.name).is_file():
                return f"{folder}/{path.name}"
        return f"knowledge/{path.name}"
    if path.parts[0] not in CONTENT_DIRS:
        raise DraftError(f"{name}: content lives in dialogs/, knowledge/ or locales/")
    return str(path)


def build_draft(live_root: Path, files: dict[str, str]) -> tuple[Content | None, list[str]]:
    """The live content with `files` laid over it, loaded as a reload would; blocking, so the
    server runs it in a thread. Returns the content (None if it has errors) and every problem
    as `path:line: message`, paths relative to the content folder."""
    with tempfile.TemporaryDirectory(prefix="safar-draft-") as tmp:
        root = Path(tmp)
        for folder in CONTENT_DIRS:
            if (live_root / folder).is_dir():
                shutil.copytree(live_root / folder, root / folder)
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        result = load_content(root)
    return result.content, [str(p) for p in result.problems]


@dataclass
class Draft:
    snapshot: Snapshot
    created: float
    files: tuple[str, ...]


class Drafts:
    """Draft snapshots by id, in this process's memory: a preview, never the live content."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Draft] = OrderedDict()

    def add(self, content: Content, files: tuple[str, ...]) -> str:
        self._expire()
        draft_id = secrets.token_urlsafe(9)
        self._items[draft_id] = Draft(Snapshot(content, Engine(content)), time.time(), files)
        while len(self._items) > MAX_DRAFTS:
            self._items.popitem(last=False)
        return draft_id

    def get(self, draft_id: str) -> Draft | None:
        self._expire()
        return self._items.get(draft_id)

    def _expire(self) -> None:
        cutoff = time.time() - DRAFT_TTL
        for key in [k for k, d in self._items.items() if d.created < cutoff]:
            del self._items[key]


# -- handlers ------------------------------------------------------------------------------

DRAFTS = web.AppKey("staff_drafts", Drafts)


async def turn_handler(request: web.Request) -> web.Response:
    from bot.app import CONTENT, SETTINGS

    try:
        req = StepRequest.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return web.json_response({"error": f"bad request: {_first(exc)}"}, status=400)
    snapshot = request.app[CONTENT].current
    if req.draft is not None:
        draft = request.app[DRAFTS].get(req.draft)
        if draft is None:
            return web.json_response(
                {"error": "this draft has expired: upload the files again"}, status=404
            )
        snapshot = draft.snapshot
    settings = request.app[SETTINGS]
    body = step(
        snapshot,
        req,
        budget=settings.sms_segment_budget,
        price=settings.sms_price_per_segment,
        default_script=settings.sms_script,
    )
    body["draft"] = req.draft
    return web.json_response(body, dumps=_dumps)


async def draft_handler(request: web.Request) -> web.Response:
    from bot.app import CONTENT, SETTINGS

    try:
        req = DraftRequest.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return web.json_response({"error": f"bad request: {_first(exc)}"}, status=400)
    settings = request.app[SETTINGS]
    live_root = request.app[CONTENT].current.content.root
    if req.from_dir:
        if settings.preview_dir is None:
            return web.json_response(
                {"error": "SAFAR_PREVIEW_DIR is not set: upload the files instead"}, status=400
            )
        result = await asyncio.to_thread(load_content, settings.preview_dir)
        content, problems = result.content, [str(p) for p in result.problems]
        names: tuple[str, ...] = (str(settings.preview_dir),)
    else:
        if not req.files or len(req.files) > MAX_FILES:
            return web.json_response(
                {"error": f"send 1 to {MAX_FILES} files as {{name: text}}"}, status=400
            )
        try:
            placed = {place(name, live_root): text for name, text in req.files.items()}
        except DraftError as exc:
            return web.json_response({"error": str(exc), "problems": [str(exc)]}, status=400)
        content, problems = await asyncio.to_thread(build_draft, live_root, placed)
        names = tuple(sorted(placed))
    if content is None:
        return web.json_response({"ok": False, "files": names, "problems": problems}, status=422)
    draft_id = request.app[DRAFTS].add(content, names)
    return web.json_response(
        {
            "ok": True,
            "draft": draft_id,
            "version": content.version,
            "files": names,
            "problems": problems,
        },
        dumps=_dumps,
    )


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
    return str(exc)[:200] or "expected a JSON object"


def _dumps(data: object) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)
