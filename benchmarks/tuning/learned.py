"""A tiny learned combiner: logistic regression over scale-free per-input span features.

Features (all computed within one input, so no data-set scale leaks in): for each span signal its
robust z-score (clipped to [-4, 8]) and reciprocal rank ``1 / (1 + rank)``; for each document
signal the same over documents; the query's regime (log content terms, share of its terms found
verbatim, whether it names a number/identifier) and its interaction with each signal's z; span
position and length. Trained on span labels of the *other* sets, every set weighing the same and,
within a set, every item the same (positives and negatives half each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .evaluate import LABEL, Item, per_doc, rank, robust_z

SPAN = ("late5", "res50_late5", "sent", "bm25_title", "needle")
DOCS = ("doc_st", "doc_late", "bm25_doc")
# "small": only signals of the compressor's one pass (no standalone or doc encode), no interactions
SMALL_SPAN = ("late5", "res50_late5", "bm25_title", "needle")
SMALL_DOCS = ("doc_late", "bm25_doc")


def features(it: Item, small: bool = False) -> tuple[np.ndarray, list[str]]:
    from .methods import signal

    span, docs = (SMALL_SPAN, SMALL_DOCS) if small else (SPAN, DOCS)
    cols, names = [], []
    qt = float(np.log1p(it.sig["q_terms"][0]))
    qf = float(it.sig["q_found"][0])
    for s in span:
        v = signal(it, s)
        z = np.clip(robust_z(v), -4, 8)
        cols += [z, 1.0 / (1.0 + rank(v))]
        names += [f"z_{s}", f"rr_{s}"]
        if not small:
            cols += [z * qt, z * qf]
            names += [f"z_{s}*logq", f"z_{s}*found"]
    for s in docs:
        dv = per_doc(it, it.sig[s])
        z = np.clip(robust_z(dv), -4, 8)[it.doc]
        cols += [z, (1.0 / (1.0 + rank(dv)))[it.doc]]
        names += [f"dz_{s}", f"drr_{s}"]
        if not small:
            cols += [z * qt, z * qf]
            names += [f"dz_{s}*logq", f"dz_{s}*found"]
    if not small:
        cols += [
            np.log1p(it.sig["tokens"]),
            (it.sig["sent_idx"] == 0).astype(float),
            it.sig["sent_pos"],
        ]
        names += ["log_tokens", "first_sentence", "sent_pos"]
    return np.stack(cols, axis=1), names


@dataclass
class Combiner:
    coef: np.ndarray
    intercept: float
    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    small: bool = False

    def score(self, it: Item) -> np.ndarray:
        c = it.__dict__.setdefault("_feat", {})
        if self.small not in c:
            c[self.small] = features(it, self.small)[0]
        X = (c[self.small] - self.mean) / self.scale
        return X @ self.coef + self.intercept


def fit(sets: dict[str, Sequence[Item]], C: float = 1.0, small: bool = False) -> Combiner:
    from sklearn.linear_model import LogisticRegression

    Xs, ys, ws = [], [], []
    names: list[str] = []
    for name, items in sets.items():
        lab = LABEL.get(name, "label_ev")
        usable = [it for it in items if it.sig[lab].any() and not it.sig[lab].all()]
        for it in usable:
            X, names = features(it, small)
            y = it.sig[lab] > 0
            w = np.where(y, 0.5 / y.sum(), 0.5 / (~y).sum()) / len(usable)
            Xs.append(X)
            ys.append(y)
            ws.append(w)
    X = np.concatenate(Xs)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    m = LogisticRegression(C=C, max_iter=2000)
    m.fit((X - mean) / scale, np.concatenate(ys), sample_weight=np.concatenate(ws) * len(X))
    return Combiner(m.coef_[0], float(m.intercept_[0]), names, mean, scale, small)
