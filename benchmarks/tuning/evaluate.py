"""Select under a budget from per-span scores, as a compressor would, and score what is kept.

Units are the compressor's sentence pieces (cached by :mod:`.features`). A method is a *scorer*
``Item -> per-span scores`` plus a selection rule:

- ``greedy``: spans in score order, each taken when it still fits (cost = its cl100k tokens + 1
  joining space, budget + 1: the compressor's accounting), the rest skipped;
- ``knapsack``: the compressor's 0/1 knapsack over ``(minmax(score) ** p + 1e-6) * tokens``
  (relevance-density; ``p = 2`` is what the compressor uses);
- ``docs``: whole documents in order of a document score, the first that does not fit cut to the
  sentences that still fit (the doc-dense / LangChain EmbeddingsFilter peer).

Kept spans are emitted per document in reading order joined by one space. Metrics:

- ``ans``: the benchmark's answer recall (:func:`benchmarks.metrics.answer_recall`: a normalised
  answer on word boundaries within one document's kept text; answers that are yes/no, inside the
  question or absent from the input are not scored);
- ``ans_simple``: the simplest definition: a normalised answer is a substring of the normalised
  kept text of all documents joined (same scorable items);
- ``ev``: evidence recall (:func:`benchmarks.metrics.evidence_recall`).

``fast`` metrics compute the same from span labels (an answer inside one kept span; an evidence
piece kept when every span overlapping it is kept): exact up to answers that straddle two adjacent
kept spans; :func:`sanity` measures the difference and compares with the real compressor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..metrics import answer_recall, contains, evidence_recall, normalize, scorable_answers
from .features import OUT, RATIOS, items_of

PRIMARY = {
    "nq": "ans",
    "hotpotqa": "ans",
    "hotpot_hard": "ans",
    "hotpot_hard_notitle": "ans",
    "triviaqa": "ans",
    "kv": "ans",
    "clapnq": "ev",
    "qmsum": "ev",
}
LABEL = {"nq": "label_ans", "triviaqa": "label_ans"}  # others: label_ev


@dataclass
class Item:
    """One benchmark item with its cached per-span signals (sentence units)."""

    raw: dict[str, Any]
    sig: dict[str, np.ndarray]
    V: dict[str, np.ndarray]
    q: np.ndarray
    original: int
    ours: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.sig["tokens"])

    @cached_property
    def doc(self) -> np.ndarray:
        return self.sig["doc"].astype(np.int64)

    @cached_property
    def n_docs(self) -> int:
        return len(self.raw["documents"])

    @cached_property
    def tokens(self) -> np.ndarray:
        return self.sig["tokens"].astype(np.int64)

    @cached_property
    def texts(self) -> list[str]:
        docs = self.raw["documents"]
        return [
            docs[d][0][int(a) : int(b)]
            for d, a, b in zip(self.doc, self.sig["start"], self.sig["end"])
        ]

    @cached_property
    def answers(self) -> list[str]:
        ctx = " ".join(t for t, _ in self.raw["documents"])
        return (
            scorable_answers(self.raw["answers"], self.raw["query"], ctx)
            if self.raw["answers"]
            else []
        )

    @cached_property
    def simple_answers(self) -> list[str]:
        """Non-trivial answers (not yes/no, not in the question) that occur in the input as a
        substring of its joined normalised text."""
        q = normalize(self.raw["query"])
        ctx = normalize(" ".join(t for t, _ in self.raw["documents"]))
        out = []
        for a in self.raw["answers"]:
            n = normalize(a)
            if n and n not in ("yes", "no") and not contains(q, n) and n in ctx and n not in out:
                out.append(n)
        return out

    @cached_property
    def lab_ans(self) -> np.ndarray:
        return self.sig["label_ans"] > 0

    @cached_property
    def lab_simple(self) -> np.ndarray:
        norm = [normalize(t) for t in self.texts]
        return np.array([any(a in t for a in self.simple_answers) for t in norm], dtype=bool)

    @cached_property
    def ev_cover(self) -> list[np.ndarray]:
        """Per (non-empty) evidence piece, the spans overlapping it."""
        out = []
        docs = self.raw["documents"]
        for d, a, b in self.raw["evidence"]:
            if not normalize(docs[d][0][a:b]):
                continue
            m = (self.doc == d) & (self.sig["start"] < b) & (self.sig["end"] > a)
            out.append(np.where(m)[0])
        return out

    def budget(self, ratio: int) -> int:
        return max(1, self.original // ratio)


def load_set(name: str) -> list[Item]:
    """The cached items of one tuning set (features must have been built)."""
    z = np.load(OUT / f"{name}.npz", allow_pickle=False)
    raw = items_of(name)
    ids = [str(x) for x in z["ids"]]
    assert ids == [it["id"] for it in raw], f"{name}: cached features are stale"
    ours_path = OUT / f"{name}.ours.json"
    ours = json.loads(ours_path.read_text()) if ours_path.exists() else {}
    off = z["offsets"]
    sig_names = [k[4:] for k in z.files if k.startswith("sig_")]
    sigs = {k: z[f"sig_{k}"] for k in sig_names}
    reps = [k[2:] for k in z.files if k.startswith("V_")]
    Vs = {r: z[f"V_{r}"] for r in reps}
    pool = z["span_pool"]
    items = []
    for i, it in enumerate(raw):
        a, b = int(off[i]), int(off[i + 1])
        items.append(
            Item(
                raw=it,
                sig={k: v[a:b] for k, v in sigs.items()},
                V={r: v[pool[a:b]].astype(np.float32) for r, v in Vs.items()},
                q=z["Q"][i].astype(np.float32),
                original=int(z["original_tokens"][i]),
                ours=ours.get(it["id"], {}),
            )
        )
    return items


# --- selection -------------------------------------------------------------------------------


def greedy(score: np.ndarray, tokens: np.ndarray, budget: int) -> np.ndarray:
    """Score order, take what fits (cost tokens + 1, capacity budget + 1), skip the rest."""
    order = np.lexsort((np.arange(len(score)), -score))
    cost = tokens[order] + 1
    left = budget + 1
    keep = np.zeros(len(score), dtype=bool)
    csum = np.cumsum(cost)
    p = int(np.searchsorted(csum, left, side="right"))  # the prefix that fits whole
    keep[order[:p]] = True
    left -= int(csum[p - 1]) if p else 0
    rest = np.where(cost[p:] <= left)[0] + p
    for j in rest.tolist():
        c = int(cost[j])
        if c <= left:
            keep[order[j]] = True
            left -= c
            if left <= 1:
                break
    return keep


def knapsack_select(
    score: np.ndarray, tokens: np.ndarray, budget: int, power: float = 2.0
) -> np.ndarray:
    from semtoken_rag.pipeline.score import minmax
    from semtoken_rag.pipeline.select import knapsack

    val = (minmax(score) ** power + 1e-6) * np.maximum(tokens, 1)
    idx = knapsack(val, tokens + 1, budget + 1)
    keep = np.zeros(len(score), dtype=bool)
    keep[idx] = True
    return keep


def docs_select(
    doc_score: np.ndarray, doc: np.ndarray, tokens: np.ndarray, budget: int
) -> np.ndarray:
    """Whole documents by ``doc_score`` (one value per document); the first that does not fit
    contributes its leading sentences that fit; then stop."""
    keep = np.zeros(len(doc), dtype=bool)
    left = budget
    for d in np.lexsort((np.arange(len(doc_score)), -doc_score)).tolist():
        idx = np.where(doc == d)[0]
        cost = int(tokens[idx].sum() + max(len(idx) - 1, 0))
        if cost <= left:
            keep[idx] = True
            left -= cost
            continue
        for i in idx.tolist():
            if tokens[i] + 1 <= left:
                keep[i] = True
                left -= int(tokens[i]) + 1
            else:
                break
        break
    return keep


SELECT: dict[str, Callable[..., np.ndarray]] = {"greedy": greedy, "knapsack": knapsack_select}


# --- metrics ---------------------------------------------------------------------------------


def fast_metrics(it: Item, keep: np.ndarray) -> dict[str, float | None]:
    out: dict[str, float | None] = {"ans": None, "ans_simple": None, "ev": None}
    if it.answers:
        out["ans"] = float(bool(np.any(it.lab_ans & keep)))
    if it.simple_answers:
        out["ans_simple"] = float(bool(np.any(it.lab_simple & keep)))
    if it.ev_cover:
        out["ev"] = float(np.mean([bool(keep[c].all()) if len(c) else False for c in it.ev_cover]))
    return out


def kept_texts(it: Item, keep: np.ndarray) -> list[str]:
    per: list[list[str]] = [[] for _ in range(it.n_docs)]
    for i in np.where(keep)[0].tolist():
        per[int(it.doc[i])].append(it.texts[i])
    return [" ".join(p) for p in per]


def text_metrics(it: Item, texts: Sequence[str]) -> dict[str, float | None]:
    """The benchmark's metrics on kept texts (one per document)."""
    docs = [t for t, _ in it.raw["documents"]]
    out: dict[str, float | None] = {
        "ans": answer_recall(texts, it.answers) if it.answers else None,
        "ans_simple": None,
        "ev": evidence_recall(texts, docs, it.raw["evidence"]) if it.raw["evidence"] else None,
    }
    if it.simple_answers:
        joined = normalize(" ".join(t for t in texts if t))
        out["ans_simple"] = float(any(a in joined for a in it.simple_answers))
    return out


