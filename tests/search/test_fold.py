"""Folding: every way a person may type a word ends up as one key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.search.fold import DataError, Folder, default_folder, script_of, squeeze


@pytest.fixture(scope="module")
def folder() -> Folder:
    return default_folder()


@pytest.mark.parametrize(
    "spellings",
    [
        # Russian in Cyrillic and in the Latin spellings people use
        ["паспорт", "pasport", "passport", "ПАСПОРТ"],
        ["регистрация", "registraciya", "registratsiya", "registraciia"],
        ["жумуш", "jumush", "zhumush", "dzhumush"],
        # Kyrgyz typed on a Russian keyboard: ң ө ү -> н о у
        ["төлөө", "толоо", "toloo", "tölöö", "tolo"],
        ["кеңеш", "кенеш", "kenesh", "keñesh"],
        # Tajik typed on a Russian keyboard: ғ ӣ қ ӯ ҳ ҷ -> г и к у х ч, or in Latin letters
        ["ҳуҷҷат", "хуҷҷат", "hujat", "xujjat", "khujjat"],
        ["қонунӣ", "конуни", "qonuni", "qonunī"],
        ["шиноснома", "shinosnoma", "šinosnoma"],
        # ы, и, й and y are one letter: "kyrgyz", "кыргыз", "kirgiz"
        ["кыргыз", "kyrgyz", "kirgiz"],
        # a Latin o or a in a Cyrillic word (look-alike letters from a mixed keyboard)
        ["полиция", "пoлиция", "policiya", "politsiya"],
    ],
)
def test_the_ways_people_type_a_word_fold_to_one_key(folder: Folder, spellings: list[str]) -> None:
    keys = {squeeze(folder.fold(s)) for s in spellings}
    assert len(keys) == 1, keys


def test_words_are_letters_only_and_punctuation_and_digits_split_them(folder: Folder) -> None:
    assert folder.keys("Патент: 10 000 руб/мес!!! (Москва)") == ["patent", "rub", "mes", "moskva"]
    assert folder.keys("") == []
    assert folder.keys("🙂 ... 123 +7 495") == []


def test_greetings_and_question_words_carry_no_topic(folder: Folder) -> None:
    assert folder.content(folder.keys("Салам, кандайсың? Как дела? Салом, чӣ хел шумо?")) == []
    assert folder.content(folder.keys("hello, thank you, ok")) == []
    # the topic words stay: what the person asks about
    assert folder.content(folder.keys("Салам, патент кантип алам?")) == ["patent"]


@pytest.mark.parametrize(
    ("forms", "lang"),
    [
        (["патент", "патента", "патенту", "патентом"], "ru"),
        (["зарплата", "зарплату", "зарплаты"], "ru"),
        (["каттоо", "каттоону", "каттоого", "каттоодо"], "ky"),
        (["мигрант", "мигранттар", "мигранттарга", "мигранттардын"], "ky"),
        (["ҳуҷҷат", "ҳуҷҷатҳо", "ҳуҷҷатҳоро", "ҳуҷҷатҳоям"], "tg"),
        (["муҳоҷир", "муҳоҷирон", "муҳоҷиронро"], "tg"),
        (["payment", "payments"], "en"),
    ],
)
def test_inflected_forms_share_a_stem(folder: Folder, forms: list[str], lang: str) -> None:
    stems = {folder.stem(folder.fold(f), lang) for f in forms}
    assert len(stems) == 1, stems


def test_tajik_verb_prefixes_go_with_the_ending(folder: Folder) -> None:
    # "they do not let out" / "they let out" / "he lets out": one verb
    forms = ["намебароранд", "мебароранд", "мебарорад"]
    assert len({folder.stem(folder.fold(f), "tg") for f in forms}) == 1
    # меҳнат (labour) starts like a verb but is none: its forms still meet
    assert len({folder.stem(folder.fold(f), "tg") for f in ["меҳнат", "меҳнати", "меҳнатӣ"]}) == 1


def test_tajik_typed_on_a_russian_keyboard_meets_the_article_word(folder: Folder) -> None:
    # ҷ typed as ч (хуҷҷат -> хучат): the search tries the word both ways
    assert squeeze(folder.fold("ҳуҷҷат")) in folder.stems(folder.fold("хучат"))


def test_a_stem_keeps_enough_of_the_word(folder: Folder) -> None:
    # stripping "-ент" or "-т" would make патент meet паспорт's neighbours
    assert folder.stem("patent", "ru") == "patent"
    assert folder.stem("pasport", "ky") == "pasport"


def test_synonyms_from_the_data_reach_the_article_word(folder: Folder) -> None:
    targets = {t for t, _ in folder.synonyms[squeeze(folder.fold("милиция"))]}
    assert folder.fold("полиция") in targets


def test_script_is_the_majority_of_letters() -> None:
    assert script_of("kak oplatit patent") == "lat"
    assert script_of("Как оплатить patent") == "cyr"
    assert script_of("123 ???") == ""


def test_a_broken_data_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "fold.yaml"
    bad.write_text("letters: [a, b]\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fold\.yaml"):
        Folder.from_files(bad)
    bad.write_text("letters: {ab: c}\n", encoding="utf-8")
    with pytest.raises(DataError, match="single letters"):
        Folder.from_files(bad)
    bad.write_text("letters: {a: b}\nspellings: {'(': x}\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a valid pattern"):
        Folder.from_files(bad)
    good = tmp_path / "good.yaml"
    good.write_text("letters: {a: a}\n", encoding="utf-8")
    words = tmp_path / "words.yaml"
    words.write_text("ru: {stopwords: это}\n", encoding="utf-8")
    with pytest.raises(DataError, match="stopwords must be a list"):
        Folder.from_files(good, words)
    words.write_text("ru: {passes: many}\n", encoding="utf-8")
    with pytest.raises(DataError, match="passes must be a number"):
        Folder.from_files(good, words)
    words.write_text(": : :\n", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read"):
        Folder.from_files(good, words)


def test_an_edited_data_file_is_read_again_on_the_next_build() -> None:
    first = default_folder()
    assert default_folder() is first  # unchanged files: the same tables, no re-reading
    from bot.search import fold

    stamp = next(iter(fold._LOADED))
    fold._LOADED.clear()
    fold._LOADED[(stamp[0] - 1, stamp[1])] = first  # as if the file had been saved since
    assert default_folder() is not first


# -- digits for letters, small talk and senses, as data (issue 9) ---------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("4to delat", "что делать"),  # Russian: 4 = ч
        ("kan4a", "канча"),  # Kyrgyz
        ("i6ke baruu", "ишке баруу"),  # 6 = ш
        ("gor9chei linii", "горячей линии"),  # 9 = я
        ("4i kor kunam", "чи кор кунам"),  # Tajik
    ],
)
def test_a_digit_typed_for_a_letter_reads_as_the_letter(
    folder: Folder, typed: str, meant: str
) -> None:
    assert folder.query_keys(typed) == folder.keys(meant)


def test_numbers_stay_numbers_and_english_digit_words_are_words(folder: Folder) -> None:
    # a number is never read as letters, and a digit no language lists still splits a word
    assert folder.query_keys("15 дней, 2023-жылы, +7 495") == folder.keys("дней жылы")
    assert folder.query_keys("leaving b4 monday") == folder.keys("leaving before monday")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Салам, кандайсыз?", "greeting"),
        ("Салом бародар, корҳо нағз?", "greeting"),
        ("privet kak dela", "greeting"),
        ("Благодарю за помощь", "thanks"),
        ("Рахмат сизге", "thanks"),
        ("tashakkur ako", "thanks"),
        ("Ден соолугуңуз чың болсун", "wish"),
        ("Иди шумо муборак", "wish"),
        ("have a nice day", "wish"),
        ("Кош болуңуз", "bye"),
        ("Худо ҳофиз", "bye"),
        ("see you later", "bye"),
    ],
)
def test_small_talk_is_recognised_by_its_kind(folder: Folder, text: str, kind: str) -> None:
    assert folder.smalltalk(folder.query_keys(text)) == kind


def test_a_question_after_a_greeting_is_not_small_talk(folder: Folder) -> None:
    assert folder.smalltalk(folder.query_keys("Салам, паспортумду жоготуп алдым")) is None
    assert folder.smalltalk(folder.query_keys("Спасибо, а как оплатить патент?")) is None
    # "помощь" alone is a topic word, not a thank-you
    assert folder.smalltalk(folder.query_keys("нужна помощь")) is None


def test_words_that_mean_another_subject_together_are_read_as_it(folder: Folder) -> None:
    keys, offtopic = folder.read_senses(folder.content(folder.query_keys("Курс доллара какой")))
    assert offtopic == 2 and "kurs" not in keys
    keys, offtopic = folder.read_senses(folder.content(folder.query_keys("полис ДМС где купить")))
    assert offtopic == 0 and "strahovka" in keys
    # alone, the same word keeps its ordinary reading
    keys, offtopic = folder.read_senses(folder.content(folder.query_keys("онлайн курс")))
    assert offtopic == 0 and "kurs" in keys
    assert folder.is_offtopic("pogoda") and not folder.is_offtopic("patent")


def test_a_slang_word_finds_its_synonym_in_other_forms_too(folder: Folder) -> None:
    # ксива is in the data; ксиву reaches it through the stem
    assert folder.synonyms.get(folder.stem(folder.fold("ксиву"), "ru"))


def test_a_broken_digits_or_senses_file_names_itself(tmp_path: Path) -> None:
    from bot.search import fold

    digits = tmp_path / "digits.yaml"
    digits.write_text("ru:\n  letters: {x: ч}\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape("ru > letters: keys must be digits")):
        Folder.from_files(digits=digits)
    senses = tmp_path / "senses.yaml"
    senses.write_text("- {words: [курс]}\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape("senses.yaml: sense 1 needs")):
        Folder.from_files(senses=senses)
    assert fold.SENSES_FILE.exists()
