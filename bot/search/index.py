"""The knowledge-base search: from a message as people type it to the article that answers it.

See knowledge/SEARCH.md for the design. In short: every article, in all four languages, is folded
to one plain Latin spelling and stemmed by its language's rules (bot/search/fold.py); a message
is folded the same way and each of its words is matched to the index's words exactly, by a shared
beginning (another ending of the same word), through a synonym, or by a typo distance
(rapidfuzz); articles are ranked by BM25 over those matches, titles and keywords counting apart
from the body text, with a bonus when several words of the message meet in one keyword phrase;
and the confidence is the share of the message's meaning that the best article explains, taken
over the whole message and over each of its sentences, so that a long message is not diluted.

The index is two sparse term-by-article matrices (compressed rows: one row of postings per word),
built with numpy in a few vectorised passes, so 10,000 articles build in seconds and a query
touches only the postings of its own words.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from bot import LANGUAGES
from bot.search.fold import APOSTROPHES, TOKEN, Folder, default_folder, squeeze
from bot.search.langid import LanguageModel

if TYPE_CHECKING:
    from bot.content.load import Article

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

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
PHRASE_POOL = 64
"""How many of the best articles are looked at for keyword phrases: on a base of 10,000 the
others cannot reach the threshold anyway."""
FEW_PHRASES = 256
"""A word in at most this many phrases has them counted in plain Python; a common word of a
large base (thousands) goes through the numpy slices."""

UNKNOWN = 0.55
"""How much a word the knowledge base has never seen weighs, as a share of the rarest word's
weight: "погода" in "погода в Москве" says the question is about something else."""
OFFTOPIC = 1.5
"""How much a word that only means a subject we do not answer weighs (search-words.yaml
`offtopic`, search-senses.yaml): negative evidence, more than an unknown word."""
NEGLIGIBLE = 0.01
"""A word whose weight in a field is below this share of the rarest word's (it is in nearly every
article: "Россия" in a base of 10,000) still counts in what a perfect article would score, but
its postings are not added: at most 1% of a score, for a fraction of the work."""
MIN_EVIDENCE = 0.5
"""A message whose words are all common ("time", "help") cannot be sure of any article: its
words weigh at least this share of the rarest word's weight."""
TOPIC_MIN = 0.12
"""An article is only given when its own topic words (title and keywords) explain at least this
share of the message; a word met only in its body text ("day", "bank") is not enough."""
NO_TOPIC = 0.5
"""What is left of the confidence of an article matched without its topic words."""
THRESHOLD = 0.26
"""The confidence from which the bot gives an article; below it, it says it is not sure. Chosen
on the development and test questions: see knowledge/SEARCH.md."""

PART_MIN_WORDS = 2
"""A sentence of a longer message is also scored on its own when it has this many words that
carry meaning: the question is often one sentence among greetings and the story around it."""
MAX_PARTS = 8
PART_SHARE = 0.95
"""A question alone (a sentence with a question mark) counts nearly as much as the whole
message; in a message without a question mark, every sentence does."""
PART_STORY = 0.7
"""A sentence around the question (the story, greetings) counts less: "I am a Kyrgyz citizen,
working in Russia" is context for a question about the pension, not the question."""

MAX_CHARS = 2000
"""A question is in its first lines; a 10 MB paste must cost no more than a long message."""
MAX_QUERY_WORDS = 40
MAX_TYPO_WORDS = 12
"""A message with more words that carry meaning than this is not searched for typos: a long
message says enough in the words it spells right, and a typo search costs a millisecond."""
CACHE = 20_000
LANG_SAMPLE = 200
"""Articles the language model learns from: a few dozen are plenty, and a knowledge base of
10,000 articles must still build in seconds."""

