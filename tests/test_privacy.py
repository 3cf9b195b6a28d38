"""What the logs may say about a person (nothing that identifies them) and how much an attacker
can make them say (one line a minute)."""

from __future__ import annotations

import logging

import pytest

from bot.privacy import Burst, OneLineBadRequests, mask, use_secret


def test_a_masked_number_keeps_none_of_its_digits_and_is_keyed() -> None:
    use_secret(b"k" * 32)
    aliya, bakyt = mask("+996555123456"), mask("+996700123456")  # same ends, other person
    assert aliya != bakyt and aliya == mask("+996555123456")
    assert not any(part in aliya for part in ("996", "56", "555"))
    use_secret(b"other-secret-0123456789abcdefghij")
    assert mask("+996555123456") != aliya  # without the secret, no one can recompute it


def test_a_burst_of_forged_calls_is_one_line_then_a_count(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr("bot.privacy.time.monotonic", lambda: now[0])
    burst = Burst(logging.getLogger("test.burst"), window=60)
    with caplog.at_level(logging.WARNING, logger="test.burst"):
        for _ in range(1000):
            burst.warning("refused a forged call")
        now[0] += 61
        burst.warning("refused a forged call")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused a forged call",
        "refused a forged call (and 999 more like it in the last 61 s)",
    ]


def test_a_request_aiohttp_cannot_parse_is_one_line_without_a_traceback() -> None:
    from aiohttp.http_exceptions import LineTooLong

    try:
        raise LineTooLong(b"X-Big", "8190", "9000")
    except LineTooLong:
        import sys

        record = logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Error handling request from %s",
            ("127.0.0.1",),
            sys.exc_info(),
        )
    assert OneLineBadRequests().filter(record)
    assert record.exc_info is None and "LineTooLong" in record.getMessage()
    assert record.levelno == logging.INFO
