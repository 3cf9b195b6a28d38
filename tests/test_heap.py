"""The start-up heap out of the collector's sight (bot/heap.py), as a long-running server
needs it: long-lived objects frozen, and an old content version still collected after a reload."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot import heap


class Version:
    """Content holds cycles (articles and their index point at each other)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test run keeps its usual collector


def test_what_start_up_loaded_is_frozen_and_what_comes_later_is_still_collected() -> None:
    loaded = Version()
    heap.settle()
    assert gc.get_freeze_count() > 0
    kept = weakref.ref(loaded)
    later = Version()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None  # made after start-up: collected as always
    assert kept() is loaded


def test_after_a_reload_the_old_content_version_is_collected_and_the_new_one_frozen() -> None:
    old = Version()
    heap.settle()
    was = weakref.ref(old)
    del old
    gc.collect()
    assert was() is not None  # frozen: a full collection does not even look at it
    new = Version()
    heap.resettle()
    assert was() is None
    assert gc.get_freeze_count() > 0
    assert new.me is new