Scorer = Callable[[Item], np.ndarray]


def evaluate(
    items: Sequence[Item],
    scorer: Scorer,
    select: str = "greedy",
    ratios: Sequence[int] = RATIOS,
    exact: bool = False,
    **kw: Any,
) -> dict[int, dict[str, float]]:
    """Mean metrics per compression ratio of one method on one set."""
    acc: dict[int, dict[str, list[float]]] = {r: {} for r in ratios}
    for it in items:
        s = scorer(it)
        for r in ratios:
            keep = SELECT[select](s, it.tokens, it.budget(r), **kw)
            m = text_metrics(it, kept_texts(it, keep)) if exact else fast_metrics(it, keep)
            for k, v in m.items():
                if v is not None:
                    acc[r].setdefault(k, []).append(v)
    return {r: {k: float(np.mean(v)) for k, v in d.items()} for r, d in acc.items()}


def evaluate_keep(
    items: Sequence[Item],
    keeper: Callable[[Item, int], np.ndarray],
    ratios: Sequence[int] = RATIOS,
    exact: bool = False,
    adaptive: bool | str = False,
) -> dict[int, dict[str, float]]:
    """Like :func:`evaluate` for a method that selects itself: ``keeper(item, budget) -> mask``
    (on the budget's adaptive units when ``adaptive``; with ``"topup"`` the keeper gets the
    sentence item and returns a mask over its clause view, ``adaptive_view(item, 0)``)."""
    acc: dict[int, dict[str, list[float]]] = {r: {} for r in ratios}
    for it0 in items:
        for r in ratios:
            if adaptive == "topup":
                it = adaptive_view(it0, 0)
                keep = keeper(it0, it0.budget(r))
            else:
                share = WHOLE_SENTENCE_SHARE if adaptive is True else float(adaptive or 0)
                it = adaptive_view(it0, it0.budget(r), share) if adaptive else it0
                keep = keeper(it, it.budget(r))
            m = text_metrics(it, kept_texts(it, keep)) if exact else fast_metrics(it, keep)
            for k, v in m.items():
                if v is not None:
                    acc[r].setdefault(k, []).append(v)
    return {r: {k: float(np.mean(v)) for k, v in d.items()} for r, d in acc.items()}


