"""Words an SMS may consist of that only the SMS channel understands, in the four languages
and in Latin letters: STOP and START (the opt-out list), LAT and KIR (the script), and a few
more ways to ask for a person. Everything else (MENU, LANG, MORE, HELP...) is the engine's
(bot/engine/keywords.py). Kept as data: adding a word is one line.

Only a message that is one word counts, as with carriers' own STOP handling: "stop the
deportation" is a question, not an opt-out.
"""

from __future__ import annotations

from typing import Literal

from bot.engine.keywords import fold

Word = Literal["stop", "start", "yes", "lat", "cyr", "operator", "more"]

WORDS: dict[Word, tuple[str, ...]] = {
    # Twilio's standard opt-out words first: Twilio acts on them too, so we must as well
    "stop": (
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "optout",
        "revoke",
        "стоп",
        "отписаться",
        "отписка",
        "хватит",
        "otpisatsya",
        "otpiska",
        "khvatit",
        "hvatit",
        "токто",
        "токтот",
        "токтотуу",
        "tokto",
        "toktot",
        "toktotuu",
        "бас",
        "bas",
        "қатъ",
        "qat",
    ),
    "start": (
        "start",
        "unstop",
        "старт",
        "начать",
        "nachat",
        "баштоо",
        "башта",
        "bashta",
        "bashtoo",
        "оғоз",
        "ogoz",
        "шурӯъ",
        "shuru",
    ),
    # YES opts back in (a carrier rule) but is an ordinary answer for everyone else
    "yes": ("yes",),
    "lat": (
        "lat",
        "latin",
        "latinitsa",
        "latinica",
        "латиница",
        "латин",
        "латынча",
        "латын",
        "latyn",
        "latyncha",
        "лотинӣ",
        "lotini",
    ),
    "cyr": (
        "kir",
        "cyr",
        "kirill",
        "kirillitsa",
        "kirillica",
        "кир",
        "кириллица",
        "кирилл",
        "кирилча",
        "kirilcha",
        "кириллӣ",
        "kirilli",
    ),
    "operator": ("адам", "adam", "одам", "odam", "chelovek"),
    # "ещё" written in Latin the way our own Russian table writes it
    "more": ("eshchyo", "yeshchyo", "yeshche", "yesho", "esho"),
}

_LOOKUP: dict[str, Word] = {fold(w): kind for kind, words in WORDS.items() for w in words}


def sms_word(text: str) -> Word | None:
    """The SMS-only keyword a one-word message stands for, if any ("Stop!" -> "stop")."""
    word = fold(text)
    if not word or " " in word:
        return None
    return _LOOKUP.get(word)
