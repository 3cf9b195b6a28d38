"""Keep people's identifiers out of logs: a phone number or chat id is never logged whole."""

from __future__ import annotations

import logging


def mask(identifier: object) -> str:
    """'+996555123456' -> '+99*******56', '123456789' -> '*******89'."""
    text = str(identifier)
    if len(text) <= 4:
        return "*" * len(text)
    head = text[:3] if text.startswith("+") else ""
    return head + "*" * (len(text) - len(head) - 2) + text[-2:]


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # httpx logs every request URL, and a Telegram URL contains the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
