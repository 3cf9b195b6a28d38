"""What an article claims, and whether a source backs it.

People in danger act on the numbers in an article: a phone to call, a deadline, a fine. So every
number in an article's text must appear in one of its `facts:` (a claim with its source), and
`safar check` names each number that none does. The comparison is on numbers, not words, so one
English claim backs the same number in all four languages ("10,000" and "10 000" are one number).

The glossary keeps one word for one thing in each language: a reader who sees "полиция" in one
article and "милиция" in the next may think they are two different offices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_URL = re.compile(r"\S+\.(?:ru|kg|tj|kz|org|com|net|int|uk|gov|info|media)(?:/\S*)?", re.I)
_STEP = re.compile(r"^(\s*)\d{1,2}[.)](?=\s)", re.M)
"""'1. Go to the police': the step number of a list is not a fact."""
_TOKEN = re.compile(
    r"(?<![\w/.:])(?<!\w-)(?:"
    r"(?P<time>\d{1,2}:\d{2})"
    r"|(?P<date>\d{1,2}\.\d{1,2}\.\d{4})"
    r"|(?P<num>\+?\(?\d(?:[\d ()\-]*\d)?)(?P<frac>(?:[.,]\d+)+)?"
    r")"
)
_THOUSANDS = re.compile(r"(\d) (\d{3})(?!\d)")


@dataclass(frozen=True)
class Number:
    value: str
    """Normalised: '+7 966 031-22-22' -> '79660312222', '10 000' -> '10000', '1,5' -> '1.5'."""
    raw: str
    """As written, so a warning can quote it and find its line."""


def numbers(text: str) -> Iterator[Number]:
    """Every number in `text` that states a fact: phones, sums, days, years, article numbers."""
    text = _URL.sub(lambda m: " " * len(m.group()), text)
    text = re.sub(r"(\d:\d\d)-(?=\d)", "\\1–", text)  # 10:00-17:00 is two times
    text = _STEP.sub(lambda m: m.group(1) + " " * (len(m.group()) - len(m.group(1))), text)
    for match in _TOKEN.finditer(text):
        if match.group("time"):
            hours, minutes = match.group("time").split(":")
            yield Number(f"{int(hours)}:{minutes}", match.group())
        elif match.group("date"):
            day, month, year = match.group("date").split(".")
            yield Number(f"{int(day)}.{int(month)}.{year}", match.group())
        else:
            yield from _plain(match.group("num"), match.group("frac") or "")


def _plain(num: str, frac: str) -> Iterator[Number]:
    digits = re.sub(r"\D", "", num)
    raw = (num + frac).strip("() ")
    if num.startswith("+") or (len(digits) >= 7 and not frac):
        yield Number(digits, raw)  # a phone number, or a long sum written with spaces
        return
    parts = [p for p in re.split(r"[ ()\-]+", _THOUSANDS.sub(r"\1\2", num)) if p]
    groups = [g for g in re.split(r"[.,]", frac) if g]
    if groups and all(len(g) == 3 for g in groups):
        parts[-1] += "".join(groups)  # "10,000" and "1.000.000": thousands
        groups = []
    for i, part in enumerate(parts):
        value = str(int(part))
        if groups and i == len(parts) - 1:
            value += "." + ".".join(groups)  # "8.5", "1,5", "127.2"
        yield Number(value, part if len(parts) > 1 else raw)


def backed(claims: Iterable[str]) -> set[str]:
    """The numbers the article's sourced claims state."""
    return {n.value for claim in claims for n in numbers(claim)}


def is_backed(number: Number, values: set[str]) -> bool:
    if number.value in values:
        return True
    if number.value.count(".") == 2:  # 01.01.2026 is backed by a claim "1 Jan 2026"
        day, _, year = number.value.split(".")
        return day in values and year in values
    return False


def term_pattern(variant: str) -> re.Pattern[str]:
    """A glossary variant as a pattern: 'милиция*' matches any ending, 'полис' only the word."""
    stem = variant.rstrip("*")
    tail = r"\w*" if variant.endswith("*") else r"(?!\w)"
    words = r"\s+".join(re.escape(w) for w in stem.split())
    return re.compile(rf"(?<!\w){words}{tail}", re.I)


def find_line(lines: list[str], start: int, needle: str | Number) -> int:
    """The 1-based line at or after `start` that holds `needle` (a word, or a number compared
    as a number, so '1' is not found in '1. Go'); `start` when none does (a folded YAML text
    can spread one word over two lines)."""
    for i in range(max(start - 1, 0), len(lines)):
        if isinstance(needle, Number):
            if any(n.value == needle.value for n in numbers(lines[i].strip())):
                return i + 1
        elif needle.casefold() in lines[i].casefold():
            return i + 1
    return start
