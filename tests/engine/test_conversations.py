"""Runs the conversation scripts in tests/conversations/*.yaml against the shipped content.

A script is written for staff to read: what the person sends, what the bot must show. Keys of a
step: `user` (typed text), `press` (a button / digit), `command`; then the checks `shows` (the
kind of the last reply), `article`, `says` (text that must appear), `offers` (option labels that
must appear), `lang` and `node` (where the session is afterwards). A story may set `at` (the
time, for the hotline's opening hours) and `session` (what the bot remembers at the start).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine import Engine, Inbound, Session

HERE = Path(__file__).parent.parent / "conversations"
STORIES = [
    (path.stem, story)
    for path in sorted(HERE.glob("*.yaml"))
    for story in yaml.safe_load(path.read_text(encoding="utf-8"))
]
DEFAULT_TIME = "2026-11-24T10:00+05:00"  # a Tuesday morning in Dushanbe: the hotline is open


def inbound(step: dict[str, Any]) -> Inbound:
    if "user" in step:
        return Inbound(text=str(step["user"]), lang_hint=step.get("lang_hint"))
    if "press" in step:
        return Inbound(choice=str(step["press"]))
    return Inbound(command=step["command"], arg=step.get("arg"), lang_hint=step.get("lang_hint"))


@pytest.mark.parametrize(
    "story", [s for _, s in STORIES], ids=[f"{f}: {s['story']}" for f, s in STORIES]
)
def test_conversation_script(engine: Engine, story: dict[str, Any]) -> None:
    session = Session(**story.get("session", {}))
    now = dt.datetime.fromisoformat(story.get("at", DEFAULT_TIME)).timestamp()
    for number, step in enumerate(story["steps"], 1):
        where = f"step {number} ({step})"
        turn = engine.handle(session, inbound(step), now=now)
        session = Session() if turn.effects.forget else turn.session
        last = turn.replies[-1]
        text = "\n".join(r.text + (f"\n{r.hint}" if r.hint else "") for r in turn.replies)
        if "shows" in step:
            assert [r.kind for r in turn.replies][-1] == step["shows"], where
        if "article" in step:
            assert last.article == step["article"], f"{where}: got {last.article} / {last.kind}"
        for fragment in _list(step.get("says")):
            assert fragment in text, f"{where}: {fragment!r} not in {text!r}"
        labels = [o.label for r in turn.replies for o in r.options]
        for label in _list(step.get("offers")):
            assert label in labels, f"{where}: {label!r} not in {labels}"
        if "lang" in step:
            assert session.lang == step["lang"], where
        if "node" in step:
            assert session.node == step["node"], where
        if "forgets" in step:
            assert turn.effects.forget is step["forgets"], where


def _list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
