"""Benchmark the knowledge-base search against a plain rank-bm25 baseline, in one run.

Usage:
    .venv/bin/python bench/search.py            # shipped articles and a 10,000-article base
    .venv/bin/python bench/search.py --size 2000 --rounds 3

Prints, for the shipped knowledge base and for a synthetic one made from it: index build time,
queries per second, p50/p99 latency (first sight of each question; "warm q/s" once the per-word
cache has seen them), top-1 accuracy on the evaluation questions, and the process's peak memory
(resident set size) right after each row: the process only grows, so a row's figure includes
everything before it. Then the ratios to rank-bm25 in the same run and the targets of issues 9
and 12: p99 <= 2 ms on the shipped articles and <= 10 ms at 10,000, at 10,000 a p50 at least 50x
faster than rank-bm25's, and an index build <= 5 s.
The baseline is rank-bm25's BM25Okapi over the same articles, words split on spaces and
lowercased: what one gets without folding, stemming, typo matching or calibration.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml
from rank_bm25 import BM25Okapi

from bot.content.load import Article, ArticleText, require_content
from bot.search import SearchIndex
from bot.settings import REPO_ROOT

QUESTION_FILES = (
    REPO_ROOT.parent / "shared" / "eval" / "dev.yaml",
    REPO_ROOT / "tests" / "search" / "questions.yaml",
    REPO_ROOT / "tests" / "search" / "questions-2.yaml",
)
P99_SHIPPED = 0.002
P99_LARGE = 0.010
P50_RATIO = 50.0
BUILD_LARGE = 5.0
WORD = re.compile(r"\w+")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def questions() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in QUESTION_FILES:
        if path.exists():
            out += yaml.safe_load(path.read_text(encoding="utf-8"))
    return out


def synthetic(articles: Mapping[str, Article], size: int, seed: int = 7) -> dict[str, Article]:
    """`size` articles made from the real ones: each keeps a real article's topic (its title,
    some keywords, most of its sentences) and borrows sentences from another, so no two are
    alike and the vocabulary is the real one."""
    rng = random.Random(seed)
    real = [articles[k] for k in sorted(articles)]
    out: dict[str, Article] = {}
    for i in range(size):
        base, other = real[i % len(real)], rng.choice(real)
        texts = {}
        for lang, text in base.texts.items():
            own = _sentences(text.text)
            borrowed = _sentences(other.lang(lang).text)
            body = rng.sample(own, max(1, len(own) * 3 // 4))
            body += rng.sample(borrowed, min(len(borrowed), 3))
            rng.shuffle(body)
            keywords = rng.sample(text.keywords, max(1, len(text.keywords) // 2))
            texts[lang] = ArticleText(
                f"{text.title} {i}", " ".join(body), text.sms, tuple(keywords)
            )
        aid = f"{base.id}-{i:05d}"
        out[aid] = replace(base, id=aid, texts=texts)
    return out


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?:])\s+|\n+", text) if s.strip()]


class Baseline:
    """rank-bm25 over each article's four languages, split on words and lowercased."""

    def __init__(self, articles: Mapping[str, Article]) -> None:
        self.ids = sorted(articles)
        corpus = []
        for aid in self.ids:
            parts = []
            for t in articles[aid].texts.values():
                parts += [t.title, t.text, t.sms, *t.keywords]
            corpus.append(WORD.findall(" ".join(parts).lower()))
        self.bm25 = BM25Okapi(corpus)

    def top(self, text: str) -> str | None:
        scores = self.bm25.get_scores(WORD.findall(text.lower()))
        best = max(range(len(scores)), key=lambda i: scores[i])
        return self.ids[best] if scores[best] > 0 else None


def timed(fn: Callable[[], Any], rounds: int) -> tuple[Any, float]:
    """The result of the last call and the median time of `rounds` calls, in seconds."""
    times, result = [], None
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def latencies(fn: Callable[[str], Any], texts: Sequence[str]) -> list[float]:
    out = []
    for text in texts:
        t0 = time.perf_counter()
        fn(text)
        out.append(time.perf_counter() - t0)
    return out


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def topic(article_id: str | None) -> str | None:
    """work-patent-00017 (synthetic) -> work-patent; a real id stays as it is."""
    if article_id is None:
        return None
    base, _, number = article_id.rpartition("-")
    return base if number.isdigit() and len(number) == 5 else article_id


