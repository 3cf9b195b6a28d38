"""What an operator's log collector receives: one line per event, no one's number in it."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, TextFormatter, scrub


def record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("bot.sms", logging.ERROR, __file__, 1, msg, args, info)


def failure() -> ValueError:
    try:
        raise ValueError("no session for\nthis message")
    except ValueError as exc:
        return exc


def test_a_json_line_has_the_fields_and_the_traceback_stays_on_it() -> None:
    line = JsonFormatter().format(record("turn failed for %s", "web", exc=failure()))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.sms"
    assert entry["msg"] == "turn failed for web"
    assert entry["ts"].endswith("Z") and "T" in entry["ts"]
    assert "Traceback" in entry["exc"] and "ValueError" in entry["exc"]


def test_a_text_line_is_one_line_with_the_error_and_where_it_happened() -> None:
    line = TextFormatter().format(record("line one\nline two", exc=failure()))
    assert "\n" not in line
    assert "bot.sms: line one ⏎ line two [ValueError: no session for ⏎ this message at " in line
    full = TextFormatter(full_tracebacks=True).format(record("x", exc=failure()))
    assert "\n" not in full and "Traceback (most recent call last)" in full


def test_a_phone_number_or_bot_token_that_slipped_into_a_message_is_not_written() -> None:
    text = scrub(
        "Twilio refused +996 555 123-456 via /bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x"
    )
    assert "555" not in text and "AAHdq" not in text
    assert "<token>" in text and "#" in text
    assert scrub("update 123456789 took 0.25 s") == "update 123456789 took 0.25 s"
    same = JsonFormatter().format(record("from %s", "+996555123456"))
    assert "996555" not in same
