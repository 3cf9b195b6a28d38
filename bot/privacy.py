"""Keep people's identifiers out of logs, and keep the logs readable under attack.

A phone number or chat id is never logged, not even in part: `mask` gives a short keyed
pseudonym instead (HMAC with SAFAR_SECRET, see `use_secret`), so one person's lines can be
followed through a log without anyone learning who they are. A burst of forged webhook calls
is one line a minute (`Burst`), not one per request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time

_secret = secrets.token_bytes(32)
"""Until `use_secret` is called (tools, tests): a random key; pseudonyms still reveal nothing."""


def use_secret(secret: bytes) -> None:
    """Key the log pseudonyms with SAFAR_SECRET: the same person gets the same one in every
    process and after a restart (called when the app starts)."""
    global _secret
    _secret = secret


def mask(identifier: object) -> str:
    """'+996555123456' -> '#3fa27c09e1': the same for the same number, nothing of its digits."""
    text = str(identifier).strip()
    digest = hmac.new(_secret, b"log:" + text.encode(), hashlib.sha256).hexdigest()
    return "#" + digest[:10]


class Burst:
    """One warning per `window` seconds for a kind of event that comes in floods (forged
    webhook calls): the first is logged at once, the others are counted and reported in the
    next line, so a flood cannot fill the disk or hide other lines."""

    def __init__(self, logger: logging.Logger, window: float = 60.0) -> None:
        self.logger = logger
        self.window = window
        self._last = -window
        self._suppressed = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.window:
            self._suppressed += 1
            return
        if self._suppressed:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, self._suppressed, now - self._last)
        self._last, self._suppressed = now, 0
        self.logger.warning(message, *args)


class OneLineBadRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (a header over 8 KB, garbage on the port) with
    a full traceback; that is the client's fault and worth one line, not thirty."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            reason = str(getattr(exc, "message", "") or type(exc).__name__)
            record.msg = "bad request refused (%s %s): %s"
            record.args = (getattr(exc, "code", 400), type(exc).__name__, reason[:120])
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_bad_requests() -> None:
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, OneLineBadRequests) for f in server.filters):
        server.addFilter(OneLineBadRequests())


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # httpx logs every request URL, and a Telegram URL contains the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    quiet_bad_requests()
