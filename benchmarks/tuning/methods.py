"""Scorers of every method family, from the cached signals (per-input transforms only).

A configuration is a plain dict; :func:`keeper` turns one into ``(item, budget) -> keep mask``.
Families: ``peer`` (BM25 / SBERT sentences, doc dense), ``single`` (one signal, greedy), ``rrf``
(weighted reciprocal-rank fusion), ``calib`` (per-input weights from each signal's dispersion or
its agreement with the others), ``learned`` (logistic regression over scale-free features, see
:mod:`.learned`); each optionally with dense pseudo-relevance feedback (``prf_beta``, ``prf_m``),
title bridges (``w_tb``) and entity bridges (``w_eb``), and a selection rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .evaluate import (
    Item,
    docs_select,
    entities,
    greedy,
    knapsack_select,
    per_doc,
    rank,
    robust_z,
)

Config = dict[str, Any]

DOC_SIGNALS = ("doc_st", "doc_late", "bm25_doc")


def cache(it: Item) -> dict[str, Any]:
    c = it.__dict__.setdefault("_cache", {})
    return c


def signal(it: Item, name: str) -> np.ndarray:
    """A cached raw signal, or a derived one: ``res<a>_<rep>`` = cosine of the query with the span
    vector minus ``a``/100 times its document's mean span vector (the paragraph component the
    late-pooled fingerprints share), no extra encoder pass."""
    if name in it.sig:
        return it.sig[name]
    c = cache(it)
    if ("sig", name) not in c:
        if not name.startswith("res"):
            raise KeyError(name)
        a, rep = name[3:].split("_", 1)
        V = it.V[rep]
        mean = np.zeros((it.n_docs, V.shape[1]))
        np.add.at(mean, it.doc, V)
        mean /= np.maximum(np.bincount(it.doc, minlength=it.n_docs), 1)[:, None]
        R = V - (int(a) / 100.0) * mean[it.doc]
        R /= np.maximum(np.linalg.norm(R, axis=1, keepdims=True), 1e-9)
        c[("sig", name)] = R @ it.q
    return c[("sig", name)]


def srank(it: Item, name: str) -> np.ndarray:
    """Span-level competition rank of a raw signal (cached)."""
    c = cache(it)
    k = ("rank", name)
    if k not in c:
        c[k] = rank(signal(it, name))
    return c[k]


def drank(it: Item, name: str) -> np.ndarray:
    """Per span, the rank of its document by a document-level signal (cached)."""
    c = cache(it)
    k = ("drank", name)
    if k not in c:
        c[k] = rank(per_doc(it, it.sig[name]))[it.doc]
    return c[k]


def zsig(it: Item, name: str) -> np.ndarray:
    c = cache(it)
    k = ("z", name)
    if k not in c:
        if name in DOC_SIGNALS:
            dz = robust_z(per_doc(it, it.sig[name]))
            c[k] = dz[it.doc]
        else:
            c[k] = robust_z(signal(it, name))
    return c[k]


def span_entities(it: Item) -> list[set[str]]:
    c = cache(it)
    if "ents" not in c:
        c["ents"] = [entities(t) for t in it.texts]
        c["q_ents"] = entities(it.raw["query"]) | {
            w for w in it.raw["query"].lower().split() if len(w) > 3
        }
    return c["ents"]


def doc_entities(it: Item) -> list[set[str]]:
    c = cache(it)
    if "doc_ents" not in c:
        ents = span_entities(it)
        out: list[set[str]] = [set() for _ in range(it.n_docs)]
        for i, e in enumerate(ents):
            out[int(it.doc[i])] |= e
        c["doc_ents"] = out
    return c["doc_ents"]


# --- fused scores ----------------------------------------------------------------------------


def rrf_terms(
    it: Item,
    cfg: Config,
    dense: dict[str, np.ndarray] | None = None,
    extra: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Weighted reciprocal-rank fusion: ``sum_s w_s / (k + 1 + rank_s)`` (``combine="sum"``), or
    the best single term ``max_s`` (``"max"``: round-robin over the signals' top spans), or
    their mean (``"mix"``)."""
    k = float(cfg.get("k", 10))
    terms: list[np.ndarray] = []
    for key, sig in (("w_ctx", cfg.get("ctx", "late5")), ("w_sent", cfg.get("sent", "sent"))):
        w = float(cfg.get(key, 0.0))
        if w and sig:
            r = rank(dense[sig]) if dense is not None and sig in dense else srank(it, sig)
            terms.append(w / (k + 1 + r))
    w = float(cfg.get("w_lex", 0.0))
    if w:
        terms.append(w / (k + 1 + srank(it, cfg.get("lex", "bm25_title"))))
    w = float(cfg.get("w_doc", 0.0))
    if w:
        docs = cfg.get("doc", ("doc_st", "bm25_doc"))
        terms.append(w * sum(1.0 / (k + 1 + drank(it, d)) for d in docs) / len(docs))
    terms += [t for t in extra if t.any()]
    if not terms:
        terms.append(np.zeros(it.n))
    T = np.stack(terms)
    comb = cfg.get("combine", "sum")
    if comb == "max":
        s = T.max(axis=0) + 1e-3 * T.sum(axis=0)
    elif comb == "mix":
        s = 0.5 * T.sum(axis=0) / len(terms) + 0.5 * T.max(axis=0)
    else:
        s = T.sum(axis=0)
    w = float(cfg.get("w_needle", 0.0))
    if w and it.sig["n_needles"][0] > 0:
        s = s + w * it.sig["needle"] / (k + 1)
    return s