_NO_TERMS = np.zeros(0, dtype=np.int64)
_NEWLINE = -2
_NO_TERM = -1
_COMPOUND = -3
_LINE_MARK = b"\x1f"
_SPLIT = bytes(
    ord(chr(c).lower()) if chr(c).isalpha() else 0x1F if c == 0x0A else 0x20 for c in range(128)
) + bytes(range(128, 256))
"""ASCII letters (lowercased) and all non-ASCII bytes (UTF-8 letters) stay; a line break becomes
_LINE_MARK,
everything else a space."""


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
    smalltalk: str | None = None
    """When the message is only small talk, its kind ("greeting", "thanks", "wish", "bye", see
    bot/data/search-smalltalk.yaml), so the engine replies in kind; then `answer` is None."""


@dataclass(frozen=True)
class _Rows:
    """A sparse matrix in compressed rows: row t holds the articles that word t occurs in."""

    indptr: Ints
    cols: Ints
    values: Floats

    def row(self, t: int) -> tuple[Ints, Floats]:
        a, b = int(self.indptr[t]), int(self.indptr[t + 1])
        return self.cols[a:b], self.values[a:b]


@dataclass(frozen=True)
class _Phrases:
    """Keyword phrases of two or more words: which article each is in, its length, and per word
    (compressed rows) the phrases it is part of."""

    docs: Ints
    lengths: Floats
    by_term: _Rows


@dataclass
class _Word:
    """What one word of a message contributes to every article, computed once per message."""

    total: float
    """Its weight in what a perfect article would score."""
    docs: list[Ints]
    values: list[Floats]
    """Per field, the articles and weighted BM25 scores."""
    strong_docs: Ints | None
    strong_values: Floats | None
    phrase_terms: Ints
    """Its forms that are part of a keyword phrase (sorted term ids)."""
    phrase_set: frozenset[int] | None = None
    """The phrases they are in, when they are few (see FEW_PHRASES)."""


