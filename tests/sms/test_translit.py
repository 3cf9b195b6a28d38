"""Latin letters for basic phones: one table per language, and always pure GSM-7 out."""

from __future__ import annotations

import pytest

from bot.sms.segments import count, is_gsm
from bot.sms.translit import for_script, normalise, tables, to_latin

ALPHABETS = {
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "ky": "абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя",
    "tg": "абвгғдеёжзиӣйкқлмнопрстуӯфхҳчҷшъэюя",
}


@pytest.mark.parametrize("lang", sorted(ALPHABETS))
def test_every_letter_of_the_alphabet_has_a_gsm7_spelling(lang: str) -> None:
    table = tables().letters[lang]
    missing = [ch for ch in ALPHABETS[lang] if ch not in table]
    assert not missing, f"{lang} table lacks {missing}"
    assert all(is_gsm(latin) for latin in table.values())


def test_the_punctuation_table_maps_to_gsm7_only() -> None:
    assert all(is_gsm(out) for out in tables().gsm.values())


@pytest.mark.parametrize(
    ("lang", "cyrillic", "latin"),
    [
        ("ru", "Где получить патент?", "Gde poluchit patent?"),
        ("ru", "Жильё и работа: ЖКХ", "Zhilyo i rabota: ZHKKH"),
        ("ru", "Щит, объявление, Юрист", "Shchit, obyavlenie, Yurist"),
        ("ky", "Жардам керек, өлкөгө кайтуу", "Jardam kerek, ölkögö kaytuu"),
        ("ky", "Саламатсызбы! Теманы тандаңыз", "Salamatsyzby! Temany tandangyz"),
        ("tg", "Ҷумҳурии Тоҷикистон", "Jumhurii Tojikiston"),
        ("tg", "Ҳуқуқи муҳоҷирон ва маълумот", "Huquqi muhojiron va ma'lumot"),
        ("tg", "Ғамхорӣ ва кӯмак", "Ghamkhori va kumak"),
    ],
)
def test_each_language_is_written_the_way_its_speakers_write_it(
    lang: str, cyrillic: str, latin: str
) -> None:
    assert to_latin(cyrillic, lang) == latin
    assert is_gsm(latin)


def test_the_same_letter_differs_by_language() -> None:
    assert to_latin("жол", "ky") == "jol"
    assert to_latin("жол", "ru") == "zhol"
    assert to_latin("хат", "tg") == "khat"
    assert to_latin("ҳат", "tg") == "hat"


def test_english_text_with_a_cyrillic_word_still_comes_out_latin() -> None:
    assert to_latin("Language / Тил / Язык / Забон", "en") == "Language / Til / Yazyk / Zabon"
    assert to_latin("Тоҷикӣ", None) == "Tojiki"


def test_look_alike_punctuation_and_spaces_become_gsm7() -> None:
    text = "«Патент» — “дорого”… 10\u00a0000\u202f₽ №5 it’s\u200b ok"
    assert to_latin(text, "ru") == '"Patent" - "dorogo"... 10 000 rub No5 it\'s ok'
    # in Cyrillic the letters stay, only the punctuation and spaces change
    assert normalise("«Патент» — да") == '"Патент" - да'


@pytest.mark.parametrize(
    "junk",
    ["😀 привет 👋🏽", "中文 text", "مرحبا salom", "café naïve Straße", "tab\there", "ẞ Ǆ ﬁ"],
)
def test_latin_output_is_always_pure_gsm7(junk: str) -> None:
    out = to_latin(junk, "ru")
    assert is_gsm(out), out
    assert count(out).encoding == "GSM-7"


def test_accents_are_kept_when_gsm7_has_them_and_dropped_when_not() -> None:
    assert to_latin("café crème", "en") == "café crème"  # é and è are GSM-7
    assert to_latin("naïve façade", "en") == "naive facade"


def test_for_script_picks_the_persons_script() -> None:
    assert for_script("Меню — «1»", "ru", "lat") == 'Menyu - "1"'
    assert for_script("Меню — «1»", "ru", "cyr") == 'Меню - "1"'


def test_latin_costs_less_than_half_of_cyrillic() -> None:
    text = "Патент: подайте документы в течение 30 дней после въезда. " * 3
    assert count(text).segments == 3
    assert count(to_latin(text, "ru")).segments == 2
