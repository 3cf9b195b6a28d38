"""The release targets, guarded: the search must answer the evaluation questions well enough."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.content.load import Content
from bot.search.evaluate import TARGETS, evaluate, load_questions, print_report, shortfalls
from bot.settings import REPO_ROOT

DEV = REPO_ROOT.parent / "shared" / "eval" / "dev.yaml"
OURS = Path(__file__).parent / "questions.yaml"
SECOND = Path(__file__).parent / "questions-2.yaml"
STYLES = {
    "long",
    "mixed",
    "digits",
    "caps",
    "slang",
    "twotopic",
    "collide",
    "offtopic",
    "smalltalk",
}


def _report(content: Content, path: Path) -> str:
    report = evaluate(content.search, load_questions(path))
    out = io.StringIO()
    print_report(report, out)
    missed = shortfalls(report)
    assert not missed, f"{path.name} below target:\n" + "\n".join(missed) + "\n" + out.getvalue()
    return out.getvalue()


def test_the_development_questions_meet_the_release_targets(content: Content) -> None:
    if not DEV.exists():
        pytest.skip(f"{DEV} is absent: the shared evaluation set is not checked out beside main")
    text = _report(content, DEV)
    assert text.splitlines()[-1].startswith("top-1 accuracy")


def test_our_own_questions_meet_the_same_targets(content: Content) -> None:
    # written apart from the articles, in every language and style: the check that the search
    # generalises beyond the questions it was tuned on
    questions = load_questions(OURS)
    assert len(questions) >= 250
    assert {q["lang"] for q in questions} == {"ky", "ru", "tg", "en"}
    assert {q["style"] for q in questions} == {"cyr", "lat", "plain", "sms"}
    assert sum(not q["topics"] for q in questions) >= 30
    assert {t for q in questions for t in q["topics"]} == set(content.articles)
    _report(content, OURS)


def test_the_second_set_in_the_hard_styles_meets_the_targets_too(content: Content) -> None:
    # written before the search was tuned for it (issue 9): long messages with the question in
    # the middle, Russian inside Kyrgyz and Tajik, digits for letters, capitals, slang, two
    # subjects, words that mean two things, other subjects, small talk
    questions = load_questions(SECOND)
    assert len(questions) >= 300
    assert {q["lang"] for q in questions} == {"ky", "ru", "tg", "en"}
    assert {q["style"] for q in questions} == STYLES
    assert sum(1 for q in questions if q.get("smalltalk")) >= 40
    for lang in ("ky", "ru", "tg", "en"):
        assert sum(1 for q in questions if q["lang"] == lang and q["topics"]) >= 40, lang
    text = _report(content, SECOND)
    assert "small talk kind" in text


def test_the_targets_are_those_of_issue_9() -> None:
    assert TARGETS["top-1 accuracy"] >= 0.95
    assert TARGETS["top-1 in each language"] >= 0.90 and TARGETS["top-1 in each style"] >= 0.90
    assert TARGETS["out-of-scope rejected"] >= 0.95 and TARGETS["reply language"] >= 0.98


def test_a_question_file_names_its_topics_from_the_knowledge_base(content: Content) -> None:
    for path in (DEV, OURS, SECOND):
        if path.exists():
            for q in load_questions(path):
                assert set(q["topics"]) <= set(content.articles), q


def test_a_miss_and_a_shortfall_are_reported_by_name(content: Content, tmp_path: Path) -> None:
    hard = tmp_path / "hard.yaml"
    hard.write_text(
        "- {q: 'patent', lang: ru, style: lat, topics: [pension]}\n"
        "- {q: 'qwerty', lang: en, style: sms, topics: []}\n",
        encoding="utf-8",
    )
    report = evaluate(content.search, load_questions(hard))
    assert report.top1.hits == 0 and report.rejected.hits == 1
    assert any("want pension" in m and ": patent" in m for m in report.misses)
    assert any(line.startswith("top-1 accuracy") for line in shortfalls(report))
    assert any("reply in" in m for m in report.misses)  # "patent" alone is not Russian
    assert set(TARGETS) >= {"top-1 accuracy", "reply language"}


def test_safar_eval_prints_the_figures_with_top1_last(tmp_path: Path) -> None:
    small = tmp_path / "q.yaml"
    small.write_text(
        "- {q: 'Не выплатили зарплату', lang: ru, style: cyr, topics: [unpaid-wages]}\n"
        "- {q: 'Салам', lang: ky, style: cyr, topics: []}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["eval", str(small)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for figure in ("top-1 language ru", "top-1 style cyr", "top-3 recall", "reply language"):
        assert any(line.startswith(figure) for line in lines), figure
    assert any(line.startswith("out-of-scope reject") for line in lines)
    assert lines[-1] == "top-1 accuracy       100.0% (1/1)"


def test_a_question_file_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("q: not a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a YAML list"):
        load_questions(bad)