class SearchIndex:
    def __init__(
        self,
        ids: list[str],
        terms: list[str],
        strong: _Rows,
        body: _Rows,
        phrases: _Phrases,
        langs: LanguageModel,
        folder: Folder,
    ) -> None:
        self._ids = ids
        self._term_names = terms
        self._term_ids = {t: i for i, t in enumerate(terms)}
        self._strong, self._body = strong, body
        self._ptr = (strong.indptr.tolist(), body.indptr.tolist(), phrases.by_term.indptr.tolist())
        """Row starts as Python lists: a query reads a few of them, one number at a time."""
        self._phrases = phrases
        self._phrase_span = np.searchsorted(phrases.docs, np.arange(len(ids) + 1))
        """Article d's phrases are numbered from _phrase_span[d] to _phrase_span[d + 1]."""
        by_term = phrases.by_term
        self._phrase_words = _rows(
            by_term.cols,
            np.repeat(np.arange(len(terms)), np.diff(by_term.indptr)),
            None,
            len(phrases.docs),
        )
        """The other way round: per phrase, its words."""
        self._owner = np.zeros(len(terms), dtype=np.uint64)
        """Scratch for `_phrase_bonus`: per term, a bit for each message word it is a form of;
        all zero between searches (a search runs on one thread)."""
        self._phrase_docs: list[int] = phrases.docs.tolist()
        self._phrase_lengths: list[float] = phrases.lengths.tolist()
        self._folder = folder
        self._langs = langs
        top = _idf(len(ids), 1)
        self._unknown = UNKNOWN * top
        self._offtopic = OFFTOPIC * top
        self._min_total = MIN_EVIDENCE * top
        self._negligible = NEGLIGIBLE * top
        by_prefix: dict[str, list[str]] = defaultdict(list)
        by_length: dict[int, list[str]] = defaultdict(list)
        for term in sorted(terms):
            by_prefix[term[:PREFIX]].append(term)
            by_length[len(term)].append(term)
        self._by_prefix = dict(by_prefix)
        self._by_length = dict(by_length)
        self._cache: dict[str, tuple[tuple[str, float], ...]] = {}
        self._words: dict[tuple[str, bool], _Word] = {}

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

    def candidates(self, key: str, typos: bool = True) -> tuple[tuple[str, float], ...]:
        """The index's words that `key` may be, each with how sure (0..1), surest first.

        `typos=False` skips the typo search for a word that matched nothing else.
        """
        found = self._cache.get(key)
        if found is not None:
            return found
        out = self._forms(key)
        for target, lang in self._synonyms(key):
            # a synonym from the data files is nearly as good as the word itself
            for term, sim in self._forms(self._folder.stem(target, lang)).items():
                out[term] = max(out.get(term, 0.0), SYNONYM * sim)
        if not out and len(key) >= FUZZY_MIN_LEN:
            if not typos:
                return ()
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
            if stem in self._term_ids:
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
        ranked, smalltalk = self._rank(text, 3)
        matches = tuple(Match(aid, round(score, 4)) for aid, score in ranked[:3] if score > 0)
        answer = matches[0].id if matches and matches[0].score >= THRESHOLD else None
        if smalltalk is not None:
            answer = None
        return SearchResult(reply_lang, sure, answer, matches, smalltalk)

    def rank(self, text: str, limit: int | None = None) -> list[tuple[str, float]]:
        """The articles with a non-zero confidence, best first: all, or the first `limit`."""
        return self._rank(text[:MAX_CHARS], limit)[0]

    def _rank(self, text: str, limit: int | None) -> tuple[list[tuple[str, float]], str | None]:
        folder = self._folder
        parts: list[list[str]] = []
        offtopic = 0
        everything: list[str] = []
        sentences = folder.sentences(text)[:MAX_PARTS] or [(text, False)]
        asks = any(q for _, q in sentences)
        shares = [PART_SHARE if q or not asks else PART_STORY for _, q in sentences]
        for sentence, _ in sentences:
            raw = folder.query_keys(sentence)
            everything += raw
            keys, off = folder.read_senses(folder.content(raw))
            offtopic += off
            for key in keys:
                if folder.is_offtopic(key):
                    offtopic += 1
            parts.append([k for k in dict.fromkeys(keys) if not folder.is_offtopic(k)])
        smalltalk = folder.smalltalk(everything[: MAX_QUERY_WORDS * 2])
        keys = list(dict.fromkeys(k for part in parts for k in part))[:MAX_QUERY_WORDS]
        n = len(self._ids)
        if not n or (not keys and not offtopic):
            return [], smalltalk
        typos = len(keys) <= MAX_TYPO_WORDS
        words = {key: self._word(key, typos) for key in keys}
        extra = offtopic * self._offtopic
        confidence = self._confidence([words[k] for k in keys], extra)
        if len(parts) > 1:
            for part, share in zip(parts, shares, strict=True):
                inside = [words[k] for k in part if k in words]
                if PART_MIN_WORDS <= len(inside) < len(keys):
                    alone = self._confidence(inside, extra)
                    np.maximum(confidence, share * alone, out=confidence)
        order = np.flatnonzero(confidence > 0) if limit is None else _best(confidence, limit)
        # best first; equal confidences in article order, so results never depend on luck
        order = order[np.lexsort((order, -confidence[order]))]
        return [(self._ids[i], float(confidence[i])) for i in order], smalltalk

    def _word(self, key: str, typos: bool = True) -> _Word:
        """One message word's postings in both fields, weighted by idf, and its phrases: kept,
        since people use the same few hundred words, and a word's postings are a tenth of a
        search."""
        found = self._words.get((key, typos))
        if found is None:
            found = self._postings(key, typos)
            if len(self._words) >= CACHE:
                self._words.clear()
            self._words[key, typos] = found
        return found

    def _postings(self, key: str, typos: bool) -> _Word:
        n = len(self._ids)
        cands = [(self._term_ids[t], sim) for t, sim in self.candidates(key, typos)]
        word = _Word(0.0, [], [], None, None, _NO_TERMS)
        if not cands:
            word.total = self._unknown
            return word
        for field, (share, rows) in enumerate(((STRONG, self._strong), (1 - STRONG, self._body))):
            ptr = self._ptr[field]
            hits = [(t, sim) for t, sim in cands if ptr[t + 1] > ptr[t]]
            if not hits:
                continue
            if len(hits) == 1:
                docs, weights = rows.row(hits[0][0])
                values = hits[0][1] * weights
            else:
                docs, values = _best_of(rows, hits, n)
            # a word weighs by how few articles use it, in any of its forms, in this field:
            # "Кыргыз" is in every text but in the keywords of a few
            weight = share * _idf(n, len(docs))
            word.total += weight
            if weight < self._negligible:
                continue  # in nearly every article: it counts, but cannot change the order
            word.docs.append(docs)
            word.values.append(weight * values)
            if field == 0:
                word.strong_docs, word.strong_values = docs, weight * values
        ptr = self._ptr[2]
        forms = sorted(t for t, sim in cands if sim >= PHRASE_SIM and ptr[t + 1] > ptr[t])
        word.phrase_terms = np.array(forms, dtype=np.int64)
        if sum(ptr[t + 1] - ptr[t] for t in forms) <= FEW_PHRASES:
            by_term = self._phrases.by_term
            word.phrase_set = frozenset(p for t in forms for p in by_term.row(t)[0].tolist())
        # a word met only as a likely typo or another form may still be a word the knowledge
        # base does not know ("ҳаво" is not "ҳавола"): the doubt counts as unknown
        word.total += (1 - cands[0][1]) * self._unknown
        return word

    def _confidence(self, words: Sequence[_Word], extra: float) -> Floats:
        """Per article, the share of these words' meaning it explains, in [0, 1].

        `extra`: the weight of words that say the message is about something we do not answer.
        """
        n = len(self._ids)
        total = sum(w.total for w in words) + extra
        if total <= 0:
            return np.zeros(n)
        docs = [d for w in words for d in w.docs]
        norm = max(total, self._min_total) * (K1 + 1)
        confidence: Floats = np.zeros(n)
        if docs:
            values = np.concatenate([v for w in words for v in w.values])
            confidence = np.bincount(np.concatenate(docs), values, minlength=n).astype(
                np.float64, copy=False
            )
            confidence /= norm
        # an article needs evidence from its own topic words, not one word of its body text
        strong = [(w.strong_docs, w.strong_values) for w in words if w.strong_docs is not None]
        if strong:
            topic = np.bincount(
                np.concatenate([d for d, _ in strong]),
                np.concatenate([v for _, v in strong if v is not None]),
                minlength=n,
            )
            confidence[topic < TOPIC_MIN * norm] *= NO_TOPIC
        else:
            confidence *= NO_TOPIC
        hit = [w for w in words if len(w.phrase_terms)]
        bonus = self._phrase_bonus(hit, len(words), confidence)
        if bonus is None:
            return confidence
        return 1 - (1 - confidence) * (1 - PHRASE * bonus)

    def _phrase_bonus(self, hit: list[_Word], words: int, confidence: Floats) -> Floats | None:
        """Per article, the best share of a keyword phrase that two or more words met; None
        when no phrase was met (most messages).

        Only the PHRASE_POOL best articles so far are looked at. Their phrases (numbered
        together per article) and those phrases' words are gathered in a few array passes, and
        each phrase learns which message words it holds from a bit per word: a common word's
        thousands of phrases elsewhere are never touched.
        """
        if len(hit) < 2:
            return None
        sets = [w.phrase_set for w in hit]
        if all(s is not None for s in sets):
            return self._few_phrases(sets, words, confidence)
        pool = _best(confidence, PHRASE_POOL)
        # every phrase of the pool, and every word of those phrases
        phrase = _ranges(self._phrase_span[pool], self._phrase_span[pool + 1])
        rows = self._phrase_words
        starts, ends = rows.indptr[phrase], rows.indptr[phrase + 1]
        term = rows.cols[_ranges(starts, ends)]
        # which message words those are, as one bit per word (a term may be a form of two; a
        # message has at most MAX_QUERY_WORDS < 64)
        owner = self._owner
        try:
            for bit, w in enumerate(hit):
                owner[w.phrase_terms] |= np.uint64(1 << bit)
            masks = np.bitwise_or.reduceat(owner[term], np.cumsum(ends - starts) - (ends - starts))
        finally:
            for w in hit:
                owner[w.phrase_terms] = 0
        count = np.bitwise_count(masks)
        met = count >= 2
        if not met.any():
            return None
        phrase = phrase[met]
        share = count[met] / np.maximum(self._phrases.lengths[phrase], words)
        bonus = np.zeros(len(self._ids))
        np.maximum.at(bonus, self._phrases.docs[phrase], share)
        return bonus

    def _few_phrases(
        self, sets: list[frozenset[int] | None], words: int, confidence: Floats
    ) -> Floats | None:
        """`_phrase_bonus` for words that are each in a few phrases (nearly always): counted in
        plain Python, since a dozen numpy calls on tiny arrays cost more than the counting."""
        counts: Counter[int] = Counter()
        for phrases in sets:
            if phrases:
                counts.update(phrases)
        met = [(p, c) for p, c in counts.items() if c >= 2]
        if not met:
            return None
        pool = set(_best(confidence, PHRASE_POOL).tolist())
        docs, lengths = self._phrase_docs, self._phrase_lengths
        bonus = np.zeros(len(self._ids))
        for phrase, count in met:
            doc = docs[phrase]
            if doc in pool:
                share = count / max(lengths[phrase], words)
                if share > bonus[doc]:
                    bonus[doc] = share
        return bonus


