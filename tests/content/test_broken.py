"""Staff edits that break content, each paired with the exact line `safar check` prints."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.content.load import load_content
from bot.settings import REPO_ROOT

HERE = Path(__file__).parent
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "broken.yaml").read_text(encoding="utf-8"))


def make_root(tmp_path: Path) -> Path:
    """A small valid content root: the minimal fixture plus the real interface catalogs."""
    root = tmp_path / "content"
    shutil.copytree(HERE / "minimal", root)
    shutil.copytree(REPO_ROOT / "locales", root / "locales", ignore=shutil.ignore_patterns("*.mo"))
    return root


def test_the_minimal_content_is_valid(tmp_path: Path) -> None:
    result = load_content(make_root(tmp_path))
    assert result.errors == []
    assert result.content is not None
    assert sorted(result.content.articles) == ["registration", "work-patent"]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_a_broken_edit_is_reported_with_file_line_and_fix(
    tmp_path: Path, case: dict[str, Any]
) -> None:
    root = make_root(tmp_path)
    (root / case["file"]).write_text(case["text"], encoding="utf-8")
    result = load_content(root)
    printed = [str(p) for p in result.errors]
    for expected in case["errors"]:
        assert expected in printed
    if case.get("exactly"):
        assert sorted(printed) == sorted(case["errors"])
    assert result.content is None, "broken content must never become live"


def test_safar_check_exits_1_and_prints_the_error_lines(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    case = CASES[0]
    (root / case["file"]).write_text(case["text"], encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 1
    assert case["errors"][0] in result.output.splitlines()


def test_safar_check_passes_on_good_content_and_shows_warnings(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(make_root(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "warning: verify: 918 85 34 34" in result.output


def test_an_article_not_reviewed_for_a_year_is_flagged_for_staff(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    result = load_content(root, today=dt.date(2027, 11, 2))
    assert result.errors == []
    assert (
        "knowledge/work-patent.yaml:1: warning: last reviewed 2026-11-01, more than 12 months "
        "ago: check the facts and update the date"
    ) in [str(p) for p in result.warnings]


def test_the_shipped_articles_cover_every_topic_in_four_languages() -> None:
    topics_file = REPO_ROOT.parent / "shared" / "eval" / "topics.yaml"
    if not topics_file.exists():
        pytest.skip(f"{topics_file} is absent: the shared evaluation set is not beside main")
    topics = set(yaml.safe_load(topics_file.read_text(encoding="utf-8"))["topics"])
    result = load_content(REPO_ROOT)
    assert result.content is not None
    # missing-person is an article the topic list does not have yet (urgent routing needs it)
    assert set(result.content.articles) - {"missing-person"} == topics
    for article in result.content.articles.values():
        assert set(article.texts) == {"ky", "ru", "tg", "en"}
        assert article.review["ky"] == article.review["tg"] == "pending", (
            f"{article.id}: the native-speaker review must stay pending until it is done"
        )
