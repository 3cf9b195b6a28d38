"""A staff member tries the content in a terminal with `safar chat`, and leaves it."""

from __future__ import annotations

import io

import pytest

from bot.channels.console import HOW_TO_QUIT, run
from bot.engine import Engine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_chat_says_how_to_quit_and_quit_ends_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyboard = Terminal("2\n/quit\n2\n")
    monkeypatch.setattr("sys.stdin", keyboard)
    out = io.StringIO()
    run(engine, "en", keyboard, out)
    text = out.getvalue()
    assert text.startswith(HOW_TO_QUIT)
    assert text.count("> ") == 2  # the menu, one answer, then /quit: the last "2" is never read


def test_piped_input_gets_no_hint(engine: Engine) -> None:
    out = io.StringIO()
    run(engine, "en", iter(["/exit\n"]), out)
    assert HOW_TO_QUIT not in out.getvalue()