def evaluate_ours(
    items: Sequence[Item], config: str = "default", ratios: Sequence[int] = RATIOS
) -> dict[int, dict[str, float]]:
    """The real compressor's kept texts (from the feature run), scored by the benchmark metrics."""
    acc: dict[int, dict[str, list[float]]] = {r: {} for r in ratios}
    for it in items:
        for r in ratios:
            m = text_metrics(it, it.ours[f"{config}/{r}x"]["texts"])
            for k, v in m.items():
                if v is not None:
                    acc[r].setdefault(k, []).append(v)
    return {r: {k: float(np.mean(v)) for k, v in d.items()} for r, d in acc.items()}


# --- per-input transforms --------------------------------------------------------------------


def rank(x: np.ndarray) -> np.ndarray:
    """Competition rank within the input, 0 = best; ties share the best rank."""
    order = np.argsort(-x, kind="stable")
    xs = x[order]
    r = np.empty(len(x), dtype=np.float64)
    first = np.r_[True, xs[1:] != xs[:-1]] if len(x) else np.zeros(0, dtype=bool)
    pos = np.arange(len(x), dtype=np.float64)
    r[order] = np.maximum.accumulate(np.where(first, pos, 0.0))
    return r


def doc_rank(it: Item, doc_values: np.ndarray) -> np.ndarray:
    """Per span, the competition rank of its document by ``doc_values`` (one per document)."""
    return rank(doc_values)[it.doc]


def per_doc(it: Item, span_values: np.ndarray) -> np.ndarray:
    """The (document-level) value of each document from a broadcast per-span signal."""
    out = np.full(it.n_docs, -np.inf)
    np.maximum.at(out, it.doc, span_values)
    return np.where(np.isfinite(out), out, 0.0)