def _best(values: Floats, k: int) -> Ints:
    """The articles of the `k` best positive values (fewer if fewer are positive), ties at the
    end taken in article order, so the choice never depends on luck.

    The best are nearly always within half of the best value: cutting there first leaves a few
    dozen to select from rather than thousands (a selection over all costs 0.1 ms at 10,000).
    """
    top = float(np.max(values)) if len(values) else 0.0
    if top <= 0:
        return np.zeros(0, dtype=np.int64)
    pool = np.flatnonzero(values >= top * 0.5)
    if len(pool) < k:
        pool = np.flatnonzero(values > 0)
    if len(pool) <= k:
        return pool
    sub = values[pool]
    kth = np.partition(sub, len(sub) - k)[len(sub) - k]
    above = pool[sub > kth]
    return np.concatenate([above, pool[sub == kth][: k - len(above)]])


def _ranges(starts: Ints, ends: Ints) -> Ints:
    """All integers of the ranges [starts[k], ends[k]), one after another."""
    sizes = ends - starts
    total = int(sizes.sum())
    return np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(total)


class _Vocabulary(dict[bytes, int]):
    """A written word -> its term id in one language (or _NO_TERM for a stopword), computed the
    first time the word is met: an article's words repeat, so 10,000 articles fold a few tens of
    thousands of words, not millions.

    Words arrive as UTF-8 bytes split at ASCII punctuation (see `_tokens`); a token that still
    holds two words ("mon–fri") becomes a code below _COMPOUND that `_expand` replaces by them.
    """

    def __init__(self, folder: Folder, lang: str, terms: dict[str, int]) -> None:
        super().__init__({_LINE_MARK: _NEWLINE})
        self.folder, self.lang, self.terms = folder, lang, terms
        self.compounds: list[list[int]] = []

    def __missing__(self, raw: bytes) -> int:
        text = raw.decode("utf-8", "replace").lower()
        for mark in APOSTROPHES:
            text = text.replace(mark, "")
        ids = [self._term(word) for word in TOKEN.findall(text)]
        ids = [i for i in ids if i >= 0]
        if len(ids) <= 1:
            tid = ids[0] if ids else _NO_TERM
        else:
            tid = _COMPOUND - len(self.compounds)
            self.compounds.append(ids)
        self[raw] = tid
        return tid

    def _term(self, word: str) -> int:
        folder = self.folder
        keys = TOKEN.findall(folder.fold_word(word))
        key = max(keys, key=len) if keys else ""
        if len(key) <= 1 or folder.is_stopword(key):
            return _NO_TERM
        return self.terms.setdefault(folder.stem(key, self.lang), len(self.terms))

    def codes(self, tokens: list[bytes]) -> Ints:
        """Each token's term id, or its compound code."""
        return np.fromiter(map(self.__getitem__, tokens), np.int64, len(tokens))

    def ids(self, tokens: list[bytes]) -> Ints:
        codes = self.codes(tokens)
        return _expand(codes, self.compounds) if (codes <= _COMPOUND).any() else codes


