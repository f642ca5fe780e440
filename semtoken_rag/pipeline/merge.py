"""Redundancy merging: near-identical spans, within or across documents, are kept once.

Two spans are one cluster when their fingerprints exceed the cosine threshold *and* they share
enough of their content terms (``tuning.lexical_identity``) *and* hold as many negations:
contextual fingerprints of neighbouring sentences, or of two UUIDs, can look alike without saying
the same thing, and "Do not ignore case." says the opposite of "Ignore case.". Copies of one text
(case and white space aside) are one cluster whatever their fingerprints: the context each copy
sits in moves its fingerprint, not what it says. The best member of each cluster (by relevance)
represents it; the others are never candidates, and neither are the spans of the head a
splitter's overlap repeats from another retrieved chunk (:mod:`.overlap`).

Near-linear in spans: the lexical guard generates the candidates (:func:`look_alikes`). Two term
sets with Jaccard >= t share a term among each one's rarest ``|x| - ceil(t |x|) + 1`` (prefix
filtering), so an inverted index over those rare terms finds every pair that can pass the guard;
the cosine check runs on those pairs only. A span examines at most :data:`CANDIDATES` of them
(the nearest in each posting list, rarest terms first), so thousands of spans sharing their terms
(24k copies of one sentence) cost ``O(spans x CANDIDATES)``, not ``O(spans^2)``.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from ..types import SpanTable
from .overlap import keep_whole
from .score import jaccard, negations, terms

logger = logging.getLogger(__name__)

AGGLOMERATIVE_LIMIT = 4000  # spans above which complete linkage (quadratic) falls back to greedy
BLOCK_CELLS = 2**24  # most similarities held at once by similar_pairs (64 MB of float32)

CANDIDATES = 64
"""Most look-alike candidates one span examines (a computational bound, not a weight): the search
is exact for the guard while a span's rarest terms are shared by fewer spans than this, and
``O(spans x CANDIDATES)`` always. Spans sharing their rarest terms with more (thousands of copies
of one sentence) examine the nearest ones in the document order; they still find
``max_cluster_size`` look-alikes among them."""


def merge(
    table: SpanTable,
    score: np.ndarray,
    *,
    threshold: float,
    method: str,
    min_size: int,
    max_size: int,
    lexical_identity: float,
    overlap_words: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Redundancy clusters of the call's spans.

    Args:
        table: The spans.
        score: Relevance per span (the best member of a cluster represents it).
        threshold: Cosine above which two fingerprints are the same content.
        method: ``greedy``, ``agglomerative`` or ``dbscan`` (see :func:`cluster`).
        min_size: Core size for ``dbscan``.
        max_size: Largest cluster.
        lexical_identity: Jaccard share of content terms two members must also share.
        overlap_words: Fewest words of a splitter's overlap (:mod:`.overlap`; 0: off).

    Returns:
        (mask of the spans that stay candidates, cluster label per span).
    """
    n = len(table)
    if n == 0:
        return np.ones(0, dtype=bool), np.zeros(0, dtype=np.int64)
    number: dict[str, int] = {}  # a number per text, shared by its copies (case, spaces aside)
    sets: list[frozenset[str]] = []  # the term set of each numbered text
    nots: list[int] = []  # and its count of negations
    copy = np.zeros(n, dtype=np.int64)
    for i, x in enumerate(table.texts):
        copy[i] = number.setdefault(same_text(x), len(number))
        if copy[i] == len(sets):
            sets.append(frozenset(terms(x)))
            nots.append(negations(x))
    term_sets = [sets[k] for k in copy.tolist()]
    neg = [nots[k] for k in copy.tolist()]

    def near_identical(i: int, j: int) -> bool:
        same = neg[i] == neg[j] and jaccard(term_sets[i], term_sets[j]) >= lexical_identity
        return copy[i] == copy[j] or same

    neighbours = None
    if method != "agglomerative" or n > AGGLOMERATIVE_LIMIT:
        limit = max(max_size, min_size)
        if lexical_identity > 0:
            found = look_alikes(
                table.vectors, term_sets, threshold, lexical_identity, limit, copies=copy
            )
            neighbours = [[j for j in nb if neg[j] == neg[i]] for i, nb in enumerate(found)]
        else:  # no lexical guard (an ablation): every pair is a candidate, quadratic
            neighbours = similar_pairs(table.vectors, threshold, None, limit=limit)
    labels = cluster(
        table.vectors,
        score,
        threshold,
        method=method,
        min_size=min_size,
        max_size=max_size,
        guard=near_identical,
        neighbours=neighbours,
    )
    return keep_whole(table, representatives(labels, score), overlap_words), labels


