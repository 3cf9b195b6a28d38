"""Masking what people wrote before any of it is kept: the report keeps the questions the bot
could not answer, because those words are the best signal of what content is missing, but
never who asked them.

Pure and conservative: a few harmless words too many masked cost nothing, a phone number left
in would be a leak. Masked are e-mail addresses, Telegram @names, phone numbers, any run of six
or more digits (passport, patent, card and account numbers), and the one to three words after
"my name is" in the four languages, in Cyrillic and in Latin letters.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
PHONE = "[phone]"
NUMBER = "[number]"
NAME = "[name]"
HANDLE = "[user]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d \t()\-]{5,}\d(?!\w)")
_DIGITS = re.compile(r"\d{6,}")
PHONE_DIGITS = 7
"""A run of digits and separators with at least this many digits is a phone number; a date
("12.03.2024") or a price ("15 000") has fewer."""

NAME_PHRASES: tuple[str, ...] = (
    # English
    "my name is",
    "my name's",
    "i am called",
    "i'm called",
    "name:",
    # Russian, in Cyrillic and as people type it in Latin letters
    "меня зовут",
    "зовут меня",
    "моё имя",
    "мое имя",
    "моя фамилия",
    "фамилия:",
    "имя:",
    "menya zovut",
    "moe imya",
    # Kyrgyz
    "менин атым",
    "менин атым-жөнүм",
    "менин фамилиям",
    "атым",
    "аты-жөнүм",
    "menin atym",
    "atym",
    # Tajik
    "номи ман",
    "номам",
    "насаби ман",
    "nomi man",
    "nomam",
)
"""Words after which people write their name. Lower case; matched at a word start, in any case."""

_CAPITALISED = re.compile(r"[ \t]+([A-ZА-ЯЁӨҮҢҶҲҚҒӢӮ][\w'’-]*)")


def mask_text(text: str) -> str:
    """The text with personal details replaced by [email], [user], [phone], [number], [name]."""
    text = _EMAIL.sub(EMAIL, text)
    text = _HANDLE.sub(HANDLE, text)
    text = _PHONE.sub(_phone, text)
    text = _DIGITS.sub(NUMBER, text)
    return _mask_names(text)


def _phone(match: re.Match[str]) -> str:
    """Digits written the way phone numbers are: with a + or with spaces, dashes, brackets.
    A plain run of digits is left to the [number] rule (it may be a passport number)."""
    found = match.group(0)
    if sum(ch.isdigit() for ch in found) < PHONE_DIGITS or found.isdigit():
        return found
    trailing = found[len(found.rstrip(" \t-")) :]
    return PHONE + trailing


def _mask_names(text: str) -> str:
    """The two words after a name phrase whatever their case (people type names in lower case
    too, and a surname follows), and a third one that starts with a capital (a patronymic).
    Punctuation ends a name: "меня зовут Иван, я из Оша" keeps "я из Оша"."""
    out: list[str] = []
    pos = 0
    for match in _NAME_START.finditer(text):
        if match.start() < pos:
            continue
        end = match.end()
        word = _WORD.match(text, end)
        if word is None:
            continue
        stop = word.end()
        second = _NEXT_WORD.match(text, stop)
        if second is not None:
            stop = second.end()
        third = _CAPITALISED.match(text, stop)
        if third is not None:
            stop = third.end()
        out.append(text[pos:end])
        out.append(NAME)
        pos = stop
    out.append(text[pos:])
    return "".join(out)


_NAME_START = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(p) for p in sorted(NAME_PHRASES, key=len, reverse=True))
    + r")(?!\w)[\s,:—–-]*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_NEXT_WORD = re.compile(r"[ \t]+[^\W\d_][\w'’-]*")