def _tokens(text: str) -> list[bytes]:
    """The words of `text` as UTF-8 bytes: splitting bytes at ASCII punctuation, digits and
    spaces is several times faster than a Unicode regular expression over the 70 MB of a
    10,000-article base. A line break becomes the token _LINE_MARK. ASCII letters are lowercased
    here; the others only once per distinct word, by `_Vocabulary` (lowering 70 MB took longer
    than the rest of the split)."""
    return text.encode("utf-8").translate(_SPLIT, b"'`").split()


def _expand(codes: Ints, compounds: list[list[int]]) -> Ints:
    """Token codes with each compound code replaced by the term ids it stands for."""
    pieces: list[Ints] = []
    start = 0
    for at in np.flatnonzero(codes <= _COMPOUND).tolist():
        pieces.append(codes[start:at])
        pieces.append(np.array(compounds[_COMPOUND - int(codes[at])], dtype=np.int64))
        start = at + 1
    pieces.append(codes[start:])
    return np.concatenate(pieces)


class _Builder:
    """Gathers what the articles contribute as arrays of term ids; `finish` turns them into the
    two sparse matrices in a few numpy passes."""

    def __init__(self, folder: Folder) -> None:
        self.folder = folder
        self.terms: dict[str, int] = {}
        self.vocab = {lang: _Vocabulary(folder, lang, self.terms) for lang in LANGUAGES}
        self.body_ids: list[Ints] = []
        self.body_docs: list[int] = []
        self.line_ids: list[Ints] = []
        self.line_docs: list[int] = []
        self.line_lens: list[int] = []
        self.lang_keys: dict[str, Counter[str]] = {lang: Counter() for lang in LANGUAGES}

    def add(self, doc: int, article: Article) -> None:
        folder = self.folder
        for lang, text in article.texts.items():
            if lang not in folder.words:
                continue
            vocab = self.vocab[lang]
            lines = [line.replace("\n", " ") for line in (text.title, *text.keywords)]
            self.line_ids.append(vocab.ids(_tokens(" \n ".join(lines))))
            self.line_docs.append(doc)
            self.line_lens.append(len(lines))
            body = f"{text.text}\n{text.sms}"
            # every occurrence of a word, counted when the pairs are sorted in `finish`
            self.body_ids.append(vocab.ids(_tokens(body)))
            self.body_docs.append(doc)
            if doc < LANG_SAMPLE:
                self.lang_keys[lang].update(folder.keys(f"{body}\n" + "\n".join(lines)))

    def finish(self, n: int) -> tuple[list[str], _Rows, _Rows, _Phrases, LanguageModel]:
        """BM25's saturated term frequencies, per field: each field saturates on its own.

        Separate fields matter: a word staff put in the keywords is a statement about the topic,
        which ten mentions in the body text must not outweigh.
        """
        terms = sorted(self.terms, key=self.terms.__getitem__)
        t = len(terms)
        # the body: (term, article) pairs counted in one sort, already in row order
        ids = _concat(self.body_ids)
        docs = np.repeat(np.array(self.body_docs, dtype=np.int64), [len(a) for a in self.body_ids])
        keep = ids >= 0
        body = _bm25(ids[keep], docs[keep], n, t, B)
        # titles and keywords: a word counts once per line, and a line of two or more words is a
        # phrase
        ids = _concat(self.line_ids)
        new_line = ids == _NEWLINE
        per_text = [len(a) for a in self.line_ids]
        first_line = np.cumsum([0, *self.line_lens])[:-1]
        line = _line_numbers(new_line, per_text, first_line)
        line_doc = np.repeat(np.array(self.line_docs, dtype=np.int64), self.line_lens)
        keep = ids >= 0
        pairs = _unique(line[keep] * max(t, 1) + ids[keep])[0]
        p_line, p_term = pairs // max(t, 1), pairs % max(t, 1)
        strong = _bm25(p_term, line_doc[p_line], n, t, B_STRONG)
        length = np.bincount(p_line, minlength=len(line_doc))
        phrase_lines = np.flatnonzero(length >= 2)
        phrase_of_line = np.full(len(line_doc), -1, dtype=np.int64)
        phrase_of_line[phrase_lines] = np.arange(len(phrase_lines))
        in_phrase = phrase_of_line[p_line] >= 0
        by_term = _rows(p_term[in_phrase], phrase_of_line[p_line[in_phrase]], None, t)
        phrases = _Phrases(
            line_doc[phrase_lines], length[phrase_lines].astype(np.float64), by_term
        )
        return terms, strong, body, phrases, LanguageModel.train(self.folder, self.lang_keys)


