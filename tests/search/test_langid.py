"""The reply language: the bot answers in the language a person writes in."""

from __future__ import annotations

import pytest

from bot.content.load import Content
from bot.search import SearchIndex


@pytest.fixture(scope="module")
def index(content: Content) -> SearchIndex:
    return content.search


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # native script
        ("Не выплатили зарплату, что делать?", "ru"),
        ("Эмгек акымды төлөшкөн жок", "ky"),
        ("Шиносномаи ман дуздида шуд", "tg"),
        ("My passport was stolen", "en"),
        # Kyrgyz and Tajik without their special letters, on a Russian keyboard
        ("Паспортум жоголуп калды эмне кылам", "ky"),
        ("Кыргыз жарандарына патент керекпи", "ky"),
        ("патент чи тавр гирифтан мумкин", "tg"),
        ("Барои патент кадом хуччатхо лозим аст", "tg"),
        # Latin letters: Russian, Kyrgyz and Tajik typed in them are not English
        ("kak oplatit patent", "ru"),
        ("chto delat esli poteryal pasport", "ru"),
        ("patent uchun kancha akcha toloo kerek", "ky"),
        ("pasportum jogolup kaldy", "ky"),
        ("pasportam gum shud chi kor kunam", "tg"),
        ("how much is the patent", "en"),
    ],
)
def test_the_reply_language_is_the_one_the_person_writes_in(
    index: SearchIndex, text: str, lang: str
) -> None:
    assert index.search(text).lang == lang


def test_a_clear_message_is_sure_so_the_bot_answers_without_asking(index: SearchIndex) -> None:
    for text in ("Не выплатили зарплату, что делать?", "Эмгек акымды төлөшкөн жок", "salary"):
        result = index.search(text)
        assert result.lang_sure, text


def test_a_message_with_nothing_to_go_on_is_a_guess_and_says_so(index: SearchIndex) -> None:
    # "ок" is Russian-looking Cyrillic, "qwerty" Latin: a best guess, flagged as unsure, so the
    # engine shows the language menu on first contact
    ok, qwerty, digits = index.search("ок"), index.search("qwerty"), index.search("+992 123")
    assert (ok.lang, ok.lang_sure) == ("ru", False)
    assert (qwerty.lang, qwerty.lang_sure) == ("en", False)
    assert digits.lang_sure is False


def test_a_language_the_person_chose_wins_over_the_text(index: SearchIndex) -> None:
    result = index.search("kak oplatit patent", lang="tg")
    assert (result.lang, result.lang_sure) == ("tg", True)
    assert result.answer == "work-patent"


def test_russian_words_in_kyrgyz_or_tajik_do_not_make_it_russian(index: SearchIndex) -> None:
    # code-switching: Russian nouns, Kyrgyz or Tajik grammar
    assert index.search("Работодатель зарплата бербей жатат").lang == "ky"
    assert index.search("Патент оплатить кардан лозим, чи тавр?").lang == "tg"
    # and a Russian message naming a Kyrgyz city stays Russian
    assert index.search("Я из Оша, как оплатить патент в Москве?").lang == "ru"


def test_kyrgyz_or_tajik_letters_settle_it(index: SearchIndex) -> None:
    assert index.search("өтө керек").lang == "ky"
    assert index.search("ҳа").lang == "tg"
    assert index.search("ҳа").lang_sure
