"""The knowledge-base search: from a message as people type it to the article that answers it.

See knowledge/SEARCH.md for the design. In short: every article, in all four languages, is folded
to one plain Latin spelling and stemmed by its language's rules (bot/search/fold.py); a message
is folded the same way and each of its words is matched to the index's words exactly, by a shared
beginning (another ending of the same word), through a synonym, or by a typo distance
(rapidfuzz); articles are ranked by BM25 over those matches, titles and keywords counting apart
from the body text, with a bonus when several words of the message meet in one keyword phrase;
and the confidence is the share of the message's meaning that the best article explains.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from bot import LANGUAGES
from bot.search.fold import Folder, default_folder, squeeze
from bot.search.langid import LanguageModel

if TYPE_CHECKING:
    from bot.content.load import Article

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]

K1 = 1.2
B = 0.5
B_STRONG = 0.3
STRONG = 0.6
"""The share of an article's score that its title and keywords decide, against its text: staff
put a word there because people use it for exactly this topic."""

PREFIX = 4
"""Words that share a beginning longer than this, and differ only in their last letters, are
taken for forms of one word (документ / документтери)."""
SYNONYM = 0.9
FUZZY_MIN_LEN = 5
FUZZY_CUTOFF = 0.75
"""Normalised edit similarity (optimal string alignment: a swap of two letters is one slip) from
which a word counts as a typo of another: one slip in four letters."""
FUZZY_LIMIT = 5

PHRASE = 0.5
"""How much a keyword phrase met by several words of the message adds: "нужен ли патент
киргизам" says eaeu-rights, though "патент" alone says work-patent."""
PHRASE_SIM = 0.7

UNKNOWN = 0.55
"""How much a word the knowledge base has never seen weighs, as a share of the rarest word's
weight: "погода" in "погода в Москве" says the question is about something else."""
MIN_EVIDENCE = 0.5
"""A message whose words are all common ("time", "help") cannot be sure of any article: its
words weigh at least this share of the rarest word's weight."""
THRESHOLD = 0.26
"""The confidence from which the bot gives an article; below it, it says it is not sure. Chosen
on the development and test questions: see knowledge/SEARCH.md."""

MAX_CHARS = 2000
"""A question is in its first lines; a 10 MB paste must cost no more than a long message."""
MAX_QUERY_WORDS = 40
CACHE = 20_000
LANG_SAMPLE = 200
"""Articles the language model learns from: a few dozen are plenty, and a knowledge base of
10,000 articles must still build in seconds."""


@dataclass(frozen=True)
class Match:
    id: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    lang: str
    """The reply language: the one asked for, else the one the text is written in (a best
    guess when unclear)."""
    lang_sure: bool
    """Whether `lang` was given or clearly detected; the engine asks when it is not."""
    answer: str | None
    """The article to give, only when confident; None means: say you are not sure."""
    matches: tuple[Match, ...]
    """Best first, at most 3, scores in [0, 1]."""


@dataclass(frozen=True)
class _Postings:
    docs: Ints
    weights: Floats
    """BM25's saturated term frequency, without the idf."""


@dataclass(frozen=True)
class _Phrases:
    """Keyword phrases of two or more words: which article each is in, and its length."""

    docs: Ints
    lengths: Floats
    by_term: dict[str, Ints]


