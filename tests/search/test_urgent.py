"""A person in danger is recognised however they write, and so is one who asks for a person.

The messages are in tests/search/urgent.yaml, written the way migrants write (long, mixed
languages, Latin letters, no special letters, digits for letters, capitals, typos); the phrases
that catch them are data staff edit in knowledge/urgent.yaml, and a broken edit there is
reported with its file and line, like every other content error.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import LANGUAGES
from bot.content.load import Content, load_content
from bot.engine import Engine
from bot.engine.types import Inbound, Session
from bot.search.urgent import Urgent, UrgentDetector
from tests.conftest import SHARED
from tests.content.test_broken import make_root

SET: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "urgent.yaml").read_text(encoding="utf-8")
)
URGENT, NEAR = SET["urgent"], SET["near_miss"]
PERSON, PERSON_NEAR = SET["person"], SET["person_near_miss"]


def name(case: dict[str, Any]) -> str:
    return f"{case['lang']}-{case.get('category', '')}-{case['q'][:40]}"


@pytest.fixture(scope="module")
def detector(content: Content) -> UrgentDetector:
    return content.urgent


@pytest.fixture(scope="module")
def articles(detector: UrgentDetector) -> dict[str, str]:
    """category -> the urgent article it leads to."""
    return {cat.name: cat.article for cat in detector.categories}


# -- the test set itself ---------------------------------------------------------------------


def test_the_set_covers_every_danger_in_every_language(articles: dict[str, str]) -> None:
    assert len(URGENT) >= 100 and len(NEAR) >= 40
    assert len(PERSON) >= 30 and len(PERSON_NEAR) >= 20
    per_lang = Counter(c["lang"] for c in URGENT)
    assert all(per_lang[lang] >= 20 for lang in LANGUAGES), per_lang
    assert {c["category"] for c in URGENT} == set(articles)
    assert {"trafficking", "police-detention", "migrant-women", "missing-person"} <= set(
        articles.values()
    )


# -- a person in danger ----------------------------------------------------------------------


@pytest.mark.parametrize("case", URGENT, ids=name)
def test_a_message_about_a_danger_reaches_its_urgent_article(
    detector: UrgentDetector, articles: dict[str, str], case: dict[str, Any]
) -> None:
    found = detector.detect(case["q"])
    assert found is not None, "not recognised as urgent"
    assert found.article == articles[case["category"]], found


@pytest.mark.parametrize("case", NEAR, ids=name)
def test_an_ordinary_question_is_not_an_alarm(
    detector: UrgentDetector, case: dict[str, Any]
) -> None:
    assert detector.detect(case["q"]) is None


def test_the_detector_says_what_it_found_and_why(detector: UrgentDetector) -> None:
    found = detector.detect("Здравствуйте, работодатель забрал паспорт и не отдаёт")
    assert found is not None
    assert (found.category, found.article, found.lang) == ("passport_taken", "trafficking", "ru")
    assert "паспорт" in found.phrase  # the phrase as staff wrote it, for the operator alert
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.article = "hotline"  # type: ignore[misc]


def test_a_longer_phrase_wins_over_a_shorter_one(detector: UrgentDetector) -> None:
    """The police taking a passport is detention, though an employer taking it is not."""
    found = detector.detect("полиция забрала паспорт")
    assert found is not None and found.category == "detention"


def test_a_lost_passport_is_not_a_missing_child(detector: UrgentDetector) -> None:
    assert detector.detect("сын потерял паспорт") is None
    found = detector.detect("сын пропал, паспорт у меня")
    assert found is not None and found.article == "missing-person"


def test_no_question_of_the_search_sets_raises_a_false_alarm(detector: UrgentDetector) -> None:
    """Hundreds of ordinary questions, written by others for the search: an alarm is allowed
    only where the question's own topic is the urgent article."""
    sets = [Path(__file__).parent / "questions.yaml", SHARED / "eval" / "dev.yaml"]
    questions = [q for f in sets if f.exists() for q in yaml.safe_load(f.read_text("utf-8"))]
    assert len(questions) > 500
    alarms = [
        (q["q"], found.category)
        for q in questions
        if (found := detector.detect(q["q"])) is not None and found.article not in q["topics"]
    ]
    assert alarms == []


# -- a person who asks for a person ----------------------------------------------------------


@pytest.mark.parametrize("case", PERSON, ids=name)
def test_asking_for_a_person_is_recognised(detector: UrgentDetector, case: dict[str, Any]) -> None:
    assert detector.wants_person(case["q"])


@pytest.mark.parametrize("case", PERSON_NEAR, ids=name)
def test_a_mobile_operator_or_human_rights_is_not_a_request_for_a_person(
    detector: UrgentDetector, case: dict[str, Any]
) -> None:
    assert not detector.wants_person(case["q"])


# -- speed: it runs before everything else, on every message ---------------------------------


def test_it_costs_a_fraction_of_a_millisecond(content: Content) -> None:
    detector = content.urgent
    messages = [c["q"] for part in SET.values() for c in part]
    for text in messages:  # the words of the language are soon all seen
        detector.detect(text)
    best = float("inf")
    for _ in range(5):  # CPU time: other processes on the machine must not fail the test
        start = time.process_time()
        for text in messages:
            detector.detect(text)
        best = min(best, (time.process_time() - start) / len(messages))
    assert best < 0.0002, f"{best * 1e3:.3f} ms per message"
    fresh = UrgentDetector(detector.categories, None, folder=detector.folder)
    long_text = " ".join(messages)[:1000]
    start = time.process_time()
    fresh.detect(long_text)  # nothing remembered yet
    assert time.process_time() - start < 0.02


