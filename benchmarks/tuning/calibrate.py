"""Calibrated span scores, fitted leave-one-dataset-out (issue 24):
``python -m benchmarks.tuning.calibrate [--sets ...] [--renderings ...]``.

For every item of the labelled visible sets (each in several renderings of
:mod:`benchmarks.renderings`) at 4x / 8x / 16x, the real compressor's spans and relevance signals
(:meth:`SemTokenCompressor._score`, the library's own stages) give one feature row per span
(:data:`semtoken_rag.pipeline.calibrate.FEATURES`) and a label: the span holds evidence
(HotpotQA supporting-fact sentences, CLAPNQ's selected sentences, QMSum's relevant turns, kv's
needle; NQ: a sentence of the gold passage that holds an answer; TriviaQA: a span that holds an
answer alias). Each item also gives an off-topic input: its query over the documents of another
item of the set, every span labelled 0 (:func:`off_topic`): scores must be low when nothing
answers, not only rank the answer first. A logistic regression (each set weighted equally) is
fitted on all sets but one and scored on the one left out: expected calibration error (10 equal-
width bins) of the span scores (of its items; and of its items with its off-topic inputs, whose top
span score is reported too), and the document-level AUC of a document's score (its best span's)
against the LangChain EmbeddingsFilter cosine (MiniLM). The fit on every set is what ships in
:attr:`semtoken_rag.config.Tuning.calibration`.
Writes ``results/tuning/calibration.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

import numpy as np

from .. import metrics as X
from ..renderings import RENDERINGS
from .layouts import OUT, RATIO_BUDGETS, Harness, budget_tokens, items

log = logging.getLogger("benchmarks.tuning")
LABELLED = (
    "nq",
    "hotpotqa",
    "hotpot_hard",
    "hotpot_hard_notitle",
    "triviaqa",
    "clapnq",
    "qmsum",
    "kv",
)


def span_labels(it: dict[str, Any], table: Any) -> np.ndarray:
    """1 for each span that holds evidence (see the module docstring), else 0."""
    ds = it["dataset"]
    docs = [t for t, _ in it["documents"]]
    n = len(table)
    y = np.zeros(n)
    if ds in ("nq", "triviaqa"):
        answers = [X.normalize(a) for a in it["answers"] if X.normalize(a)]
        gold = {d for d, _, _ in it["evidence"]} if ds == "nq" else None
        for i in range(n):
            d = int(table.doc[i])
            if gold is not None and d not in gold:
                continue
            text = X.normalize(table.texts[i])
            y[i] = float(any(X.contains(text, a) for a in answers))
        return y
    for i in range(n):
        d, a, b = int(table.doc[i]), int(table.start[i]), int(table.end[i])
        for gd, ga, gb in it["evidence"]:
            if gd != d:
                continue
            overlap = min(b, gb) - max(a, ga)
            if overlap > 0 and overlap >= 0.5 * min(b - a, gb - ga):
                y[i] = 1.0
                break
    del docs
    return y


def collect(h: Harness, sets: list[str], renderings: list[str]) -> dict[str, Any]:
    """Feature rows, labels and document scores per set (every rendering and budget)."""
    from semtoken_rag.inputs import as_documents
    from semtoken_rag.pipeline.calibrate import feature_matrix

    c = h.compressor("default")
    out: dict[str, Any] = {}
    for s in sets:
        xs, ys, docs_rows, off = [], [], [], []
        for r in renderings:
            rendered = items(s, r)
            for k, it in enumerate(rendered):
                other = off_topic(rendered, k)
                if other is not None:  # the query over another item's documents: no evidence
                    odocs = as_documents(other["documents"])
                    otokens = [c.token_counter(d.text) for d in odocs]
                    for b in RATIO_BUDGETS:
                        cap = budget_tokens(b, other["meta"]["base_tokens"])
                        table, rel = c._score(it["query"], odocs, otokens, cap)
                        if len(table):
                            off.append(feature_matrix(rel.signals, table.doc))
                docs = as_documents(it["documents"])
                doc_tokens = [c.token_counter(d.text) for d in docs]
                gold_docs = {d for d, _, _ in it["evidence"]}
                if s in ("triviaqa",):
                    ans = [X.normalize(a) for a in it["answers"] if X.normalize(a)]
                    gold_docs = {
                        k
                        for k, d in enumerate(docs)
                        if any(X.contains(X.normalize(d.text), a) for a in ans)
                    }
                for b in RATIO_BUDGETS:
                    cap = budget_tokens(b, it["meta"]["base_tokens"])
                    table, rel = c._score(it["query"], docs, doc_tokens, cap)
                    if not len(table):
                        continue
                    xs.append(feature_matrix(rel.signals, table.doc))
                    ys.append(span_labels(it, table))
                    docs_rows.append(
                        {
                            "item": f"{it['id']}@{r}@{b}",
                            "span_doc": table.doc.tolist(),
                            "gold": sorted(gold_docs),
                            "n_docs": len(docs),
                            "texts": [d.text for d in docs] if b == RATIO_BUDGETS[0] else None,
                            "query": it["query"],
                        }
                    )
        h._save_caches()
        out[s] = {"x": np.concatenate(xs), "y": np.concatenate(ys), "docs": docs_rows,
                  "sizes": [len(x) for x in xs], "off": off}  # fmt: skip
        log.info(
            "%s: %d spans, %.3f evidence; %d off-topic inputs",
            s, len(out[s]["y"]), out[s]["y"].mean(), len(off),
        )  # fmt: skip
    return out


def off_topic(rendered: list[dict[str, Any]], k: int) -> dict[str, Any] | None:
    """Another item of the set, half the set away, whose query differs from item ``k``'s (NQ
    repeats a question at three gold positions): its documents, paired with item ``k``'s query,
    make an input with no evidence at all, as a retriever returns when it finds nothing. Without
    such inputs the fit only sees inputs that hold the answer and learns that an input's
    best-ranked span is evidence, whatever its absolute signals say."""
    n = len(rendered)
    for step in range(n // 2, n // 2 + n):
        other = rendered[(k + step) % n]
        if (k + step) % n != k and other["query"] != rendered[k]["query"]:
            return other
    return None


def rows(data: dict[str, Any], s: str) -> tuple[np.ndarray, np.ndarray]:
    """A set's feature rows and labels: its items, then its off-topic inputs (all 0)."""
    xo = np.concatenate(data[s]["off"]) if data[s]["off"] else np.zeros((0, data[s]["x"].shape[1]))
    return np.concatenate([data[s]["x"], xo]), np.concatenate([data[s]["y"], np.zeros(len(xo))])