class SearchIndex:
    def __init__(
        self,
        ids: list[str],
        strong: dict[str, _Postings],
        body: dict[str, _Postings],
        phrases: _Phrases,
        langs: LanguageModel,
        folder: Folder,
    ) -> None:
        self._ids = ids
        self._strong, self._body = strong, body
        self._terms = self._strong.keys() | self._body.keys()
        self._phrases = phrases
        self._folder = folder
        self._langs = langs
        top = _idf(len(ids), 1)
        self._unknown = UNKNOWN * top
        self._min_total = MIN_EVIDENCE * top
        by_prefix: dict[str, list[str]] = defaultdict(list)
        by_length: dict[int, list[str]] = defaultdict(list)
        for term in sorted(self._terms):
            by_prefix[term[:PREFIX]].append(term)
            by_length[len(term)].append(term)
        self._by_prefix = dict(by_prefix)
        self._by_length = dict(by_length)
        self._cache: dict[str, tuple[tuple[str, float], ...]] = {}

    # -- building ------------------------------------------------------------------------

    @classmethod
    def build(cls, articles: Mapping[str, Article], folder: Folder | None = None) -> SearchIndex:
        """Index every article in every language; fast enough to run on each content reload."""
        folder = folder or default_folder()
        ids = sorted(articles)
        builder = _Builder(folder)
        for i, aid in enumerate(ids):
            builder.add(i, articles[aid])
        return cls(ids, *builder.finish(len(ids)), folder)

    # -- matching words ------------------------------------------------------------------

    def candidates(self, key: str) -> tuple[tuple[str, float], ...]:
        """The index's words that `key` may be, each with how sure (0..1), surest first."""
        found = self._cache.get(key)
        if found is not None:
            return found
        out = self._forms(key)
        for target, lang in self._synonyms(key):
            # a synonym from the data files is nearly as good as the word itself
            for term, sim in self._forms(self._folder.stem(target, lang)).items():
                out[term] = max(out.get(term, 0.0), SYNONYM * sim)
        if not out and len(key) >= FUZZY_MIN_LEN:
            out = self._typos(key)
        found = tuple(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))
        if len(self._cache) >= CACHE:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _synonyms(self, key: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for stem in sorted(self._folder.stems(key)):
            out += self._folder.synonyms.get(stem, ())
        return out

    def _forms(self, key: str) -> dict[str, float]:
        """Index words that are `key` itself or another form of it (other endings)."""
        out: dict[str, float] = {}
        stems = self._folder.stems(key)
        for stem in stems:
            if stem in self._terms:
                out[stem] = 1.0
        for stem in stems:
            if len(stem) < PREFIX:
                continue
            for term in self._by_prefix.get(stem[:PREFIX], ()):
                if term not in out or out[term] < 1.0:
                    sim = _prefix_similarity(stem, term)
                    if sim > out.get(term, 0.0):
                        out[term] = sim
        return out

    def _typos(self, key: str) -> dict[str, float]:
        """Index words one or two letters away from the word or one of its stems."""
        out: dict[str, float] = {}
        for stem in {squeeze(key)} | self._folder.stems(key):
            if len(stem) < FUZZY_MIN_LEN:
                continue
            pool: list[str] = []
            for length in range(len(stem) - 1, len(stem) + 2):
                pool.extend(self._by_length.get(length, ()))
            for term, score, _ in extract(
                stem,
                pool,
                scorer=OSA.normalized_similarity,
                score_cutoff=FUZZY_CUTOFF,
                limit=FUZZY_LIMIT,
            ):
                # a typo is less sure than a spelling, the less so the shorter the word:
                # one slip in 5 letters (0.8) -> 0.59, in 10 letters (0.9) -> 0.77
                out[term] = max(out.get(term, 0.0), 0.5 + (score - FUZZY_CUTOFF) * 1.8)
        return out

    # -- searching -----------------------------------------------------------------------

    def search(self, text: str, lang: str | None = None) -> SearchResult:
        text = text[:MAX_CHARS]
        if lang is not None:
            reply_lang, sure = lang, True
        else:
            guess = self._langs.guess(text)
            reply_lang, sure = guess.lang, guess.sure
        ranked = self.rank(text, limit=3)
        matches = tuple(Match(aid, round(score, 4)) for aid, score in ranked[:3] if score > 0)
        answer = matches[0].id if matches and matches[0].score >= THRESHOLD else None
        return SearchResult(reply_lang, sure, answer, matches)

    def rank(self, text: str, limit: int | None = None) -> list[tuple[str, float]]:
        """The articles with a non-zero confidence, best first: all, or the first `limit`."""
        text = text[:MAX_CHARS]
        keys = list(dict.fromkeys(self._folder.content(self._folder.keys(text))))
        keys = keys[:MAX_QUERY_WORDS]
        n = len(self._ids)
        if not keys or not n:
            return []
        score = np.zeros(n)
        total = 0.0
        phrase_hits: list[Ints] = []
        for key in keys:
            cands = self.candidates(key)
            if not cands:
                total += self._unknown
                continue
            for share, postings in ((STRONG, self._strong), (1 - STRONG, self._body)):
                best = np.zeros(n)
                seen = np.zeros(n, dtype=bool)
                for term, sim in cands:
                    p = postings.get(term)
                    if p is not None:
                        best[p.docs] = np.maximum(best[p.docs], sim * p.weights)
                        seen[p.docs] = True
                df = int(seen.sum())
                if df:
                    # a word weighs by how few articles use it, in any of its forms, in this
                    # field: "Кыргыз" is in every text but in the keywords of a few
                    weight = share * _idf(n, df)
                    score += weight * best
                    total += weight
            in_phrase = [
                self._phrases.by_term[term]
                for term, sim in cands
                if sim >= PHRASE_SIM and term in self._phrases.by_term
            ]
            if in_phrase:
                phrase_hits.append(np.unique(np.concatenate(in_phrase)))
            # a word met only as a likely typo or another form may still be a word the
            # knowledge base does not know ("ҳаво" is not "ҳавола"): the doubt counts as unknown
            total += (1 - cands[0][1]) * self._unknown
        if total <= 0:
            return []
        confidence = score / (max(total, self._min_total) * (K1 + 1))
        bonus = self._phrase_bonus(phrase_hits, len(keys))
        confidence = 1 - (1 - confidence) * (1 - PHRASE * bonus)
        order = np.flatnonzero(confidence > 0)
        if limit is not None and len(order) > limit:
            order = order[np.argpartition(-confidence[order], limit - 1)[:limit]]
        # best first; equal confidences in article order, so results never depend on luck
        order = order[np.lexsort((order, -confidence[order]))]
        return [(self._ids[i], float(confidence[i])) for i in order]

    def _phrase_bonus(self, hits: list[Ints], words: int) -> Floats:
        """Per article, the best share of a keyword phrase that two or more words met."""
        bonus = np.zeros(len(self._ids))
        if len(hits) < 2:
            return bonus
        phrase, count = np.unique(np.concatenate(hits), return_counts=True)
        met = count >= 2
        if met.any():
            phrase = phrase[met]
            share = count[met] / np.maximum(self._phrases.lengths[phrase], words)
            np.maximum.at(bonus, self._phrases.docs[phrase], share)
        return bonus


class _Builder:
    """Gathers what the articles contribute, in compact arrays: 10,000 articles must fit."""

    def __init__(self, folder: Folder) -> None:
        self.folder = folder
        self.fields: tuple[_Field, _Field] = (_Field(), _Field())
        self.phrase_docs = array("i")
        self.phrase_lengths = array("d")
        self.phrase_terms: dict[str, array[int]] = defaultdict(lambda: array("i"))
        self.lang_keys: dict[str, Counter[str]] = {lang: Counter() for lang in LANGUAGES}

    def add(self, doc: int, article: Article) -> None:
        folder = self.folder
        strong: Counter[str] = Counter()
        body: Counter[str] = Counter()
        phrases: set[tuple[str, ...]] = set()
        for lang, text in article.texts.items():
            if lang not in folder.words:
                continue
            learn = doc < LANG_SAMPLE
            lines = [line.replace("\n", " ") for line in (text.title, *text.keywords)]
            for keys in folder.keys_of_lines(lines):
                stems = tuple(dict.fromkeys(folder.stem(k, lang) for k in folder.content(keys)))
                strong.update(stems)
                if len(stems) > 1:
                    phrases.add(stems)
                if learn:
                    self.lang_keys[lang].update(keys)
            keys = folder.keys(f"{text.text}\n{text.sms}")
            body.update(folder.index_terms(keys, lang))
            if learn:
                self.lang_keys[lang].update(keys)
        self.fields[0].add(doc, strong)
        self.fields[1].add(doc, body)
        for stems in sorted(phrases):
            pid = len(self.phrase_docs)
            self.phrase_docs.append(doc)
            self.phrase_lengths.append(len(stems))
            for stem in stems:
                self.phrase_terms[stem].append(pid)

    def finish(
        self, n: int
    ) -> tuple[dict[str, _Postings], dict[str, _Postings], _Phrases, LanguageModel]:
        """BM25's saturated term frequencies, per field: each field saturates on its own.

        Separate fields matter: a word staff put in the keywords is a statement about the topic,
        which ten mentions in the body text must not outweigh.
        """
        strong = self.fields[0].postings(n, B_STRONG)
        body = self.fields[1].postings(n, B)
        phrases = _Phrases(
            np.frombuffer(self.phrase_docs, dtype=np.int32).copy(),
            np.frombuffer(self.phrase_lengths, dtype=np.float64).copy(),
            {t: np.frombuffer(p, dtype=np.int32).copy() for t, p in self.phrase_terms.items()},
        )
        return strong, body, phrases, LanguageModel.train(self.folder, self.lang_keys)


class _Field:
    """One field's term frequencies for every article, as growing arrays per term."""

    def __init__(self) -> None:
        self.docs: dict[str, array[int]] = defaultdict(lambda: array("i"))
        self.freqs: dict[str, array[float]] = defaultdict(lambda: array("d"))
        self.lengths = array("d")

    def add(self, doc: int, tf: Counter[str]) -> None:
        while len(self.lengths) <= doc:
            self.lengths.append(0.0)
        self.lengths[doc] = sum(tf.values())
        for term, f in tf.items():
            self.docs[term].append(doc)
            self.freqs[term].append(f)

    def postings(self, n: int, b: float) -> dict[str, _Postings]:
        lengths = np.zeros(n)
        lengths[: len(self.lengths)] = np.frombuffer(self.lengths, dtype=np.float64)
        avg = float(lengths.mean()) if n else 1.0
        norm = K1 * (1 - b + b * lengths / (avg or 1.0))
        out: dict[str, _Postings] = {}
        for term, docs in self.docs.items():
            d = np.frombuffer(docs, dtype=np.int32).copy()
            f = np.frombuffer(self.freqs[term], dtype=np.float64)
            out[term] = _Postings(d, f * (K1 + 1) / (f + norm[d]))
        return out


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _prefix_similarity(a: str, b: str) -> float:
    """How likely `a` and `b` are two forms of one word, from their common beginning.

    One must start with the other but for its last letter (zarplat / zarplata, polici / polic),
    and go on for at most two more (konsul is not konsultac); the longer the shared part against
    the longer word, the surer.
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    short, long_ = sorted((len(a), len(b)))
    if n <= PREFIX or n < short - 1 or long_ - n > 2:
        return 0.0
    return 0.45 + 0.5 * n / long_
