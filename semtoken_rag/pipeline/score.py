"""Scoring primitives: content terms, BM25, exact matches, semantic entropy, normalisation.

Pure functions over strings and numpy arrays; nothing here loads a model. The stages
(:mod:`~semtoken_rag.pipeline.relevance`, :mod:`~semtoken_rag.pipeline.merge`,
:mod:`~semtoken_rag.pipeline.select`) combine them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

STOPWORDS = frozenset(
    """
    a an the and or but if then else of to in on at by for with from into onto over under about
    as is are was were be been being am do does did done have has had having it its it's this
    that these those there here what which who whom whose when where why how all any both each
    few more most other some such no nor not only own same so than too very can will just
    should would could may might must shall i me my we our you your he him his she her they
    them their us also up down out off again further once during before after above below
    between through until while against s t don now tell give find one
    """.split()  # noqa: SIM905
)

_TERM = re.compile(r"[^\W_]+(?:[-_'.:/][^\W_]+)*", re.UNICODE)
_QUOTED = re.compile(r"[\"“”']([^\"“”']{3,200})[\"“”']")


def terms(text: str) -> tuple[str, ...]:
    """Lower-cased content terms: words, numbers and identifiers (``a1-b2`` also yields its parts),
    stop words removed. Memoised: repeat chunks cost nothing on warm calls.

    Example:
        >>> terms("Who won the 1901 Nobel Prize? key a54e-e625")
        ('won', '1901', 'nobel', 'prize', 'key', 'a54e-e625', 'a54e', 'e625')
    """
    if len(text) <= _MEMO_CHARS:
        return _memo_terms(text)
    return _terms(text)


_MEMO_CHARS = 20_000  # memoise span- and chunk-sized texts, not whole books


@lru_cache(maxsize=1 << 15)
def _memo_terms(text: str) -> tuple[str, ...]:
    return _terms(text)


#: A word hyphenated across a line break (``com-\npression``, ``com\u2010\npression``): a letter,
#: a hyphen, the break, a lower-case letter.
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-\u2010\u00ad][ \t]*\r?\n[ \t]*(?=[^\W\d_])")


def matching_view(text: str) -> tuple[str, np.ndarray | None]:
    """``text`` as matching reads it: each word hyphenated across a line break joined again
    (before a lower-case letter, as a typesetter breaks words), and where each of its characters
    is in ``text`` (``None`` when nothing changed). What is matched (terms, exact strings, title
    mentions, the encoder's tokens) is then the same in every layout; spans keep their offsets.

    Example:
        >>> view, where = matching_view("a com-\\npression test")
        >>> view, int(where[5]), int(where[-1])  # "p" is at 7 in the text, its end at 20
        ('a compression test', 7, 20)
    """
    if "\n" not in text:
        return text, None
    cuts = [m for m in _HYPHEN_BREAK.finditer(text) if text[m.end()].islower()]
    if not cuts:
        return text, None
    parts: list[str] = []
    where: list[np.ndarray] = []
    pos = 0
    for m in cuts:
        parts.append(text[pos : m.start()])
        where.append(np.arange(pos, m.start(), dtype=np.int64))
        pos = m.end()
    parts.append(text[pos:])
    where.append(np.arange(pos, len(text) + 1, dtype=np.int64))  # and the end
    return "".join(parts), np.concatenate(where)


def plain(text: str) -> str:
    """:func:`matching_view` of ``text`` with its white space collapsed: what an encoder that
    reads whole strings is given, the same in every layout.

    Example:
        >>> plain("Röntgen won the\\n  first Nobel prize in Phys-\\nics")
        'Röntgen won the first Nobel prize in Physics'
    """
    return " ".join(matching_view(text)[0].split())


def flat(text: str) -> str:
    """``text`` lower-cased for substring matching: :func:`matching_view`, white space (line
    breaks included) collapsed to single spaces.

    Example:
        >>> flat("Australian National\\n University, com-\\npression")
        'australian national university, compression'
    """
    return plain(text).lower()


def _terms(text: str) -> tuple[str, ...]:
    text = matching_view(text)[0]
    out: list[str] = []
    for m in _TERM.finditer(text.lower()):
        term = m.group(0).strip(".'")
        if term.endswith("'s"):
            term = term[:-2]
        if not term or term in STOPWORDS:
            continue
        out.append(term)
        if any(c in term for c in "-_.:/'"):
            out.extend(p for p in re.split(r"[-_.:/']", term) if p and p not in STOPWORDS)
    return tuple(out)


def quoted_strings(query: str) -> list[str]:
    """Exact strings the query quotes (lower-cased), e.g. a key to look up."""
    return [m.group(1).strip().lower() for m in _QUOTED.finditer(query) if m.group(1).strip()]


def bm25(
    query_terms: Sequence[str], units: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
) -> np.ndarray:
    """BM25 of one query against each unit (a list of terms); IDF comes from the units themselves.

    Example:
        >>> bm25(["nobel"], [["nobel", "prize"], ["cat"]]).round(2).tolist()
        [0.61, 0.0]
    """
    n = len(units)
    if n == 0:
        return np.zeros(0)
    q = Counter(query_terms)
    if not q:
        return np.zeros(n)
    lengths = np.array([len(u) for u in units], dtype=np.float64)
    avg = max(lengths.mean(), 1.0)
    counts = [Counter(u) for u in units]
    df = Counter(term for c in counts for term in q if term in c)
    scores = np.zeros(n)
    for term, qtf in q.items():
        if df[term] == 0:
            continue
        idf = math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))
        tf = np.array([c.get(term, 0) for c in counts], dtype=np.float64)
        scores += qtf * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avg))
    return scores


def exact_matches(query: str, texts: Sequence[str], identifier_chars: int = 12) -> np.ndarray:
    """1.0 where a text contains a string the query quotes (or an identifier of the query: a
    term of at least ``identifier_chars`` characters with a digit) verbatim, case-insensitively;
    else 0.0.

    Example:
        >>> exact_matches('the value of "a54e-e625"?', ["x a54e-e625 y", "a54e"]).tolist()
        [1.0, 0.0]
    """
    needles = quoted_strings(query)
    needles += [
        term
        for term in terms(query)
        if len(term) >= identifier_chars and any(c.isdigit() for c in term)
    ]
    if not needles:
        return np.zeros(len(texts))
    needles = [" ".join(n.split()) for n in needles]
    low = [flat(text) for text in texts]
    return np.array([1.0 if any(n in text for n in needles) else 0.0 for text in low])


def semantic_entropy(vectors: np.ndarray) -> float:
    """H = trace of the covariance of a span's token vectors (0 for fewer than two tokens).

    Example:
        >>> import numpy as np
        >>> semantic_entropy(np.array([[1.0, 0.0], [0.0, 1.0]]))
        1.0
    """
    n = len(vectors)
    if n < 2:
        return 0.0
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    return float((centred * centred).sum() / (n - 1))


def lexical_entropy(text: str) -> float:
    """Shannon entropy (bits) of a text's term distribution: the entropy fallback for encoders
    without token states."""
    c = Counter(terms(text))
    total = sum(c.values())
    if total < 2:
        return 0.0
    p = np.array(list(c.values()), dtype=np.float64) / total
    return float(-(p * np.log2(p)).sum())


_NEGATION = re.compile(
    r"\b(?:not|no|never|nor|none|nobody|nothing|neither|nowhere|cannot|without)\b|n['’]t\b",
    re.IGNORECASE,
)


def negations(text: str) -> int:
    """How many negations ``text`` holds (English: "not", "no", "never", "cannot", "without",
    "n't" ...). The content terms drop them as stop words, so two sentences that say opposite
    things look alike to :func:`terms` and to an encoder; merging compares this count too.

    Example:
        >>> negations("--no-ignore-case  Do not ignore case."), negations("Ignore case.")
        (2, 0)
        >>> negations("It isn't allowed without a key.")
        2
    """
    return len(_NEGATION.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two term sets (1.0 for two empty sets).

    Example:
        >>> jaccard(frozenset({"a", "b"}), frozenset({"b", "c"}))
        0.3333333333333333
    """
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def minmax(x: np.ndarray) -> np.ndarray:
    """Scores -> [0, 1]; constant input -> all zeros."""
    if len(x) == 0:
        return x.astype(np.float64)
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi - lo < 1e-12:
        return np.zeros(len(x))
    return (x - lo) / (hi - lo)