def robust_z(x: np.ndarray) -> np.ndarray:
    from semtoken_rag.pipeline.score import standardise

    return standardise(np.asarray(x, dtype=np.float64))


_ENTITY = re.compile(
    r"\b(?:[A-Z][\w'’.\-]*[\w]|[A-Z])(?:\s+(?:of|the|de|du|da|del|von|van|la|le|and|&)?\s*"
    r"(?:[A-Z][\w'’.\-]*[\w]|[A-Z]))*|\b\d[\d,.:/\-]*\d\b|\b\d{2,}\b"
)


def entities(text: str) -> set[str]:
    """Capitalised n-grams and numbers of a text, lower case; common capitalised words (stop
    words, e.g. a sentence-initial "The") dropped."""
    from semtoken_rag.pipeline.score import STOPWORDS

    out = set()
    for m in _ENTITY.finditer(text):
        e = m.group(0).strip(" .'’-").lower()
        words = e.split()
        while words and words[0] in STOPWORDS:
            words = words[1:]
        e = " ".join(words)
        if len(e) >= 3 and e not in STOPWORDS:
            out.add(e)
    return out


def lexical_signals(sig: dict[str, np.ndarray], texts: list[str], docs: Any, query: str) -> None:
    """Recompute the lexical signals of re-cut units in place: ``bm25``, ``bm25_title`` (title +
    text), ``bm25_peer`` (rank_bm25, the peer's tokenisation) and ``needle`` (share of the
    query's identifiers each text holds); ``sig["doc"]`` gives each unit's document."""
    from rank_bm25 import BM25Okapi

    from semtoken_rag.pipeline.score import bm25, terms

    from .. import datasets as D
    from .features import needles

    titles = [docs[int(d)][1].get("title", "") for d in sig["doc"]]
    qt = terms(query)
    sig["bm25"] = bm25(qt, [terms(t) for t in texts])
    sig["bm25_title"] = bm25(qt, [terms(f"{ti} {t}" if ti else t) for ti, t in zip(titles, texts)])
    sig["bm25_peer"] = np.asarray(
        BM25Okapi([D._words(t) or ["_"] for t in texts]).get_scores(D._words(query))
    )
    ns = needles(query)
    sig["needle"] = np.array(
        [sum(x in t.lower() for x in ns) for t in texts], dtype=np.float64
    ) / max(len(ns), 1)


def coarsen_view(it: Item, max_doc_tokens: int) -> Item:
    """The item with every document of at most ``max_doc_tokens`` tokens as ONE unit (a short
    chat turn, key-value line or web-page line is kept or dropped whole); longer documents keep
    their sentences. Signals of a merged unit: dense = token-weighted mean of its sentences'
    vectors (the standalone one: the document's own encode), lexical ones recomputed on its text,
    document signals unchanged."""
    if max_doc_tokens <= 0:
        return it
    doc_tok = np.bincount(it.doc, weights=it.tokens + 1, minlength=it.n_docs) - 1
    groups: list[list[int]] = []
    for i in range(it.n):
        d = int(it.doc[i])
        if groups and doc_tok[d] <= max_doc_tokens and int(it.doc[groups[-1][0]]) == d:
            groups[-1].append(i)
        else:
            groups.append([i])
    if len(groups) == it.n:
        return it
    docs = it.raw["documents"]
    sig: dict[str, np.ndarray] = {}
    first = np.array([g[0] for g in groups])
    last = np.array([g[-1] for g in groups])
    for k in (
        "doc",
        "start",
        "sent_idx",
        "sent_pos",
        "doc_pos",
        "doc_late",
        "doc_st",
        "bm25_doc",
        "n_needles",
        "q_terms",
        "q_found",
        "exact_semtoken",
    ):
        sig[k] = it.sig[k][first]
    sig["end"] = it.sig["end"][last]
    sig["tokens"] = np.array([it.tokens[g].sum() + len(g) - 1 for g in groups], dtype=np.float64)
    V: dict[str, np.ndarray] = {}
    w = it.tokens.astype(np.float64) + 1e-6
    for rep, M in it.V.items():
        out = np.stack([(M[g] * w[g, None]).sum(axis=0) for g in groups])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        V[rep] = out.astype(np.float32)
        sig[rep] = out @ it.q
    whole = np.array([len(g) > 1 for g in groups])
    for rep in ("sent", "sent_title"):
        sig[rep] = np.where(whole, sig["doc_st"], sig[rep])
    texts = [
        docs[int(sig["doc"][j])][0][int(sig["start"][j]) : int(sig["end"][j])]
        for j in range(len(groups))
    ]
    lexical_signals(sig, texts, docs, it.raw["query"])
    sig["qcov"] = np.array([it.sig["qcov"][g].max() for g in groups])
    sig["label_ev"] = np.array([it.sig["label_ev"][g].max() for g in groups])
    ans = it.answers
    sig["label_ans"] = np.array(
        [1.0 if any(contains(normalize(t), a) for a in ans) else 0.0 for t in texts]
    )
    return Item(raw=it.raw, sig=sig, V=V, q=it.q, original=it.original, ours=it.ours)


