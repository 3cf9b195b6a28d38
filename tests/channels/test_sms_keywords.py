"""One-word SMS commands in the four languages and in Latin letters."""

from __future__ import annotations

import pytest

from bot.channels.sms.keywords import WORDS, sms_word
from bot.engine.keywords import fold, keyword


@pytest.mark.parametrize(
    ("text", "word"),
    [
        # STOP: English (Twilio's list), Russian, Kyrgyz, Tajik, and their Latin spellings
        ("STOP", "stop"),
        ("stop.", "stop"),
        ("Unsubscribe", "stop"),
        ("QUIT", "stop"),
        ("СТОП", "stop"),
        ("отписаться", "stop"),
        ("otpisatsya", "stop"),
        ("Токтот", "stop"),
        ("toktot", "stop"),
        ("бас", "stop"),
        ("қатъ", "stop"),
        # START and the carriers' other opt-in words
        ("START", "start"),
        ("unstop", "start"),
        ("старт", "start"),
        ("баштоо", "start"),
        ("оғоз", "start"),
        ("ogoz", "start"),
        ("YES", "yes"),
        # the script
        ("LAT", "lat"),
        ("латиница", "lat"),
        ("латынча", "lat"),
        ("лотинӣ", "lat"),
        ("lotini", "lat"),
        ("KIR", "cyr"),
        ("кириллица", "cyr"),
        ("кирилча", "cyr"),
        ("кириллӣ", "cyr"),
        # a person, and "more" as our own Russian table spells it
        ("адам", "operator"),
        ("одам", "operator"),
        ("eshchyo", "more"),
    ],
)
def test_sms_words_in_every_language(text: str, word: str) -> None:
    assert sms_word(text) == word


@pytest.mark.parametrize(
    "text",
    ["stop the deportation", "please stop", "", "   ", "стоп стоп", "1", "patent", "😀"],
)
def test_only_a_message_of_one_word_is_a_keyword(text: str) -> None:
    assert sms_word(text) is None


@pytest.mark.parametrize(
    ("text", "command"),
    [
        # the engine's words, which reach it unchanged from SMS
        ("MENU", "menu"),
        ("меню", "menu"),
        ("башкы", "menu"),
        ("асосӣ", "menu"),
        ("LANG", "language"),
        ("тил", "language"),
        ("язык", "language"),
        ("забон", "language"),
        ("HELP", "help"),
        ("INFO", "help"),
        ("жардам", "help"),
        ("помощь", "help"),
        ("ёрдам", "help"),
        ("MORE", "more"),
        ("дагы", "more"),
        ("ещё", "more"),
        ("боз", "more"),
        ("OPERATOR", "operator"),
        ("оператор", "operator"),
    ],
)
def test_the_engines_words_work_by_sms_too(text: str, command: str) -> None:
    assert sms_word(text) is None  # not taken by the SMS layer...
    assert keyword(text) == command  # ...so the engine gets them


def test_no_sms_word_shadows_another_or_an_engine_command() -> None:
    seen: dict[str, str] = {}
    for kind, words in WORDS.items():
        for w in words:
            assert fold(w) not in seen, f"{w} is both {seen[fold(w)]} and {kind}"
            seen[fold(w)] = kind
            engine = keyword(w)
            # the SMS layer may add spellings of an engine command, not change what one means;
            # "старт" is the engine's MENU, and START shows the menu to anyone who has a language
            assert engine in (None, kind) or (w, engine) == ("старт", "menu"), (w, engine)