def _best_of(rows: _Rows, hits: list[tuple[int, float]], n: int) -> tuple[Ints, Floats]:
    """Per article, the best of several rows scaled by their similarity (a word's forms)."""
    pieces = [rows.row(t) for t, _ in hits]
    size = sum(len(d) for d, _ in pieces)
    if size * 8 > n:  # many postings: one pass over a scratch row is cheaper than a sort
        best = np.zeros(n)
        for (docs, weights), (_, sim) in zip(pieces, hits, strict=True):
            best[docs] = np.maximum(best[docs], sim * weights)
        docs = np.flatnonzero(best)
        return docs, best[docs]
    docs = np.concatenate([d for d, _ in pieces])
    values = np.concatenate([sim * w for (_, w), (_, sim) in zip(pieces, hits, strict=True)])
    order = np.lexsort((-values, docs))
    docs, values = docs[order], values[order]
    first = np.ones(len(docs), dtype=bool)
    first[1:] = docs[1:] != docs[:-1]
    return docs[first], values[first]


def _unique(values: Ints) -> tuple[Ints, Ints]:
    """The distinct values, sorted, and how often each occurs (numpy's hashing unique is slower
    on millions of integers than one sort)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.int64)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(first)
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def _concat(arrays: list[Ints]) -> Ints:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)


def _line_numbers(new_line: npt.NDArray[np.bool_], per_text: list[int], first: Ints) -> Ints:
    """For each token, the number of its line over all texts: a text's lines start at `first`."""
    if not len(new_line):
        return np.zeros(0, dtype=np.int64)
    within = np.cumsum(new_line)
    starts = np.cumsum([0, *per_text])[:-1]
    before = np.where(starts > 0, within[np.maximum(starts - 1, 0)], 0)
    lines: Ints = (within - np.repeat(before, per_text) + np.repeat(first, per_text)).astype(
        np.int64
    )
    return lines