# -- through the engine: the urgent article, never an ordinary one ---------------------------


@pytest.mark.parametrize("case", URGENT, ids=name)
def test_the_engine_answers_danger_with_the_urgent_article(
    content: Content, articles: dict[str, str], case: dict[str, Any]
) -> None:
    turn = Engine(content).handle(Session(lang=case["lang"], node="main"), Inbound(text=case["q"]))
    shown = [r.article for r in turn.replies if r.article is not None]
    urgent = set(articles.values())
    assert any(a in urgent for a in shown), [r.kind for r in turn.replies]
    assert all(a in urgent for a in shown), shown


# -- staff editing knowledge/urgent.yaml -----------------------------------------------------

GOOD = """\
categories:
  papers_taken:
    article: registration
    ky: ["паспорт тартып"]
    ru: ["отобрал* паспорт"]
    tg: ["шиноснома гирифт*"]
    en: ["took passport"]
person:
  ky: ["оператор*"]
  ru: ["оператор*"]
  tg: ["оператор*"]
  en: ["operator*"]
"""


def load(tmp_path: Path, text: str | None) -> tuple[Content | None, list[str], list[str]]:
    root = make_root(tmp_path)
    if text is not None:
        (root / "knowledge" / "urgent.yaml").write_text(text, encoding="utf-8")
    result = load_content(root)
    return result.content, [str(p) for p in result.errors], [str(p) for p in result.warnings]


def test_a_staff_phrase_works_in_every_spelling(tmp_path: Path) -> None:
    content, errors, _ = load(tmp_path, GOOD)
    assert errors == [] and content is not None
    for text in ("У меня отобрали паспорт", "OTOBRALI PASPORT", "hozyain otobral moy pasport"):
        assert content.urgent.detect(text) == Urgent(
            "papers_taken", "registration", "отобрал* паспорт", "ru"
        )
    assert content.urgent.wants_person("операторго кошуп койчу")
    assert content.urgent.detect("как продлить паспорт") is None


def test_without_the_file_nothing_is_urgent_and_staff_are_told(tmp_path: Path) -> None:
    content, errors, warnings = load(tmp_path, None)
    assert errors == [] and content is not None
    assert content.urgent.detect("муж бьет меня") is None
    assert (
        "knowledge/urgent.yaml:1: warning: urgent.yaml is missing: urgent situations and "
        "requests for a person are not recognised; add the file (see the shipped "
        "knowledge/urgent.yaml)"
    ) in warnings


BROKEN = [
    (
        "an article id with a typo",
        GOOD.replace("article: registration", "article: registraton"),
        [
            "knowledge/urgent.yaml:3: categories > papers_taken: article 'registraton' does not "
            "exist (did you mean 'registration'?): use the file name of an article in knowledge/ "
            "without .yaml"
        ],
    ),
    (
        "a misspelt field of a category",
        GOOD.replace("article:", "artcle:"),
        [
            "knowledge/urgent.yaml:3: categories > papers_taken: unknown field 'artcle' (did you "
            "mean 'article'?): remove it or fix its name",
            "knowledge/urgent.yaml:2: categories > papers_taken: 'article' is missing: add the id "
            "of the article to answer with",
        ],
    ),
    (
        "a language the bot does not speak",
        GOOD.replace(
            '    en: ["took passport"]\n', '    en: ["took passport"]\n    uz: ["pasport"]\n'
        ),
        [
            "knowledge/urgent.yaml:8: categories > papers_taken: 'uz' is not a language of the "
            "bot: use ky, ru, tg or en"
        ],
    ),
    (
        "an empty list of phrases",
        GOOD.replace('tg: ["шиноснома гирифт*"]', "tg: []"),
        [
            "knowledge/urgent.yaml:6: categories > papers_taken > tg: the list is empty: add at "
            "least one phrase"
        ],
    ),
    (
        "a language left out",
        GOOD.replace('    tg: ["шиноснома гирифт*"]\n', ""),
        [
            "knowledge/urgent.yaml:2: categories > papers_taken: no Тоҷикӣ (tg) phrases: add "
            "'tg: [...]': a message must be understood in every language"
        ],
    ),
    (
        "a phrase with an empty alternative",
        GOOD.replace('"отобрал* паспорт"', '"отобрал*// паспорт"'),
        [
            "knowledge/urgent.yaml:5: categories > papers_taken > ru > phrase 1: 'отобрал*//' "
            "has an empty or unreadable word: write letters between '/'"
        ],
    ),
    (
        "a request for a person with no phrases",
        GOOD.replace('  ru: ["оператор*"]\n', "  ru: []\n"),
        ["knowledge/urgent.yaml:10: person > ru: the list is empty: add at least one phrase"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_edit_is_reported_with_file_line_and_fix(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    content, errors, _ = load(tmp_path, text)
    assert sorted(errors) == sorted(expected)
    assert content is None, "broken content must never become live"
