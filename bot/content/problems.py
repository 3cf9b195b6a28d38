"""Problems found in content, printed as `path:line: message` so an editor can jump to them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {tag}{self.message}"


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
