"""`safar check` on SMS cost: segments per text in both scripts, warnings over the budget."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.content.load import Content, load_content
from bot.settings import REPO_ROOT
from bot.sms.budget import format_table, sms_costs, sms_problems

MINIMAL = REPO_ROOT / "tests" / "content" / "minimal"


@pytest.fixture
def small(tmp_path: Path) -> Content:
    """The minimal content with the real interface catalogs."""
    root = tmp_path / "content"
    shutil.copytree(MINIMAL, root)
    shutil.copytree(REPO_ROOT / "locales", root / "locales", ignore=shutil.ignore_patterns("*.mo"))
    result = load_content(root)
    assert result.content is not None, result.errors
    return result.content


def test_every_dialog_text_and_article_sms_text_is_measured_in_both_scripts(
    small: Content,
) -> None:
    costs = sms_costs(small, 3)
    items = {(c.item, c.lang) for c in costs}
    for lang in ("ky", "ru", "tg", "en"):
        assert ("node main", lang) in items
        assert ("article work-patent", lang) in items
    ru = next(c for c in costs if c.item == "article registration" and c.lang == "ru")
    assert ru.segments["cyr"].encoding == "UCS-2"
    assert ru.segments["lat"].encoding == "GSM-7"
    assert ru.segments["lat"].segments <= ru.segments["cyr"].segments
    assert ru.path == "knowledge/registration.yaml"
    source = (small.root / ru.path).read_text(encoding="utf-8").splitlines()
    assert "sms" in source[ru.line - 1]  # the line of the ru sms text itself


def test_a_text_over_the_budget_is_a_warning_that_points_at_its_line(small: Content) -> None:
    assert sms_problems(small, 3) == []
    problems = sms_problems(small, 1)
    assert problems and all(p.severity == "warning" for p in problems)
    first = next(p for p in problems if p.path == "knowledge/registration.yaml")
    assert "in Cyrillic" in first.message and "in Latin" in first.message
    assert "SAFAR_SMS_BUDGET" in first.message
    assert str(first).startswith(f"knowledge/registration.yaml:{first.line}: warning: ")


def test_the_table_marks_what_is_over_the_budget(small: Content) -> None:
    table = format_table(sms_costs(small, 1), 1)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["text", "lang", "cyr", "lat"]
    assert any("article registration" in line and "!" in line for line in lines)


def test_safar_check_warns_over_the_budget_and_prints_the_table_with_sms(small: Content) -> None:
    runner = CliRunner(env={"SAFAR_SMS_BUDGET": "1"})
    result = runner.invoke(main, ["check", "--sms", str(small.root)])
    assert result.exit_code == 0, result.output  # warnings never fail the check
    assert "text" in result.output and "article registration" in result.output
    assert "warning: article registration (ru): the SMS takes" in result.output
    quiet = CliRunner(env={"SAFAR_SMS_BUDGET": "3"}).invoke(main, ["check", str(small.root)])
    assert "the SMS takes" not in quiet.output