def look_alikes(
    vectors: np.ndarray,
    term_sets: Sequence[frozenset[str]],
    threshold: float,
    identity: float,
    limit: int,
    candidates: int = CANDIDATES,
    copies: np.ndarray | None = None,
) -> list[list[int]]:
    """For each span, its look-alikes: the spans whose term sets have Jaccard >= ``identity``
    with its own *and* whose fingerprints have cosine > ``threshold``, most similar first, at
    most ``limit``. With ``copies`` (a number per span, shared by copies of one text: ``merge``
    numbers them case and white space aside), a copy is a look-alike whatever the cosine: the
    contexts around two copies make their fingerprints differ, not what they say.

    Candidates come from an inverted index over each span's rarest terms (its prefix in the
    order of rising document frequency: any pair passing the Jaccard test shares a prefix term),
    at most ``candidates`` per span, the nearest ones of each posting list first. Spans without
    content terms are each other's candidates (two empty sets are identical).

    Example:
        >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
        >>> sets = [frozenset({"fox", "dog"}), frozenset({"fox", "dog"}), frozenset({"fox"})]
        >>> look_alikes(v, sets, 0.9, 0.5, 10)
        [[1], [0], []]
    """
    n = len(term_sets)
    out: list[list[int]] = [[] for _ in range(n)]
    if identity > 1:  # Jaccard never exceeds 1: nothing can pass
        return out
    df = Counter(w for s in term_sets for w in s)
    prefixes: list[list[str | None]] = []
    index: dict[str | None, list[int]] = {}
    for i, s in enumerate(term_sets):
        if s:
            ordered = sorted(s, key=lambda w: (df[w], w))
            size = len(ordered) - math.ceil(identity * len(ordered) - 1e-9) + 1
            prefix: list[str | None] = list(ordered[: max(1, min(size, len(ordered)))])
        else:
            prefix = [None]
        prefixes.append(prefix)
        for w in prefix:
            index.setdefault(w, []).append(i)  # ascending: spans are visited in order
    half = max(1, candidates // 2)
    for i in range(n):
        parts: list[list[int]] = []
        total = 0
        for w in prefixes[i]:  # rarest first
            posting = index[w]
            if len(posting) > 1:
                pos = bisect.bisect_left(posting, i)  # i is in it: the nearest spans around i
                parts.append(posting[max(0, pos - half) : pos + half + 1])
                total += len(parts[-1])
                if total > candidates:
                    break
        if not parts:
            continue
        found = parts[0] if len(parts) == 1 else list(dict.fromkeys(itertools.chain(*parts)))
        cand = np.array([j for j in found if j != i][:candidates], dtype=np.int64)
        mine = term_sets[i]
        sims = vectors[cand] @ vectors[i]
        # a copy of the same text is the same content, whatever its context made of its
        # fingerprint (an option's "See caveat at ..." on every function): first, and no guard
        same = copies[cand] == copies[i] if copies is not None else np.zeros(len(cand), bool)
        sims = np.where(same, np.inf, sims)
        close = np.nonzero(sims > threshold)[0]
        for k in close[np.lexsort((cand[close], -sims[close]))].tolist():  # most similar first
            j = int(cand[k])
            if same[k] or jaccard(mine, term_sets[j]) >= identity:
                out[i].append(j)
                if len(out[i]) == limit:
                    break
    return out


def same_text(text: str) -> str:
    """What two copies of one text share however they were laid out: case and white space
    aside ("See caveat at\\n    [link]." and "See caveat at [link]." are one text).

    Example:
        >>> same_text("See caveat at\\n    [link].") == same_text("see caveat at [link].")
        True
    """
    return " ".join(text.casefold().split())


def no_merge(n: int) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`merge` returns when merging is off: every span its own cluster."""
    return np.ones(n, dtype=bool), np.arange(n, dtype=np.int64)


Guard = Callable[[int, int], bool]

SIMILARITY_DECIMALS = 5
"""Cosines are compared rounded to this many decimals (far below any threshold's precision)."""


def similar_pairs(
    vectors: np.ndarray,
    threshold: float,
    guard: Guard | None = None,
    block: int = 2048,
    limit: int | None = None,
) -> list[list[int]]:
    """For each row, the other rows with cosine > ``threshold`` that also pass ``guard`` (e.g. a
    lexical near-identity check), at most its ``limit`` most similar ones, so the guard runs at
    most ``n * limit`` times. Rows are compared in blocks of at most ``block`` rows and
    :data:`BLOCK_CELLS` similarities; only rows with more than ``limit`` look-alikes are
    partially sorted, so the cost beyond the products stays linear in the pairs found.

    Example:
        >>> v = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
        >>> similar_pairs(v, 0.9)
        [[1], [0], []]
    """
    n = len(vectors)
    out: list[list[int]] = [[] for _ in range(n)]
    block = max(1, min(block, BLOCK_CELLS // max(n, 1)))
    for a in range(0, n, block):
        # rounded, so the pairs and their order do not depend on the block size (a BLAS kernel
        # sums a row's products in an order that changes with the block's shape)
        sims = np.round(vectors[a : a + block] @ vectors.T, SIMILARITY_DECIMALS)
        b = sims.shape[0]
        sims[np.arange(b), a + np.arange(b)] = -np.inf  # never a pair with itself
        over = sims > threshold
        rows, cols = np.nonzero(over)
        if limit is not None and limit < n - 1:
            counts = over.sum(axis=1)
            crowded = np.nonzero(counts > limit)[0]
            if len(crowded):  # the same choice as a partial sort of every row
                calm = counts[rows] <= limit
                sub = sims[crowded]
                top = np.argpartition(-sub, limit, axis=1)[:, :limit]
                keep = np.take_along_axis(sub, top, axis=1) > threshold
                r2, c2 = np.nonzero(keep)
                rows = np.concatenate([rows[calm], crowded[r2]])
                cols = np.concatenate([cols[calm], top[r2, c2]])
        pairs = zip(rows.tolist(), cols.tolist())
        for r, c in sorted(pairs, key=lambda p: (p[0], -sims[p[0], p[1]], p[1])):
            if guard is None or guard(a + r, c):
                out[a + r].append(c)
    return out


def cluster(
    vectors: np.ndarray,
    priority: np.ndarray,
    threshold: float,
    *,
    method: str = "greedy",
    min_size: int = 2,
    max_size: int = 10,
    guard: Guard | None = None,
    neighbours: list[list[int]] | None = None,
) -> np.ndarray:
    """Cluster labels (``0..k-1``) of spans whose fingerprints exceed ``threshold``.

    ``greedy`` visits spans best-first (by ``priority``) and joins each to the first leader it
    resembles, a linear pass over the sparse list of similar pairs. ``agglomerative`` uses complete
    linkage; ``dbscan`` density clusters (``min_size`` core points). No cluster exceeds
    ``max_size``.
    ``guard(i, j)`` must also hold for two spans to be linked (``greedy`` and ``dbscan``; for
    ``agglomerative``, clusters are split where a member fails it against the leader).
    ``neighbours`` (each span's look-alikes, most similar first, as :func:`look_alikes` gives)
    replaces the search for them (``greedy`` and ``dbscan``); without it, every pair is compared
    (:func:`similar_pairs`, quadratic).

    Example:
        >>> import numpy as np
        >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> cluster(v, np.array([0.9, 0.5, 0.1]), 0.9).tolist()
        [0, 0, 1]
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if method == "agglomerative" and n > AGGLOMERATIVE_LIMIT:
        logger.warning("agglomerative clustering on %d spans is quadratic; using greedy", n)
        method = "greedy"
    if method == "agglomerative" and n > 1:
        from scipy.cluster.hierarchy import fcluster, linkage

        z = linkage(vectors.astype(np.float64), method="complete", metric="cosine")
        raw = fcluster(z, t=1.0 - threshold, criterion="distance") - 1
        return _cap_sizes(_split_by_guard(raw, priority, guard), priority, max_size)
    if method == "dbscan" and n > 1:
        if neighbours is None:
            neighbours = similar_pairs(vectors, threshold, guard, limit=max(max_size, min_size))
        return _cap_sizes(_dbscan(neighbours, min_size), priority, max_size)
    if neighbours is None:
        neighbours = similar_pairs(vectors, threshold, guard, limit=max_size)
    labels = np.full(n, -1, dtype=np.int64)
    sizes: list[int] = []
    for i in np.argsort(-priority, kind="stable").tolist():
        if labels[i] >= 0:
            continue
        labels[i] = len(sizes)
        sizes.append(1)
        for j in neighbours[i]:  # i is the leader: absorb its unassigned look-alikes
            if labels[j] < 0 and sizes[labels[i]] < max_size:
                labels[j] = labels[i]
                sizes[labels[i]] += 1
    return _relabel(labels)


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    """The members of each label, in one sort (not one scan per label)."""
    order = np.argsort(labels, kind="stable")
    cuts = np.nonzero(np.diff(labels[order]))[0] + 1
    return np.split(order, cuts) if len(order) else []


def _split_by_guard(labels: np.ndarray, priority: np.ndarray, guard: Guard | None) -> np.ndarray:
    if guard is None:
        return labels
    out = np.array(labels, dtype=np.int64)
    nxt = int(out.max()) + 1 if len(out) else 0
    for idx in _groups(labels):
        leader = int(idx[np.argmax(priority[idx])])
        for i in idx.tolist():
            if i != leader and not guard(leader, i):
                out[i] = nxt
                nxt += 1
    return out


def _dbscan(neighbours: list[list[int]], min_size: int) -> np.ndarray:
    n = len(neighbours)
    core = [len(nb) + 1 >= min_size for nb in neighbours]
    labels = np.full(n, -1, dtype=np.int64)
    k = 0
    for i in range(n):
        if labels[i] >= 0 or not core[i]:
            continue
        stack = [i]
        labels[i] = k
        while stack:
            p = stack.pop()
            if not core[p]:
                continue
            for q in neighbours[p]:
                if labels[q] < 0:
                    labels[q] = k
                    stack.append(q)
        k += 1
    for i in range(n):  # noise: its own cluster
        if labels[i] < 0:
            labels[i] = k
            k += 1
    return labels


def _cap_sizes(labels: np.ndarray, priority: np.ndarray, max_size: int) -> np.ndarray:
    out = np.array(labels, dtype=np.int64)
    nxt = int(out.max()) + 1 if len(out) else 0
    for idx in _groups(labels):
        if len(idx) <= max_size:
            continue
        idx = idx[np.argsort(-priority[idx], kind="stable")]
        for chunk in range(max_size, len(idx), max_size):
            out[idx[chunk : chunk + max_size]] = nxt
            nxt += 1
    return _relabel(out)


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, inv = np.unique(labels, return_inverse=True)
    first: dict[int, int] = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(inv.tolist()):
        out[i] = first.setdefault(lab, len(first))
    return out


def representatives(labels: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Boolean mask: the best member (highest priority, then earliest) of each cluster."""
    keep = np.zeros(len(labels), dtype=bool)
    best: dict[int, int] = {}
    for i in range(len(labels)):
        lab = int(labels[i])
        j = best.get(lab)
        if j is None or priority[i] > priority[j]:
            best[lab] = i
    keep[list(best.values())] = True
    return keep
