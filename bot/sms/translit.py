"""Latin letters for SMS: a Cyrillic text in GSM-7 costs less than half and shows on any phone.

The letter tables are data (bot/data/translit.yaml), one per language, because the same letter
is written differently: Kyrgyz ж is "j", Russian ж is "zh". `to_latin` always returns pure
GSM-7, whatever it is given: a character with no GSM-7 form (an emoji, a Chinese character) is
dropped rather than turning the whole message into expensive UCS-2.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from bot.sms.segments import GSM_BASIC, GSM_EXTENSION

Table = dict[str, str]


@dataclass(frozen=True)
class Tables:
    letters: dict[str, Table]
    """Language -> lowercase Cyrillic letter -> Latin."""
    fallback: tuple[str, ...]
    gsm: Table
    """Look-alike punctuation and spaces -> GSM-7."""

    def for_lang(self, lang: str | None) -> Table:
        """The language's own table, completed by the fallback tables for letters it lacks."""
        merged: Table = {}
        for name in (*self.fallback[::-1], lang):
            merged.update(self.letters.get(name or "", {}))
        return merged


@cache
def tables() -> Tables:
    raw = yaml.safe_load(
        resources.files("bot.data").joinpath("translit.yaml").read_text(encoding="utf-8")
    )
    fallback = tuple(raw.pop("fallback"))
    gsm = {str(k): str(v) for k, v in raw.pop("gsm").items()}
    letters = {lang: {str(k): str(v) for k, v in table.items()} for lang, table in raw.items()}
    return Tables(letters, fallback, gsm)


@dataclass(frozen=True)
class _Compiled:
    """A language's table as str.translate maps, so the per-letter loop runs in C."""

    title: dict[int, str]
    """Lowercase letters and capitals ("Ж" -> "Zh"), plus the GSM punctuation map."""
    shout: dict[int, str]
    """Capitals inside an all-caps word ("ЖКХ" -> "ZHKKH")."""
    caps: re.Pattern[str]
    """Runs of two or more capitals that have a table entry."""


@cache
def _compiled(lang: str | None) -> _Compiled:
    title: dict[int, str] = {ord(k): v for k, v in tables().gsm.items()}
    shout: dict[int, str] = {}
    for letter, latin in tables().for_lang(lang).items():
        title[ord(letter)] = latin
        capital = letter.upper()
        if capital != letter:
            title[ord(capital)] = latin[:1].upper() + latin[1:]
            shout[ord(capital)] = latin.upper()
    capitals = "".join(re.escape(chr(c)) for c in sorted(shout))
    return _Compiled(title, shout, re.compile(f"[{capitals}]{{2,}}"))


@cache
def _gsm_map() -> dict[int, str]:
    return {ord(k): v for k, v in tables().gsm.items()}


_NOT_GSM = re.compile(
    "[^" + "".join(re.escape(c) for c in sorted(GSM_BASIC | GSM_EXTENSION)) + "]"
)


def normalise(text: str) -> str:
    """Smart quotes, long dashes, odd spaces -> their GSM-7 forms; everything else untouched."""
    return text.translate(_gsm_map())


def to_latin(text: str, lang: str | None) -> str:
    """The text in Latin letters, GSM-7 only. `lang` picks the table (ky, ru, tg; others: ru)."""
    table = _compiled(lang)
    text = unicodedata.normalize("NFC", text)
    # "ЖКХ" -> "ZHKKH" but "Жумуш" -> "Jumush": a capital among capitals stays all-caps
    text = table.caps.sub(lambda m: m.group().translate(table.shout), text)
    text = text.translate(table.title)
    if _NOT_GSM.search(text):
        text = _NOT_GSM.sub(lambda m: _gsm_fallback(m.group()), text)
        text = re.sub(r"(?<=\S)  +(?=\S)", " ", text)  # the gap a dropped emoji leaves
    return text


@cache
def _gsm_fallback(ch: str) -> str:
    """Accented Latin -> its base letter (ç -> c); anything with no GSM-7 form -> dropped."""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return "".join(c for c in base if c in GSM_BASIC or c in GSM_EXTENSION)


def for_script(text: str, lang: str | None, script: str) -> str:
    """What a person on SMS is sent: Latin (pure GSM-7) or the text's own letters."""
    return to_latin(text, lang) if script == "lat" else normalise(text)
