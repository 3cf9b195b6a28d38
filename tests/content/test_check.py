"""An author runs `safar check` after an edit: every finding says where and how to fix it,
errors fail, warnings do not, and tools can read the same findings as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.content.check import check_content
from bot.content.problems import Problem, warning_summary
from bot.settings import REPO_ROOT

HERE = Path(__file__).parent


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(HERE / "minimal", root)
    shutil.copytree(REPO_ROOT / "locales", root / "locales", ignore=shutil.ignore_patterns("*.mo"))
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def check(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", str(root), *args])
    return result.exit_code, result.output


def test_quiet_prints_the_errors_and_one_line_counting_the_warnings(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(root / "dialogs" / "main.yaml", "goto: documents", "goto: documets")

    code, out = check(root, "--quiet")

    assert code == 1
    error, summary = out.splitlines()
    assert error == (
        "dialogs/main.yaml:7: node 'main', option 1: goto 'documets' is not a known node "
        "(did you mean 'documents'?)"
    )
    assert summary.startswith("1 error, ")
    assert "(2 unreachable, " in summary and " 1 verify" in summary
    assert summary.endswith(": run `safar check` to see them")


def test_warnings_alone_do_not_fail_the_check(tmp_path: Path) -> None:
    code, out = check(make_root(tmp_path))
    assert code == 0, out
    assert "warning: verify: 918 85 34 34" in out
    assert "0 errors, " in out
    assert "interface translations: ky " in out


def test_tools_get_path_line_level_message_and_fix_as_json(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(root / "dialogs" / "main.yaml", "    type: handoff", "    type: handoff\n    colour: red")

    code, out = check(root, "--format", "json")

    assert code == 1
    found = json.loads(out)
    assert {
        "path": "dialogs/main.yaml",
        "line": 23,
        "level": "error",
        "message": "nodes > talk: unknown field 'colour'",
        "fix": "remove it or fix its name (a handoff node has: hotline, text, type)",
    } in found
    assert all(set(f) == {"path", "line", "level", "message", "fix"} for f in found)
    assert all(f["fix"] for f in found if f["level"] == "error"), "every error says what to do"


def test_two_articles_that_claim_the_same_keyword_are_pointed_out(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root / "knowledge" / "registration.yaml",
        "keywords: [регистрация]",
        "keywords: [регистрация, Патент]",
    )

    result = check_content(root, sms_budget=3)

    assert result.errors == []
    collisions = [str(p) for p in result.warnings if p.kind == "keyword collision"]
    assert (
        "knowledge/work-patent.yaml:15: warning: ru keyword 'патент' is also a keyword of "
        "'registration' ('Патент', knowledge/registration.yaml:15), so the search cannot tell "
        "them apart: keep it in the article that answers it best and remove it from the other"
    ) in collisions
    assert all("'registration'" in c for c in collisions)


def test_fuzzy_and_untranslated_interface_strings_are_counted_per_language(
    tmp_path: Path,
) -> None:
    root = make_root(tmp_path)
    po = root / "locales" / "tg" / "LC_MESSAGES" / "messages.po"
    lines = po.read_text(encoding="utf-8").split("\n")
    msgids = [
        i for i, line in enumerate(lines) if line.startswith('msgid "') and line != 'msgid ""'
    ]
    fuzzy, empty = msgids[0], msgids[1]
    assert lines[empty + 1].startswith('msgstr "')
    lines[empty + 1] = 'msgstr ""'  # a translator left one empty...
    lines.insert(fuzzy, "#, fuzzy")  # ...and marked another as a guess
    po.write_text("\n".join(lines), encoding="utf-8")

    code, out = check(root)

    assert code == 1, "an untranslated string is an error: the bot would show English"
    assert "has no translation: write it in msgstr" in out
    name = lines[fuzzy + 1].removeprefix('msgid "').removesuffix('"')
    assert (
        f"locales/tg/LC_MESSAGES/messages.po:{fuzzy + 2}: warning: '{name}' is marked fuzzy (a "
        "guess, or its English changed), so the bot shows it in English: check the translation, "
        "then delete the '#, fuzzy' line above it"
    ) in out.splitlines()
    stats = {s.lang: s for s in check_content(root, sms_budget=3).catalogs}
    assert (stats["tg"].untranslated, stats["tg"].fuzzy) == (1, 1)
    assert (stats["ky"].untranslated, stats["ky"].fuzzy) == (0, 0)
    assert f"tg {stats['tg'].total - 2}/{stats['tg'].total} (1 untranslated, 1 fuzzy)" in out


def test_an_sms_over_the_budget_is_a_warning(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    edit(
        root / "knowledge" / "registration.yaml",
        'sms: "Регистрация (ru). {hotline_phone}"',
        'sms: "' + "Регистрация по месту пребывания. " * 12 + '"',
    )

    result = check_content(root, sms_budget=3)

    assert result.errors == []
    assert [p.kind for p in result.warnings if p.path == "knowledge/registration.yaml"] == [
        "over SMS budget"
    ]


def test_a_button_too_long_for_a_phone_is_a_warning(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    long = "Документы, разрешения, сроки и всё остальное"
    edit(root / "dialogs" / "main.yaml", 'ru: "Документы", tg', f'ru: "{long}", tg')
    edit(
        root / "knowledge" / "work-patent.yaml",
        'title: "Work patent"',
        'title: "' + "W" * 45 + '"',
    )

    result = check_content(root, sms_budget=3)

    assert result.errors == []
    assert [str(p) for p in result.warnings if p.kind == "long button"] == [
        f"dialogs/main.yaml:7: warning: node 'main', option 1 (ru): the button '{long}' has "
        "44 characters; a phone shows about 40: shorten it (an option can have its own shorter "
        "'label')",
        f"knowledge/work-patent.yaml:22: warning: node 'documents', option 1 (en): the button "
        f"'{'W' * 45}' has 45 characters; a phone shows about 40: shorten it (an option can have "
        "its own shorter 'label')",
    ]


def test_the_summary_counts_warnings_by_kind() -> None:
    problems = [
        Problem("a.yaml", 1, "verify: the number", "warning"),
        Problem("a.yaml", 2, "verify: the hours", "warning"),
        Problem("a.yaml", 3, "last reviewed 2020-01-01, more than 12 months ago", "warning"),
        Problem("a.yaml", 4, "'x' appears twice (first on line 1): rename one"),
    ]
    assert warning_summary(problems) == "1 error, 3 warnings (2 verify, 1 stale review)"
    assert problems[3].parts() == ("'x' appears twice (first on line 1)", "rename one")


def test_the_shipped_content_has_no_errors() -> None:
    result = check_content(REPO_ROOT, sms_budget=3)
    assert result.errors == [], "\n".join(str(p) for p in result.errors)


def test_the_pre_commit_hook_stops_a_commit_with_a_broken_menu(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "pre-commit").exists() or shutil.which("git") is None:
        pytest.skip("pre-commit (make setup) or git is not installed")
    root = make_root(tmp_path)
    shutil.copy(REPO_ROOT / ".pre-commit-config.yaml", root)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
        "GIT_AUTHOR_NAME": "Staff",
        "GIT_AUTHOR_EMAIL": "staff@example.org",
        "GIT_COMMITTER_NAME": "Staff",
        "GIT_COMMITTER_EMAIL": "staff@example.org",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert run("git", "init", "-q").returncode == 0
    assert run("pre-commit", "install").returncode == 0  # what a staff member does once
    run("git", "add", "-A")
    assert run("git", "commit", "-q", "-m", "content as it is").returncode == 0

    edit(root / "dialogs" / "main.yaml", "goto: documents", "goto: documets")
    run("git", "add", "dialogs/main.yaml")
    stopped = run("git", "commit", "-q", "-m", "a typo")

    assert stopped.returncode != 0
    assert (
        "dialogs/main.yaml:7: node 'main', option 1: goto 'documets' is not a known node "
        "(did you mean 'documents'?)"
    ) in stopped.stdout + stopped.stderr