def fit_weights(data: dict[str, Any], sets: list[str], c: float = 1.0) -> np.ndarray:
    """Logistic regression on ``sets`` (items and off-topic inputs), each set weighted equally,
    L2 of strength ``1 / c`` on the weights (not the intercept), as scikit-learn's, over every
    feature but the last (the log of the input's document count): (intercept, *weights)."""
    from scipy.optimize import minimize

    x, y, w = _stacked(data, sets)
    design = np.column_stack([np.ones(len(x)), x[:, :-1]])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ beta
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
        grad = design.T @ (w * (p - y))
        grad[1:] += beta[1:] / c
        return float(
            np.sum(w * (np.logaddexp(0.0, z) - y * z)) + beta[1:] @ beta[1:] / (2 * c)
        ), grad

    return minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B",
                    options={"maxiter": 5000}).x  # fmt: skip


def with_prior(
    data: dict[str, Any], sets: list[str], beta: np.ndarray, prior: float
) -> tuple[float, ...]:
    """:func:`fit_weights`'s ``beta`` with the document count's weight ``-prior`` (chosen, not
    fitted: :func:`choose_prior`), the intercept fitted again with it on ``sets``; the other
    weights, and how they rank spans and documents, stay the fit's."""
    from scipy.optimize import minimize_scalar

    beta = np.array(beta, dtype=np.float64)
    if prior:
        x, y, w = _stacked(data, sets)
        z = x[:, :-1] @ beta[1:] - prior * x[:, -1]
        beta[0] = minimize_scalar(
            lambda b: float(np.sum(w * (np.logaddexp(0.0, z + b) - y * (z + b)))),
            bounds=(-40.0, 40.0),
            method="bounded",
        ).x
    return (*(float(v) for v in beta), -float(prior))


def fit(
    data: dict[str, Any], sets: list[str], c: float = 1.0, prior: float = 0.0
) -> tuple[float, ...]:
    """The calibration fitted on ``sets`` with the document-count prior ``prior``."""
    return with_prior(data, sets, fit_weights(data, sets, c), prior)


