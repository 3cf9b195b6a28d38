"""The garbage collector in a server that holds its content for hours.

A running process holds a few hundred thousand objects that live as long as it does: the
content, the search index, python-telegram-bot's handlers. Each full collection walked them
all with the event loop stopped: 60-70 ms at a time, measured with `gc.callbacks` in a Telegram
process at 100 updates/s, where they made most of the webhook's slowest acknowledgements.
`gc.freeze()` puts what exists at start-up out of the collector's sight; it still collects
everything made afterwards, and reference counting frees the rest as before.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Once everything long-lived is loaded: collect what start-up left, freeze the rest."""
    gc.collect()
    gc.freeze()


def resettle() -> None:
    """After a new content version is swapped in: the old one's cycles are collected (one
    full collection, as before each one was) and the new one is frozen in its place."""
    gc.unfreeze()
    settle()
