"""Log lines: one line per event, as text for a terminal or JSON for a log collector.

`SAFAR_LOG_FORMAT=json` gives one JSON object per line with the fields `ts` (UTC, ISO 8601),
`level`, `logger` and `msg`, plus `exc` when an exception is attached; text gives
`HH:MM:SS LEVEL logger: msg`. A line never spans two: a collector that splits on newlines
would otherwise take a traceback's lines for events of their own. Text mode shortens a
traceback to its last frame (`SAFAR_LOG_LEVEL=DEBUG` keeps it whole, on the same line).

People's identifiers are kept out of the messages where they are written (`bot.privacy.mask`);
`Scrub` is the net behind that: a phone number in international form or a Telegram bot token
that slipped into a message or a library's exception is replaced before the line is written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import traceback

from bot.privacy import mask

PHONE = re.compile(r"(?<![\w+])\+\d[\d\s().-]{6,18}\d(?!\d)")
"""+996 555 123 456, +7(912)345-67-89: international numbers, as Twilio and people write them."""
BOT_TOKEN = re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}")
"""A Telegram bot token (it is part of every Bot API URL)."""


def scrub(text: str) -> str:
    text = BOT_TOKEN.sub("<token>", text)
    return PHONE.sub(lambda m: mask(re.sub(r"[^\d+]", "", m.group())), text)


def _one_line(text: str) -> str:
    return text.replace("\r", "").replace("\n", " ⏎ ")


class TextFormatter(logging.Formatter):
    def __init__(self, full_tracebacks: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        self.full = full_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        exc = _exception(record, full=self.full)
        return scrub(_one_line(f"{line} [{exc}]" if exc else line))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, object] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        exc = _exception(record, full=True)
        if exc:
            entry["exc"] = scrub(exc)
        return json.dumps(entry, ensure_ascii=False)


def _exception(record: logging.LogRecord, *, full: bool) -> str:
    """The attached exception: the whole traceback, or its type, message and last frame."""
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        if full:
            return "".join(traceback.format_exception(exc)).rstrip()
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        return f"{type(exc).__name__}: {exc}{where}"
    return record.exc_text or ""


def configure(level: str, fmt: str = "text") -> None:
    """Called once by `safar serve`: the root logger writes one line per event to stderr."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(full_tracebacks=level == "DEBUG"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
