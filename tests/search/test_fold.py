"""Folding: every way a person may type a word ends up as one key."""

from __future__ import annotations

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