def accuracy(top: Callable[[str], str | None], qs: Sequence[dict[str, Any]]) -> str:
    scoped = [q for q in qs if q.get("topics")]
    hits = sum(topic(top(str(q["q"]))) in q["topics"] for q in scoped)
    return f"{hits / len(scoped):6.1%}" if scoped else "  n/a"


@dataclass
class Row:
    """One knowledge base's figures: ours and the baseline's, in seconds."""

    build: float
    p50: float
    p99: float
    base_build: float
    base_p50: float


def run(name: str, articles: Mapping[str, Article], qs: list[dict[str, Any]], rounds: int) -> Row:
    texts = [str(q["q"]) for q in qs]
    print(f"\n== {name}: {len(articles)} articles, {len(texts)} questions")
    print(
        f"{'':10} {'build':>9} {'q/s':>8} {'p50':>8} {'p99':>8} {'warm q/s':>9} {'top-1':>7}"
        f" {'peak RSS':>9}"
    )
    index, build = timed(lambda: SearchIndex.build(articles), rounds)
    cold = latencies(index.search, texts)
    warm = latencies(index.search, texts * 3)

    def ours(text: str) -> str | None:
        found: str | None = index.search(text).answer
        return found

    print(
        f"{'safar':10} {build * 1000:7.0f}ms {len(cold) / sum(cold):8.0f} "
        f"{pct(cold, 50) * 1000:6.2f}ms {pct(cold, 99) * 1000:6.2f}ms "
        f"{len(warm) / sum(warm):9.0f} {accuracy(ours, qs)} {peak_mb():7.0f}MB"
    )
    base, base_build = timed(lambda: Baseline(articles), rounds)
    base_lat = latencies(base.top, texts)
    print(
        f"{'rank-bm25':10} {base_build * 1000:7.0f}ms {len(base_lat) / sum(base_lat):8.0f} "
        f"{pct(base_lat, 50) * 1000:6.2f}ms {pct(base_lat, 99) * 1000:6.2f}ms "
        f"{'':>9} {accuracy(base.top, qs)} {peak_mb():7.0f}MB"
    )
    row = Row(build, pct(cold, 50), pct(cold, 99), base_build, pct(base_lat, 50))
    print(
        f"{'ratio':10} {row.base_build / row.build:8.2f}x {'':>8} "
        f"{row.base_p50 / row.p50:7.1f}x   (rank-bm25 / safar: build time, p50)"
    )
    return row


def targets(shipped: Row, large: Row | None, size: int) -> list[str]:
    """Each target of issues 9 and 12 with its figure and whether it holds."""
    checks = [
        (
            f"p99 on the shipped articles {shipped.p99 * 1000:.2f} ms",
            shipped.p99 <= P99_SHIPPED,
            "<= 2 ms",
        )
    ]
    if large is not None:
        checks += [
            (
                f"p99 at {size} articles {large.p99 * 1000:.2f} ms",
                large.p99 <= P99_LARGE,
                "<= 10 ms",
            ),
            (
                f"p50 at {size} articles {large.base_p50 / large.p50:.1f}x faster than rank-bm25",
                large.base_p50 / large.p50 >= P50_RATIO,
                ">= 50x",
            ),
            (
                f"index build at {size} articles {large.build:.2f} s",
                large.build <= BUILD_LARGE,
                "<= 5 s",
            ),
        ]
    return [
        f"{'met   ' if ok else 'MISSED'} {what} (target {target})" for what, ok, target in checks
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="synthetic articles")
    parser.add_argument("--rounds", type=int, default=5, help="builds to take the median of")
    args = parser.parse_args(argv)
    content = require_content(REPO_ROOT)
    qs = questions()
    print(f"python {sys.version.split()[0]}; top-1 = share of in-scope questions answered right")
    print(f"load average before the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    shipped = run("shipped knowledge base", content.articles, qs, args.rounds)
    large = None
    if args.size:
        big = synthetic(content.articles, args.size)
        large = run(f"synthetic, made from the {len(content.articles)} real ones", big, qs, 1)
    print("\n== targets (issues 9 and 12)")
    for line in targets(shipped, large, args.size):
        print(line)
    print(f"load average after the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
