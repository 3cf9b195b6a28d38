"""Problems found in content, printed as `path:line: message: fix` so an editor can jump to them.

Staff read these lines, tools read them as JSON (`safar check --format json`): both get the same
three things, where the problem is, what it is and how to fix it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

Severity = Literal["error", "warning"]

_FIX = re.compile(
    r"[:;] (?=(?:add|remove|use|write|rename|fix|put|check|run|move|shorten|delete|correct|keep|"
    r"make|translate|update|give|save|indent|link|split|mark|set|choose|change|confirm|"
    r"replace|only)\b)"
)
"""Where the fix starts in a message written as 'what is wrong: what to do' (or '; what to do')."""

_KINDS: tuple[tuple[str, str, str], ...] = (
    # (kind, how the message starts or what it contains, the fix when the message has none)
    ("verify", "verify: ", "check it, then delete the line from 'verify'"),
    ("pending review", "review pending", ""),
    ("stale review", "last reviewed ", ""),
    (
        "unreachable",
        "cannot be reached from",
        "link it from a menu (an option 'goto: <id>') or delete the node",
    ),
    ("over SMS budget", "the SMS takes", ""),
    ("long button", "; a phone shows about", ""),
    ("keyword collision", "is also a keyword of", ""),
    ("fuzzy translation", "is marked fuzzy", ""),
    ("untranslated", "has no translation", ""),
)


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str
    severity: Severity = "error"
    fix: str = ""
    """How to fix it, when the message does not already end with that."""

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        text = f"{self.message}: {self.fix}" if self.fix else self.message
        return f"{self.path}:{self.line}: {tag}{text}"

    @property
    def kind(self) -> str:
        """A short name for the sort of problem, to count warnings in one line."""
        for kind, marker, _ in _KINDS:
            if self.message.startswith(marker) or marker in self.message:
                return kind
        return "other"

    def parts(self) -> tuple[str, str]:
        """(what is wrong, how to fix it), split out of the message when it holds both."""
        if self.fix:
            return self.message, self.fix
        match = _FIX.search(self.message)
        if match:
            return self.message[: match.start()], self.message[match.end() :]
        default = next((fix for kind, _, fix in _KINDS if kind == self.kind), "")
        return self.message, default

    def as_dict(self) -> dict[str, str | int]:
        message, fix = self.parts()
        return {
            "path": self.path,
            "line": self.line,
            "level": self.severity,
            "message": message,
            "fix": fix,
        }


def warning_summary(problems: Iterable[Problem]) -> str:
    """'0 errors, 111 warnings (97 verify, 14 stale review)': what `--quiet` prints instead of
    the warnings themselves, so a real error is not lost among them."""
    problems = list(problems)
    errors = sum(p.severity == "error" for p in problems)
    kinds = Counter(p.kind for p in problems if p.severity == "warning")
    warnings = sum(kinds.values())
    text = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if kinds:
        text += " (" + ", ".join(f"{n} {k}" for k, n in kinds.most_common()) + ")"
    return text


class ContentError(Exception):
    """Content that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def did_you_mean(word: str, choices: object) -> str:
    """A ' (did you mean 'x'?)' hint when a close name exists, else ''."""
    names = [str(c) for c in choices]  # type: ignore[attr-defined]
    if not names:
        return ""
    best = process.extractOne(word, names, scorer=fuzz.ratio, score_cutoff=70)
    return f" (did you mean '{best[0]}'?)" if best else ""


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
