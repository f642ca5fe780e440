"""Redundancy clustering: look-alikes kept once, the guard, cluster sizes."""

from __future__ import annotations

import numpy as np
import pytest

from semtoken_rag import SemTokenCompressor
from semtoken_rag.pipeline.merge import cluster, representatives
from semtoken_rag.types import SpanTable


def one_document_each(texts: list[str], vectors: np.ndarray) -> SpanTable:
    """A span table of one span per document, with the given fingerprints."""
    n = len(texts)
    zeros = np.zeros(n, dtype=np.int64)
    return SpanTable(
        doc=np.arange(n), start=zeros, end=zeros, texts=texts, tokens=np.ones(n, dtype=np.int64),
        vectors=vectors, entropy=np.ones(n), titles=[""] * n, doc_texts=[""] * n,
        doc_vectors=np.zeros((n, vectors.shape[1]), dtype=np.float32),
    )  # fmt: skip


def test_greedy_cluster_groups_look_alikes_and_respects_guard() -> None:
    v = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    prio = np.array([0.2, 0.9, 0.5])
    labels = cluster(v, prio, 0.95)
    assert labels[0] == labels[1] != labels[2]
    assert representatives(labels, prio).tolist() == [False, True, True]
    labels = cluster(v, prio, 0.95, guard=lambda i, j: False)
    assert len(set(labels.tolist())) == 3


def test_copies_of_one_text_are_one_cluster_whatever_their_fingerprints() -> None:
    # the same sentence in two contexts (an option repeated on every function of an API page, a
    # chunk overlap): contextual fingerprints far apart, the text the same but for its wrapping
    from semtoken_rag.pipeline.merge import merge, same_text

    texts = [
        "See caveat at [`maxBuffer` and Unicode][].",
        "Largest amount of data in bytes allowed on stdout or stderr.",
        "see caveat at\n    [`maxBuffer` and Unicode][].",
        "See caveat at [`maxBuffer`][].",
    ]
    table = one_document_each(texts, np.eye(4, dtype=np.float32))  # every pair's cosine 0
    keep, labels = merge(
        table, np.array([0.2, 0.5, 0.9, 0.3]), threshold=0.9, method="greedy", min_size=2,
        max_size=10, lexical_identity=0.5,
    )  # fmt: skip
    assert labels[0] == labels[2] and len(set(labels.tolist())) == 3
    assert keep.tolist() == [False, True, True, True]  # the copy that scores best stays
    assert same_text(texts[0]) == same_text(texts[2]) != same_text(texts[3])


@pytest.mark.parametrize("method", ["greedy", "agglomerative", "dbscan"])
def test_a_sentence_and_its_negation_are_not_merged(method: str) -> None:
    # grep(1) at 80 columns: the two options were one cluster, so "ignore case" kept only the
    # option that does not ignore case
    from semtoken_rag.pipeline.merge import merge

    texts = [
        "-i, --ignore-case Ignore case distinctions in patterns and input data.",
        "--no-ignore-case Do not ignore case distinctions in patterns and input data.",
        "-i, --ignore-case: ignore case distinctions in patterns and input data.",
        "The file is not read. It is never written.",
        "The file isn't read, and it is never written.",
    ]
    v = np.zeros((5, 2), dtype=np.float32)
    v[:, 0] = 1.0  # every pair's cosine 1: only the guard can keep them apart
    table = one_document_each(texts, v)
    keep, labels = merge(
        table, np.array([0.5, 0.9, 0.4, 0.3, 0.2]), threshold=0.9, method=method, min_size=2,
        max_size=10, lexical_identity=0.5,
    )  # fmt: skip
    assert labels[0] != labels[1] and keep[0] and keep[1]  # the opposite is not merged
    if method != "agglomerative":  # (which splits every member failing against the leader)
        assert labels[0] == labels[2]  # the same polarity still merges
        assert labels[3] == labels[4]  # two negations each: still one statement


def test_the_negated_option_does_not_hide_the_asked_one(compressor: SemTokenCompressor) -> None:
    text = (  # a man page's options at 80 columns (our words, grep(1)'s layout)
        "       -i, --ignore-case\n"
        "              Ignore case distinctions in patterns and input data, so that\n"
        "              characters that differ only in case match each other.\n\n"
        "       --no-ignore-case\n"
        "              Do not ignore case distinctions in patterns and input data.\n"
        "              This is the default.  This option is useful for passing to shell\n"
        "              scripts that already use -i, to cancel its effects.\n\n"
        "       -v, --invert-match\n"
        "              Invert the sense of matching, to select non-matching lines.\n"
    )
    r = compressor.compress("Which option ignores case?", [text], budget=60)
    assert r.kept_tokens <= 60
    assert any("-i, --ignore-case" in s.text for s in r.spans), [s.text for s in r.spans]