def _stacked(data: dict[str, Any], sets: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows, labels and sample weights of ``sets`` (each set weighing the same in all)."""
    xy = [rows(data, s) for s in sets]
    x = np.concatenate([a for a, _ in xy])
    y = np.concatenate([b for _, b in xy])
    w = np.concatenate([np.full(len(b), 1.0 / len(b)) for _, b in xy]) * len(y) / len(sets)
    return x, y, w


#: Weights of the document-count prior tried (0: none; 1: evidence in one document of the input).
PRIORS = (0.0, 0.25, 0.5, 0.75, 1.0)


def score_fold(
    data: dict[str, Any], held: str, w: tuple[float, ...], cosine: dict[str, float]
) -> tuple[float, int]:
    """The held-out set's ECE under the weights ``w``, and how many of issue 24's targets it
    misses (:func:`benchmarks.report.calibration.fold_row`'s count)."""
    from semtoken_rag.pipeline.calibrate import probability

    from ..report.calibration import fold_row

    pr = probability(data[held]["x"], w)
    f = {"held_out": held, "ece": ece(pr, data[held]["y"]), "auc_doc": doc_auc(data, held, pr),
         "auc_cosine": cosine.get(held, float("nan"))}  # fmt: skip
    return f["ece"], fold_row(f)[1]


def choose_prior(
    data: dict[str, Any], sets: list[str], cosine: dict[str, float], c: float
) -> float:
    """The prior weight of :data:`PRIORS` with the fewest target misses over the folds of
    ``sets`` (each set held out in turn), then the lowest mean ECE. The weights without the
    prior are fitted once a fold; each prior refits only the intercept."""
    folds: dict[float, list[tuple[float, int]]] = {prior: [] for prior in PRIORS}
    for held in sets:
        train = [s for s in sets if s != held]
        beta = fit_weights(data, train, c)
        for prior in PRIORS:
            folds[prior].append(
                score_fold(data, held, with_prior(data, train, beta, prior), cosine)
            )
    crit = {p: (sum(m for _, m in f), float(np.mean([e for e, _ in f]))) for p, f in folds.items()}
    log.info("priors over %s: %s", ",".join(sets), crit)
    return min(PRIORS, key=lambda p: crit[p])


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width bins."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve (ties count half)."""
    s, lab = np.asarray(scores), np.asarray(labels)
    pos, neg = s[lab == 1], s[lab == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def doc_auc(data: dict[str, Any], s: str, p: np.ndarray) -> float:
    """Document-level AUC of a document's score (its best span's), gold documents against the
    rest, pooled over the set's items (scores must mean the same on every input)."""
    scores, labels = [], []
    k = 0
    for row, size in zip(data[s]["docs"], data[s]["sizes"], strict=True):
        ps = p[k : k + size]
        k += size
        best = np.zeros(row["n_docs"])
        np.maximum.at(best, np.asarray(row["span_doc"]), ps)
        scores += best.tolist()
        labels += [int(d in row["gold"]) for d in range(row["n_docs"])]
    return auc(scores, labels)


def cosine_auc(h: Harness, data: dict[str, Any], s: str) -> float:
    """The same AUC for the EmbeddingsFilter cosine (MiniLM of query and whole document)."""
    scores, labels = [], []
    enc = h.methods.minilm
    for row in data[s]["docs"]:
        if row["texts"] is None:
            continue
        e = enc.encode([t or " " for t in row["texts"]])
        q = enc.encode([row["query"]])[0]
        scores += (e @ q).tolist()
        labels += [int(d in row["gold"]) for d in range(row["n_docs"])]
    return auc(scores, labels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tuning.calibrate", description=__doc__)
    p.add_argument("--sets", nargs="+", default=list(LABELLED))
    p.add_argument("--renderings", nargs="+", default=list(RENDERINGS))
    p.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the fit")
    args = p.parse_args(argv)
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(k, "1")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    from semtoken_rag.pipeline.calibrate import FEATURES, probability

    h = Harness()
    data = collect(h, args.sets, args.renderings)
    np.savez_compressed(
        OUT.parent / "calibration-features.npz",
        **{f"{s}_x": data[s]["x"] for s in args.sets},
        **{f"{s}_y": data[s]["y"] for s in args.sets},
        **{f"{s}_off_x": rows(data, s)[0][len(data[s]["y"]) :] for s in args.sets},
    )
    cosine = {s: cosine_auc(h, data, s) if s != "clapnq" else float("nan") for s in args.sets}
    folds = []
    for held in args.sets:
        rest = [s for s in args.sets if s != held]
        prior = choose_prior(data, rest, cosine, args.c)  # chosen without the held-out set
        w = fit(data, rest, args.c, prior)
        pr = probability(data[held]["x"], w)
        x_all, y_all = rows(data, held)
        tops = [float(probability(x, w).max()) for x in data[held]["off"]]
        folds.append(
            {
                "held_out": held,
                "prior": prior,
                "weights": w,
                "ece": ece(pr, data[held]["y"]),
                "ece_with_off_topic": ece(probability(x_all, w), y_all),
                "off_topic_top": float(np.mean(tops)) if tops else float("nan"),
                "base_rate": float(data[held]["y"].mean()),
                "mean_score": float(pr.mean()),
                "auc_doc": doc_auc(data, held, pr),
                "auc_cosine": cosine[held],
            }
        )
        f = folds[-1]
        print(
            f"{held:20s} prior {prior:.2f} ece {f['ece']:.3f} (+off-topic"
            f" {f['ece_with_off_topic']:.3f}, its top span {f['off_topic_top']:.3f})  base"
            f" {f['base_rate']:.3f} mean {f['mean_score']:.3f}  auc ours {f['auc_doc']:.3f}"
            f" cosine {f['auc_cosine']:.3f}"
        )
    prior = choose_prior(data, list(args.sets), cosine, args.c)
    shipped = fit(data, list(args.sets), args.c, prior)
    print("all sets:", dict(zip(("intercept", *FEATURES), (round(v, 4) for v in shipped))))
    res = {
        "command": "python -m benchmarks.tuning.calibrate "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "sets": args.sets,
        "renderings": args.renderings,
        "features": list(FEATURES),
        "c": args.c,
        "prior": prior,
        "folds": folds,
        "shipped": shipped,
    }
    (OUT.parent / "calibration.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