def calib_terms(it: Item, cfg: Config) -> np.ndarray:
    """Per-input weights: ``peak`` = robust z of each signal's best span (how clearly it picks a
    winner on this input), ``agree`` = mean overlap of its top-m with the other signals' top-m;
    weights ``conf ** gamma`` normalised; combined as z-sum or RRF."""
    sigs = cfg.get("signals", ("late5", "sent", "bm25_title", "doc_st", "bm25_doc"))
    m = int(cfg.get("m", 10))
    gamma = float(cfg.get("gamma", 1.0))
    zs = [zsig(it, s) for s in sigs]
    if cfg.get("weighting") == "peak":
        conf = np.array([max(float(z.max()), 0.0) for z in zs])
    elif cfg.get("weighting") == "agree":
        tops = [
            set(np.argsort(-(z + 1e-9 * -np.arange(len(z))), kind="stable")[:m].tolist())
            for z in zs
        ]
        if any(s in DOC_SIGNALS for s in sigs):  # document signals: top-m docs' spans
            for j, s in enumerate(sigs):
                if s in DOC_SIGNALS:
                    dv = per_doc(it, it.sig[s])
                    best = set(np.argsort(-dv, kind="stable")[: max(1, m // 5)].tolist())
                    tops[j] = {i for i in range(it.n) if int(it.doc[i]) in best}
        conf = np.array(
            [
                np.mean(
                    [
                        len(tops[a] & tops[b]) / max(len(tops[a]), 1)
                        for b in range(len(sigs))
                        if b != a
                    ]
                )
                for a in range(len(sigs))
            ]
        )
    else:
        conf = np.ones(len(sigs))
    w = np.maximum(conf, 1e-6) ** gamma
    w = w / w.sum()
    if cfg.get("combine", "z") == "z":
        return sum(wi * np.clip(z, -6, 12) for wi, z in zip(w, zs))
    k = float(cfg.get("k", 10))
    return sum(wi / (k + 1 + rank(z)) for wi, z in zip(w, zs))


def prf_dense(it: Item, cfg: Config, first: np.ndarray) -> dict[str, np.ndarray]:
    """Rocchio: q' = q + beta * mean of the top-m spans' vectors (by the first-pass score)."""
    beta, m = float(cfg.get("prf_beta", 0.0)), int(cfg.get("prf_m", 3))
    top = np.argsort(-first, kind="stable")[:m]
    out = {}
    for rep in {cfg.get("ctx", "late5"), cfg.get("sent", "sent")} - {None, ""}:
        if rep not in it.V:
            continue
        V = it.V[rep]
        q = it.q + beta * V[top].mean(axis=0)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        out[rep] = V @ q
    return out


def bridge_sets(it: Item, cfg: Config, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per document, whether a title bridge links it to the first pass's top documents (its
    title is mentioned by one, or it mentions one's title); per span, whether it shares an
    entity (capitalised n-gram or number not in the query) with the top-m spans while lying in
    another document."""
    m = int(cfg.get("bridge_m", 3))
    top = np.argsort(-first, kind="stable")[:m]
    top_docs = sorted({int(it.doc[i]) for i in top})
    titles = [mm.get("title", "") for _, mm in it.raw["documents"]]
    linked = np.zeros(it.n_docs, dtype=bool)
    if any(titles) and cfg.get("w_tb"):
        from semtoken_rag.pipeline.relevance import _bare_title

        low = [t.lower() for t, _ in it.raw["documents"]]
        for j in range(it.n_docs):
            if j in top_docs:
                continue
            tj = _bare_title(titles[j])
            for d in top_docs:
                td = _bare_title(titles[d])
                forward = bool(tj) and tj in low[d]  # a top document names document j's title
                backward = bool(td) and td in low[j] and not cfg.get("forward_only")
                if forward or backward:
                    linked[j] = True
    ent_span = np.zeros(it.n, dtype=bool)
    if cfg.get("w_eb"):
        ents = span_entities(it)
        qe = cache(it)["q_ents"]
        bridge = set().union(*(ents[i] for i in top)) - qe
        bridge = {e for e in bridge if not any(e in q or q in e for q in qe)}
        if bridge:
            other = ~np.isin(it.doc, top_docs)
            ent_span = other & np.array([bool(ents[i] & bridge) for i in range(it.n)])
    return linked, ent_span


def bridge_terms(it: Item, cfg: Config, first: np.ndarray) -> np.ndarray | list[np.ndarray]:
    """Bridges as extra ranked signals: the spans of title-linked documents, and the spans that
    carry a bridge entity, each ordered by the first-pass score (rank 0 = the best such span),
    weighted ``w_tb`` / ``w_eb`` on the RRF scale; other spans get nothing from them."""
    k = float(cfg.get("k", 10))
    linked, ent_span = bridge_sets(it, cfg, first)
    out = []
    for w, mask in (
        (float(cfg.get("w_tb", 0.0)), linked[it.doc]),
        (float(cfg.get("w_eb", 0.0)), ent_span),
    ):
        t = np.zeros(it.n)
        if w and mask.any():
            idx = np.where(mask)[0]
            r = rank(first[idx])
            t[idx] = w / (k + 1 + r)
        out.append(t)
    return out


def score(it: Item, cfg: Config) -> np.ndarray:
    fam = cfg["family"]
    if fam == "single":
        s = signal(it, cfg["signal"]).astype(np.float64)
        tb = cfg.get("tiebreak")
        if tb:
            s = s + 1e-6 * robust_z(it.sig[tb])
        return s
    if fam == "rrf":
        s = rrf_terms(it, cfg)
    elif fam == "calib":
        s = calib_terms(it, cfg)
    elif fam == "learned":
        s = cfg["model"].score(it)
    else:
        raise ValueError(fam)
    if cfg.get("prf_beta"):
        dense = prf_dense(it, cfg, s)
        if fam == "rrf":
            s = rrf_terms(it, cfg, dense)
    if cfg.get("w_tb") or cfg.get("w_eb"):
        extra = bridge_terms(it, cfg, s)
        if fam == "rrf":
            s = rrf_terms(it, cfg, dense if cfg.get("prf_beta") else None, extra)
        else:
            s = s + sum(extra)
    return s


def keep_mask(it: Item, cfg: Config, budget: int) -> np.ndarray:
    fam = cfg["family"]
    if fam == "peer" and cfg["peer"] == "doc_dense":
        return docs_select(per_doc(it, it.sig["doc_st"]), it.doc, it.tokens, budget)
    if fam == "peer":
        sig = {"bm25": "bm25_peer", "sbert": "sent"}[cfg["peer"]]
        return greedy(it.sig[sig].astype(np.float64), it.tokens, budget)
    c = it.__dict__.setdefault("_scores", {})
    skip = {"model", "select", "power", "retain", "retain_signals", "name"}
    key = (repr(sorted((k, v) for k, v in cfg.items() if k not in skip)), id(cfg.get("model")))
    if key not in c:
        if len(c) > 64:
            c.clear()
        c[key] = score(it, cfg)
    s = c[key]
    sel = cfg.get("select", "greedy")
    if sel == "knapsack":
        keep = knapsack_select(s, it.tokens, budget, float(cfg.get("power", 2.0)))
    else:
        keep = greedy(s, it.tokens, budget)
    if cfg.get("retain"):
        keep = retain(it, cfg, s, keep, budget)
    return keep


def topup_mask(it: Item, cfg: Config, budget: int) -> np.ndarray:
    """Whole sentences first (``cfg`` on sentence units), then the capacity left is filled with
    clause pieces of sentences not kept, in the order of their own fused score on the clause view
    (``evaluate.adaptive_view(it, 0)``: every sentence of more than 40 tokens as its pieces).
    Returns a mask over that clause view."""
    from .evaluate import adaptive_view

    base = {k: v for k, v in cfg.items() if k != "topup"}
    keep_s = keep_mask(it, base, budget)
    v = adaptive_view(it, 0)
    parent = v.sig["parent"].astype(np.int64) if "parent" in v.sig else np.arange(v.n)
    out = keep_s[parent].copy()
    used = int((it.tokens[keep_s] + 1).sum())
    left = budget + 1 - used
    if left <= 1 or v is it:
        return out
    s = keep_mask_scores(v, base)
    for j in np.lexsort((np.arange(v.n), -s)).tolist():
        if out[j] or keep_s[parent[j]]:
            continue
        c = int(v.tokens[j]) + 1
        if c <= left:
            out[j] = True
            left -= c
            if left <= 1:
                break
    return out


def keep_mask_scores(it: Item, cfg: Config) -> np.ndarray:
    c = it.__dict__.setdefault("_scores", {})
    skip = {"model", "select", "power", "retain", "retain_signals", "name", "topup"}
    key = (repr(sorted((k, v) for k, v in cfg.items() if k not in skip)), id(cfg.get("model")))
    if key not in c:
        if len(c) > 64:
            c.clear()
        c[key] = score(it, cfg)
    return c[key]


SINGLE_SIGNALS = {
    "late5": None,
    "late2": None,
    "late1": None,
    "res25_late5": None,
    "res50_late5": None,
    "res75_late5": None,
    "res50_late2": None,
    "res100_late5": None,
    "sent": None,
    "sent_title": None,
    "bm25": "late5",
    "bm25_title": "late5",
    "bm25_peer": "sent",
    "doc_late": "late5",
    "doc_st": "sent",
    "bm25_doc": "bm25",
    "needle": "late5",
    "qcov": "late5",
}


def retain(it: Item, cfg: Config, s: np.ndarray, keep: np.ndarray, budget: int) -> np.ndarray:
    """Retention rule: each single signal's top span, and spans holding a query number or
    identifier, are kept while they fit; the rest of the budget is filled in score order."""
    must: list[int] = []
    for sig in cfg.get("retain_signals", ("late5", "sent", "bm25_title", "doc_st")):
        v = it.sig[sig]
        if sig in DOC_SIGNALS:
            d = int(np.argmax(per_doc(it, v)))
            idx = np.where(it.doc == d)[0]
            must.append(int(idx[np.argmax(s[idx])]))
        else:
            must.append(int(np.argmax(v)))
    if it.sig["n_needles"][0] > 0:
        must += np.where(it.sig["needle"] > 0)[0][np.argsort(-s[it.sig["needle"] > 0])].tolist()
    out = np.zeros(it.n, dtype=bool)
    left = budget + 1
    for i in dict.fromkeys(must):
        c = int(it.tokens[i]) + 1
        if c <= left:
            out[i] = True
            left -= c
    for i in np.lexsort((np.arange(it.n), -s)).tolist():
        if not out[i] and it.tokens[i] + 1 <= left:
            out[i] = True
            left -= int(it.tokens[i]) + 1
    return out
