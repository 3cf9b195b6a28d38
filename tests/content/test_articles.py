"""Articles people can rely on: every number has a source, reviews are honest, one word for one
thing. Each test is a staff member's edit and the line `safar check` shows them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot import LANGUAGES
from bot.content.claims import backed, is_backed, numbers
from bot.content.load import load_content
from bot.content.models import ArticleFile
from bot.settings import REPO_ROOT

HERE = Path(__file__).parent
REGISTRATION = "knowledge/registration.yaml"


def make_root(tmp_path: Path) -> Path:
    """The minimal valid content: two articles, no facts, every language reviewed."""
    root = tmp_path / "content"
    shutil.copytree(HERE / "minimal", root)
    shutil.copytree(REPO_ROOT / "locales", root / "locales", ignore=shutil.ignore_patterns("*.mo"))
    return root


def edit(root: Path, path: str, old: str, new: str) -> None:
    file = root / path
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def warnings(root: Path) -> list[str]:
    result = load_content(root)
    assert result.errors == []
    return [str(p) for p in result.warnings]


def line_of(root: Path, path: str, needle: str) -> int:
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def assert_warned_at(root: Path, needle: str, message: str) -> None:
    """`safar check` prints `message` at the line of registration.yaml that holds `needle`."""
    line = line_of(root, REGISTRATION, needle)
    assert f"{REGISTRATION}:{line}: warning: {message}" in warnings(root)


def with_glossary(tmp_path: Path) -> Path:
    root = make_root(tmp_path)
    shutil.copy(REPO_ROOT / "knowledge" / "glossary.yaml", root / "knowledge" / "glossary.yaml")
    return root


SOURCED = """facts:
  - claim: "Kyrgyz Embassy in Moscow hotline: +7 925 115 50 47."
    source: "24.kg"
    url: "https://24.kg"
    date: "26.03.2024"
    ref: "facts.md §12.1"
