"""Phone numbers a person types for a callback: checked with `phonenumbers`, kept as E.164."""

from __future__ import annotations

import phonenumbers

REGIONS = ("RU", "KG", "TJ", "KZ")
"""Tried in this order for a number typed without a country code: where migrants are."""


def parse_phone(text: str) -> str | None:
    """'+992 918 85 34 34' or '8 925 115-50-47' -> E.164, or None if it is not a number."""
    text = text.strip()
    if not 7 <= sum(c.isdigit() for c in text) <= 15 or len(text) > 40:
        return None
    for region in (None, *REGIONS) if text.startswith("+") else REGIONS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
