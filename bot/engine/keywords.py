"""Words a person may send alone instead of a command, in the four languages and in Latin.

Kept as data: adding a word is one line. Matching ignores case, punctuation and the special
Kyrgyz/Tajik letters (which many phones cannot type), see `fold`.
"""

from __future__ import annotations

import re
import unicodedata

from bot.engine.types import Command

_FOLD = str.maketrans("ңөүғӣқӯҳҷёәі", "ноугикухчеаи")

KEYWORDS: dict[Command, tuple[str, ...]] = {
    "menu": (
        "menu",
        "menyu",
        "meny",
        "меню",
        "main",
        "home",
        "башкы",
        "башына",
        "bashky",
        "асосӣ",
        "asosi",
        "старт",
        "00",
    ),
    "back": ("back", "назад", "nazad", "артка", "artka", "ақиб", "aqib", "ortga"),
    "language": (
        "lang",
        "language",
        "til",
        "тил",
        "язык",
        "yazyk",
        "jazyk",
        "забон",
        "zabon",
        "tili",
    ),
    "help": (
        "help",
        "info",
        "помощь",
        "pomosh",
        "pomoshch",
        "справка",
        "жардам",
        "jardam",
        "ёрдам",
        "yordam",
        "кӯмак",
        "komak",
        "kumak",
        "?",
    ),
    "operator": ("operator", "оператор", "operatorga", "оператору", "человек", "human"),
    "more": (
        "more",
        "ещё",
        "еще",
        "eshe",
        "eshche",
        "esche",
        "дагы",
        "dagy",
        "дагыда",
        "боз",
        "boz",
        "давом",
        "davom",
        "next",
        "далее",
    ),
    "forget": ("forget", "delete", "удалить", "udalit", "өчүрүү", "очуруу"),
    "start": ("start", "/start", "begin", "начать"),
}

_LOOKUP: dict[str, Command] = {}


def fold(text: str) -> str:
    """Lowercase, without accents, punctuation or the letters old phones cannot type."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    return re.sub(r"[^\w?]+", " ", text).strip()


for _command, _words in KEYWORDS.items():
    for _word in _words:
        _LOOKUP[fold(_word)] = _command


def keyword(text: str) -> Command | None:
    """The command a single-word message stands for, if any."""
    word = fold(text)
    if not word or " " in word:
        return None
    return _LOOKUP.get(word) or _LOOKUP.get(word.lstrip("/"))


LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "ky": ("кыргызча", "кыргыз", "кыргыз тили", "kyrgyz", "kyrgyzcha", "kirgiz", "qirgiz", "ky"),
    "ru": (
        "русский",
        "русча",
        "орусча",
        "rus",
        "russian",
        "russkiy",
        "russkij",
        "русский язык",
        "ru",
        "по-русски",
        "po russki",
    ),
    "tg": (
        "тоҷикӣ",
        "тоджики",
        "таджикский",
        "тожикче",
        "tajik",
        "tojiki",
        "tojik",
        "тоҷик",
        "tg",
        "забони тоҷикӣ",
    ),
    "en": ("english", "англ", "английский", "англисче", "eng", "en", "inglizi"),
}
_LANG_LOOKUP = {fold(w): lang for lang, words in LANGUAGE_WORDS.items() for w in words}


def language_named(text: str) -> str | None:
    """'Русский', 'tojiki', 'English' -> the language code; anything else -> None."""
    return _LANG_LOOKUP.get(fold(text))