related: []"""


def test_a_phone_number_without_a_source_is_named_at_its_line(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root, REGISTRATION, '"Registration (en). {hotline}"', '"Call +7 925 115 50 47. {hotline}"'
    )
    assert_warned_at(
        root,
        "+7 925 115 50 47",
        "en > text: '+7 925 115 50 47' has no source: add a fact with this number to 'facts:' "
        "(claim, source, date), or remove it from the text",
    )


def test_a_fact_with_its_source_backs_the_number_in_every_language(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root, REGISTRATION, '"Registration (en). {hotline}"', '"Call +7 925 115 50 47. {hotline}"'
    )
    edit(root, REGISTRATION, '"Регистрация (ru). {hotline}"', '"Звоните +79251155047. {hotline}"')
    edit(root, REGISTRATION, "related: []", SOURCED)
    assert not [w for w in warnings(root) if "has no source" in w]


def test_a_block_text_names_the_line_inside_the_block(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root,
        REGISTRATION,
        '  text: "Registration (en). {hotline}"',
        "  text: |\n    1. Go to the office.\n    2. Pay 3,000 roubles.\n\n    {hotline}",
    )
    line = line_of(root, REGISTRATION, "3,000 roubles")
    found = [w for w in warnings(root) if "has no source" in w]
    assert found == [
        f"{REGISTRATION}:{line}: warning: en > text: '3,000' has no source: add a fact with this "
        "number to 'facts:' (claim, source, date), or remove it from the text"
    ], "the step numbers 1. and 2. are not facts"


def test_pending_reviews_make_one_warning_per_article(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root,
        REGISTRATION,
        "review: {ky: 2026-11-01, ru: 2026-11-01, tg: 2026-11-01, en: 2026-11-01}",
        "review: {ky: pending, ru: 2026-11-01, tg: pending, en: 2026-11-01}",
    )
    found = [w for w in warnings(root) if w.startswith(REGISTRATION) and "review" in w]
    assert found == [
        f"{REGISTRATION}:26: warning: review pending for ky, tg: write the date of the review "
        "instead of 'pending' once a native speaker has read them"
    ]


def test_a_language_left_out_of_the_review_counts_as_pending(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(root, REGISTRATION, "ky: 2026-11-01, ", "")
    found = [w for w in warnings(root) if "review pending" in w]
    assert found == [
        f"{REGISTRATION}:26: warning: review pending for ky: write the date of the review "
        "instead of 'pending' once a native speaker has read it"
    ]


def test_an_article_without_a_review_state_is_told_how_to_add_one(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root,
        REGISTRATION,
        "review: {ky: 2026-11-01, ru: 2026-11-01, tg: 2026-11-01, en: 2026-11-01}\n",
        "",
    )
    found = [w for w in warnings(root) if "no review state" in w]
    assert f"{REGISTRATION}:1: warning: no review state per language: add 'review: " in found[0]


def test_a_review_must_be_a_date_or_pending(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(root, REGISTRATION, "{ky: 2026-11-01,", "{ky: yes,")
    result = load_content(root)
    assert result.content is None
    line = line_of(root, REGISTRATION, "review:")
    assert any(p.path == REGISTRATION and p.line == line for p in result.errors)


def test_a_glossary_variant_is_named_at_its_line(tmp_path: Path) -> None:
    root = with_glossary(tmp_path)
    edit(root, REGISTRATION, '"Регистрация (ru). {hotline}"', '"Идите в милицию. {hotline}"')
    assert_warned_at(
        root,
        "милицию",
        "ru > text: 'милицию' is a variant of 'полиция' (police): write 'полиция' (one word "
        "for one thing, see knowledge/glossary.yaml)",
    )


def test_the_glossary_does_not_flag_a_different_word_that_starts_alike(tmp_path: Path) -> None:
    root = with_glossary(tmp_path)
    edit(root, REGISTRATION, '"Бақайдгирӣ (tg). {hotline}"', '"Полиси суғурта лозим. {hotline}"')
    assert not [w for w in warnings(root) if "variant of" in w], "полиси (a policy) is not полис"


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("10,000 roubles", ["10000"]),
        ("10 000 рублей", ["10000"]),
        ("+7 (495) 967-98-44", ["74959679844"]),
        ("1,5% or 1.5%", ["1.5", "1.5"]),
        ("Mon-Fri 10:00-17:00", ["10:00", "17:00"]),
        ("see mos.ru/item/26869073", []),
        ("112ге чалыңыз", ["112"]),
    ],
)
def test_numbers_are_compared_as_numbers_not_as_text(text: str, values: list[str]) -> None:
    assert [n.value for n in numbers(text)] == values


def test_a_date_is_backed_by_a_claim_that_writes_it_out() -> None:
    (date,) = numbers("since 01.01.2026")
    assert is_backed(date, backed(["Computer-based since 1 Jan 2026."]))


def shipped() -> list[Path]:
    skip = {"hotlines.yaml", "urgent.yaml", "glossary.yaml"}
    return [p for p in sorted((REPO_ROOT / "knowledge").glob("*.yaml")) if p.name not in skip]


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.stem)
def test_every_shipped_article_has_four_languages_and_a_review_state(path: Path) -> None:
    article = ArticleFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert article.review is not None
    assert set(article.review) == set(LANGUAGES)
    assert article.review["ky"] == "pending", "no native speaker has reviewed the Kyrgyz text yet"
    assert article.review["tg"] == "pending", "no native speaker has reviewed the Tajik text yet"
    for lang in LANGUAGES:
        block = article.lang(lang)
        assert block.title and block.text and block.sms and block.keywords


def test_the_shipped_articles_have_no_unsourced_number_and_no_glossary_variant() -> None:
    result = load_content(REPO_ROOT)
    assert result.content is not None
    bad = [str(p) for p in result.warnings if "has no source" in p.message]
    bad += [str(p) for p in result.warnings if "is a variant of" in p.message]
    assert bad == []


def test_a_missing_child_has_an_article_reachable_from_the_trouble_menu() -> None:
    result = load_content(REPO_ROOT)
    assert result.content is not None
    article = result.content.articles["missing-person"]
    assert "112" in article.lang("ru").text and "8-800-2000-122" in article.lang("tg").text
    trouble = result.content.dialog.menu("trouble")
    assert trouble is not None
    assert "missing-person" in [o.article for o in trouble.options]