WHOLE_SENTENCE_SHARE = (
    0.5  # the compressor's rule (stages.py): a sentence stays whole up to this share
)
MAX_SPAN_TOKENS = 40  # ... or up to max_span_tokens, whichever is larger
_CLAUSES: dict[str, Any] = {}


def _clause_memo() -> dict[str, Any]:
    """The compressor's default (adaptive) pieces of every document, from the feature memos."""
    if not _CLAUSES:
        from .features import MEMO, Memo

        for path in sorted(MEMO.glob("late-*.npz")):
            for k, v in Memo(path.stem.split("-", 1)[0], path.stem.split("-", 1)[1]).data.items():
                if "fp" in v:
                    _CLAUSES[k] = v["fp"]["default"]
    return _CLAUSES


def adaptive_view(it: Item, budget: int, share: float = WHOLE_SENTENCE_SHARE) -> Item:
    """Units as the compressor's adaptive granularity makes them for ``budget``: a sentence of
    more than ``max(40, budget / 2)`` tokens is replaced by its clause pieces (the compressor's own
    default pieces and their late-pooled window-5 vectors); every other unit stays. A clause
    inherits its sentence's standalone and document signals; lexical signals are recomputed on
    the new unit table."""
    from .features import key

    whole = max(MAX_SPAN_TOKENS, int(budget * share))
    long_ = np.where(it.tokens > whole)[0]
    c = it.__dict__.setdefault("_adaptive", {})
    if not len(long_):
        return it
    if whole in c:
        return c[whole]
    memo = _clause_memo()
    docs = it.raw["documents"]
    parts: list[
        tuple[int, int, int, int, np.ndarray | None]
    ] = []  # (parent, start, end, tokens, vec)
    long_set = set(long_.tolist())
    fps: dict[int, Any] = {}
    for i in range(it.n):
        if i in long_set:
            d = int(it.doc[i])
            if d not in fps:
                text, meta = docs[d]
                fps[d] = memo.get(key("late5", meta.get("title", ""), text))
            fp = fps[d]
            if fp is not None:
                a, b = int(it.sig["start"][i]), int(it.sig["end"][i])
                sel = np.where((fp.starts >= a) & (fp.ends <= b))[0]
                if len(sel) >= 2:
                    for j in sel.tolist():
                        parts.append(
                            (
                                i,
                                int(fp.starts[j]),
                                int(fp.ends[j]),
                                int(fp.tokens[j]),
                                np.asarray(fp.vectors[j], dtype=np.float32),
                            )
                        )
                    continue
        parts.append((i, int(it.sig["start"][i]), int(it.sig["end"][i]), int(it.tokens[i]), None))
    if len(parts) == it.n:
        c[whole] = it
        return it
    parent = np.array([p[0] for p in parts])
    sig = {k: v[parent] for k, v in it.sig.items()}
    sig["parent"] = parent.astype(np.float64)
    sig["start"] = np.array([p[1] for p in parts], dtype=np.float64)
    sig["end"] = np.array([p[2] for p in parts], dtype=np.float64)
    sig["tokens"] = np.array([p[3] for p in parts], dtype=np.float64)
    V = {rep: M[parent] for rep, M in it.V.items()}
    own = np.array([p[4] is not None for p in parts])
    if own.any():
        V["late5"] = V["late5"].copy()
        V["late5"][own] = np.stack([p[4] for p in parts if p[4] is not None])
        sig["late5"] = V["late5"] @ it.q
    texts = [
        docs[int(d)][0][int(a) : int(b)] for d, a, b in zip(sig["doc"], sig["start"], sig["end"])
    ]
    lexical_signals(sig, texts, docs, it.raw["query"])
    sig["label_ans"] = np.array(
        [1.0 if any(contains(normalize(t), a) for a in it.answers) else 0.0 for t in texts]
    )
    out = Item(raw=it.raw, sig=sig, V=V, q=it.q, original=it.original, ours=it.ours)
    c[whole] = out
    return out