def _rows(
    rows: Ints, cols: Ints, values: Floats | None, n_rows: int, ordered: bool = False
) -> _Rows:
    """Compressed rows from (row, column, value) triples; `ordered`: they already come sorted
    by row, then column (from `_unique`), which saves the biggest sort of a build."""
    counts = np.bincount(rows, minlength=n_rows) if len(rows) else np.zeros(n_rows, np.int64)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    if not ordered:
        order = np.lexsort((cols, rows))
        cols = cols[order]
        values = None if values is None else values[order]
    vals = np.ones(len(rows)) if values is None else values
    return _Rows(indptr, cols.astype(np.int64, copy=False), vals.astype(np.float64, copy=False))


def _bm25(terms: Ints, docs: Ints, n: int, t: int, b: float) -> _Rows:
    """Term-by-article BM25 saturated frequencies (without the idf) from (term, article) pairs,
    one per occurrence (the same word, or other words of one stem)."""
    pairs, tf = _unique(terms * max(n, 1) + docs)
    term, doc = pairs // max(n, 1), pairs % max(n, 1)
    lengths = np.bincount(doc, tf, minlength=n).astype(np.float64) if n else np.zeros(0)
    avg = float(lengths.mean()) if n else 1.0
    norm = K1 * (1 - b + b * lengths / (avg or 1.0))
    f = tf.astype(np.float64)
    weights = f * (K1 + 1) / (f + norm[doc]) if len(doc) else f
    return _rows(term, doc, weights, t, ordered=True)


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
