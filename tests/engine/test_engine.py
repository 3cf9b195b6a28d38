"""Properties of the engine that the conversation scripts cannot show."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bot.engine import Engine, Inbound, Session
from bot.engine.engine import MAX_TEXT, clean
from bot.settings import REPO_ROOT


def test_the_engine_imports_no_channel_library() -> None:
    code = (
        "import sys, bot.engine, bot.conversations; "
        "print([m for m in ('telegram', 'twilio', 'aiohttp') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_session_survives_a_json_round_trip_and_ignores_unknown_fields() -> None:
    session = Session(lang="tg", node="documents", trail=["main"], suggestions=["entry-ban"])
    data = json.loads(json.dumps(session.to_dict()))
    data["added_by_a_newer_version"] = True
    assert Session.from_dict(data) == session


def test_a_huge_message_costs_no_more_than_a_short_one(engine: Engine) -> None:
    huge = "помогите " * 1_200_000  # about 10 MB
    started = time.perf_counter()
    turn = engine.handle(Session(lang="ru", node="main"), Inbound(text=huge))
    assert time.perf_counter() - started < 0.5
    assert turn.replies
    assert len(clean(huge)) <= MAX_TEXT


def test_control_characters_and_odd_spaces_are_cleaned() -> None:
    assert clean("\x00 патент\u00a0\u200b\tкак\n\nоплатить \x07") == "патент как оплатить"


def test_the_engine_does_not_change_the_session_it_was_given(engine: Engine) -> None:
    before = Session(lang="en", node="main", trail=[])
    snapshot = before.to_dict()
    engine.handle(before, Inbound(choice="2"))
    assert before.to_dict() == snapshot


def test_every_reply_is_in_the_language_of_the_session(engine: Engine) -> None:
    for lang in ("ky", "ru", "tg", "en"):
        session = Session(lang=lang, node="main")
        for step in ("1", "2", "0", "8", "0", "9"):
            turn = engine.handle(session, Inbound(choice=step))
            assert all(r.lang == lang for r in turn.replies if r.kind != "languages")
            session = turn.session


def test_every_menu_option_on_every_screen_leads_somewhere(engine: Engine) -> None:
    """Walk the whole dialog in every language: no dead end, no crash, no empty text."""
    for lang in ("ky", "ru", "tg", "en"):
        seen: set[str] = set()
        todo = [Session(lang=lang, node=engine.dialog.start)]
        while todo:
            session = todo.pop()
            if session.node in seen:
                continue
            seen.add(session.node or "")
            menu = engine.dialog.menu(session.node)
            for n in range(len(menu.options) if menu else 0):
                turn = engine.handle(session, Inbound(choice=str(n + 1)))
                assert all(r.text.strip() for r in turn.replies)
                assert turn.replies[-1].options, "every screen offers a way on"
                if engine.dialog.menu(turn.session.node):
                    todo.append(turn.session)
        assert {"main", "documents", "trouble"} <= seen


def test_thanks_in_the_middle_of_a_conversation_gets_a_friendly_word_not_a_decline(
    engine: Engine,
) -> None:
    s = Session(lang="ru", node="@article", article="work-patent")
    turn = engine.handle(s, Inbound(text="спасибо большое!"))
    assert [r.kind for r in turn.replies] == ["smalltalk"]
    assert turn.session.article == "work-patent"  # still where they were


def test_a_greeting_gets_hello_and_the_menu(engine: Engine) -> None:
    turn = engine.handle(Session(lang="tg", node="main"), Inbound(text="Ассалому алейкум"))
    assert turn.replies[-1].kind == "menu" and "Салом" in turn.replies[-1].text