def test_cluster_methods_and_max_size() -> None:
    v = np.tile(np.array([[1.0, 0.0]]), (7, 1))
    prio = np.arange(7, dtype=float)
    for method in ("greedy", "agglomerative", "dbscan"):
        labels = cluster(v, prio, 0.9, method=method, max_size=3)
        sizes = np.bincount(labels)
        assert sizes.max() <= 3, method
        assert sizes.sum() == 7


# --- issue 16, item 4: merging near-linear in spans, the guard always holds ---------------------

import random  # noqa: E402

import pytest  # noqa: E402
from growth import exponent  # noqa: E402

from semtoken_rag.pipeline.merge import look_alikes, merge  # noqa: E402
from semtoken_rag.pipeline.score import jaccard, terms  # noqa: E402
from semtoken_rag.testing import bag_of_words  # noqa: E402

WORDS = [f"w{i}" for i in range(3000)]


def spans(texts: list[str]) -> SpanTable:
    """A one-document table of ``texts`` with bag-of-words unit vectors."""
    n = len(texts)
    v = bag_of_words(texts)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    zeros = np.zeros(n, dtype=np.int64)
    return SpanTable(
        doc=zeros, start=zeros, end=zeros, texts=texts, tokens=np.ones(n, dtype=np.int64),
        vectors=v.astype(np.float32), entropy=np.ones(n), titles=[""], doc_texts=[""],
        doc_vectors=np.zeros((1, v.shape[1]), dtype=np.float32),
    )  # fmt: skip


SHAPES = {
    "distinct sentences": lambda n, r: [" ".join(r.choices(WORDS, k=12)) for _ in range(n)],
    "one sentence repeated": lambda n, r: ["The quick brown fox jumps over the lazy dog."] * n,
    "numbered look-alikes": lambda n, r: [f"A quick brown fox jumps over {i}." for i in range(n)],
    "no content terms": lambda n, r: ["It is what it is and it was."] * n,
    "a few templates": lambda n, r: [f"Order {r.randrange(50)} shipped to {r.choice(WORDS[:40])}."
                                     for _ in range(n)],
}  # fmt: skip


def _merge(t: SpanTable) -> tuple[np.ndarray, np.ndarray]:
    score = np.random.default_rng(0).random(len(t))
    return merge(
        t, score, threshold=0.9, method="greedy", min_size=2, max_size=10, lexical_identity=0.5
    )


@pytest.mark.parametrize("make", SHAPES.values(), ids=list(SHAPES))
def test_merging_grows_near_linearly(make) -> None:
    # replaces a test that counted guard calls: the cosine of every pair was still computed
    # (0.8 / 2.2 / 8.1 / 31 s at 5k / 10k / 20k / 40k spans, 2.5 GB; 24k copies of one
    # sentence 22.6 s). Now 4k -> 16k spans must grow below n^1.5 (quadratic: ~2).
    tables = {n: spans(make(n, random.Random(n))) for n in (4000, 16000)}
    slope = exponent(lambda n: _merge(tables[n]), 4000, 16000, repeats=2)
    assert slope < 1.5, f"merging time grows as n^{slope:.2f}"


@pytest.mark.parametrize("make", SHAPES.values(), ids=list(SHAPES))
def test_every_merged_span_passes_the_guard_and_clusters_stay_bounded(make) -> None:
    t = spans(make(3000, random.Random(1)))
    keep, labels = _merge(t)
    sets = [frozenset(terms(x)) for x in t.texts]
    assert np.bincount(labels).max() <= 10
    for lab in np.unique(labels):
        members = np.nonzero(labels == lab)[0]
        leader = int(members[keep[members]][0])
        for j in members.tolist():
            if j != leader:  # each member was linked to its cluster's leader by both tests
                assert jaccard(sets[leader], sets[j]) >= 0.5
                assert float(t.vectors[leader] @ t.vectors[j]) > 0.9


@pytest.mark.parametrize("seed", range(6))
def test_the_rare_term_index_misses_no_pair_that_passes_the_guard(seed: int) -> None:
    rng = random.Random(seed)
    vocab = WORDS[: rng.choice([8, 30, 200])]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(0, 6))) for _ in range(400)]
    t = spans(texts)
    sets = [frozenset(terms(x)) for x in texts]
    got = look_alikes(t.vectors, sets, 0.8, 0.5, 10, candidates=len(texts))
    for i in range(len(texts)):
        sims = t.vectors.astype(np.float64) @ t.vectors[i].astype(np.float64)
        valid = [j for j in range(len(texts)) if j != i and sims[j] > 0.8 + 1e-6]
        valid = [j for j in valid if jaccard(sets[i], sets[j]) >= 0.5]
        best = sorted(valid, key=lambda j: -sims[j])[:10]
        assert len(got[i]) == len(best), i
        # the most similar ones (equal similarities may come in either order)
        assert [round(sims[j], 5) for j in got[i]] == [round(sims[j], 5) for j in best], i
