"""Leave-one-dataset-out driver: ``python -m benchmarks.tuning.lodo [--stage NAME ...]``.

For each method family and its small grid of constants it scores every configuration on every
visible set (primary metric per set: answer recall where answers exist, evidence recall for CLAPNQ
and QMSum; mean over 4x/8x/16x), then for each held-out set picks the configuration that maximises
(a) the mean over the OTHER sets, (b) the worst margin over the best peer on the other sets, and
reports the held-out score. Results: ``results/tuning/lodo.json`` and ``lodo.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .evaluate import PRIMARY, Item, evaluate_keep, evaluate_ours, load_set
from .features import OUT, RATIOS
from .methods import SINGLE_SIGNALS, Config, keep_mask, topup_mask

log = logging.getLogger("benchmarks.tuning")
VISIBLE = (
    "nq",
    "hotpotqa",
    "hotpot_hard",
    "hotpot_hard_notitle",
    "triviaqa",
    "clapnq",
    "qmsum",
    "kv",
)
PEERS = {
    "peer:bm25_sentences": {"family": "peer", "peer": "bm25"},
    "peer:sbert_sentences": {"family": "peer", "peer": "sbert"},
    "peer:doc_dense": {"family": "peer", "peer": "doc_dense"},
}

Table = dict[str, dict[str, dict[int, dict[str, float]]]]  # config -> set -> ratio -> metric


def name_of(cfg: Config) -> str:
    return cfg.get("name") or ",".join(f"{k}={v}" for k, v in cfg.items() if k not in ("model",))


_VIEWS: dict[tuple[int, int], dict[str, list[Item]]] = {}


def view(data: dict[str, Sequence[Item]], X: int) -> dict[str, Sequence[Item]]:
    """The data with documents of at most ``X`` tokens as single units (cached)."""
    from .evaluate import coarsen_view

    if not X:
        return data
    key = (id(data), X)
    if key not in _VIEWS:
        _VIEWS[key] = {s: [coarsen_view(it, X) for it in items] for s, items in data.items()}
    return _VIEWS[key]


def run_configs(
    data: dict[str, Sequence[Item]], cfgs: Sequence[Config], table: Table, exact: bool = False
) -> None:
    for cfg in cfgs:
        n = name_of(cfg)
        if n in table and all(s in table[n] for s in data):
            continue
        t0 = time.perf_counter()
        row = table.setdefault(n, {})
        for s, items in view(data, int(cfg.get("X", 0))).items():
            if cfg.get("topup"):
                row[s] = evaluate_keep(
                    items, lambda it, b, c=cfg: topup_mask(it, c, b), exact=True, adaptive="topup"
                )
            else:
                row[s] = evaluate_keep(
                    items,
                    lambda it, b, c=cfg: keep_mask(it, c, b),
                    exact=exact,
                    adaptive=cfg.get("adaptive", False),
                )
        log.debug("%s %.1fs", n, time.perf_counter() - t0)


def primary(table: Table, n: str, s: str, metric: str | None = None) -> np.ndarray:
    """Config ``n``'s scores on ``s`` at 4x / 8x / 16x in ``metric`` (default: the set's primary
    metric; NaN where not measured)."""
    return np.array([table[n][s][r].get(metric or PRIMARY[s], np.nan) for r in RATIOS])


REAL_PEERS = tuple(
    f"real:{m}" for m in ("bm25", "sbert", "doc_dense", "lc_filter", "llamaindex", "vecr")
)


def peer_rows(table: Table, s: str) -> list[str]:
    """The real peers where measured on ``s`` (``peers.py``), else the feature-based ones."""
    real = [p for p in REAL_PEERS if p in table and s in table[p]]
    return real or list(PEERS)


def best_peer(table: Table, s: str, metric: str | None = None) -> np.ndarray:
    return np.max([primary(table, p, s, metric) for p in peer_rows(table, s)], axis=0)


def read_table(state: dict[str, Any]) -> Table:
    """The ``"table"`` of a ``lodo.json`` state, its ratio keys back to ints."""
    return {
        n: {s: {int(r): m for r, m in d.items()} for s, d in row.items()}
        for n, row in state.get("table", {}).items()
    }


def peer_table() -> Table:
    """The saved table of ``lodo.json`` with the real peers of ``peers.json`` added."""
    table = read_table(json.loads((OUT / "lodo.json").read_text()))
    add_real_peers(table)
    return table


def add_real_peers(table: Table) -> None:
    path = OUT / "peers.json"
    if not path.exists():
        return
    for s, per in json.loads(path.read_text()).items():
        for m, d in per.items():
            if not m.startswith("_"):
                table.setdefault(f"real:{m}", {})[s] = {int(r): v for r, v in d.items()}


def lodo(table: Table, names: Sequence[str], sets: Sequence[str] = VISIBLE) -> dict[str, Any]:
    """Per held-out set, the configuration chosen on the others (mean / worst margin) and its
    held-out scores."""
    P = {n: {s: primary(table, n, s) for s in sets} for n in names}
    BP = {s: best_peer(table, s) for s in sets}
    out: dict[str, Any] = {"mean": {}, "worst": {}}
    for h in sets:
        others = [s for s in sets if s != h]
        if not others:
            continue
        g_mean = max(names, key=lambda n: (np.mean([P[n][s].mean() for s in others]), n))
        g_worst = max(
            names,
            key=lambda n: (
                min(float((P[n][s] - BP[s]).min()) for s in others),
                np.mean([P[n][s].mean() for s in others]),
                n,
            ),
        )
        out["mean"][h] = {
            "config": g_mean,
            "score": P[g_mean][h].tolist(),
            "margin": (P[g_mean][h] - BP[h]).tolist(),
        }
        out["worst"][h] = {
            "config": g_worst,
            "score": P[g_worst][h].tolist(),
            "margin": (P[g_worst][h] - BP[h]).tolist(),
        }
    allbest = max(names, key=lambda n: (np.mean([P[n][s].mean() for s in sets]), n))
    out["all_sets_best"] = allbest
    return out


def sensitivity(
    table: Table, cfgs: Sequence[Config], sets: Sequence[str] = VISIBLE
) -> dict[str, dict[str, float]]:
    """For each constant and value: the best all-set mean over the rest of the grid with that
    value."""
    out: dict[str, dict[str, float]] = {}
    for cfg in cfgs:
        n = name_of(cfg)
        m = float(np.mean([primary(table, n, s).mean() for s in sets]))
        for k, v in cfg.items():
            if k in ("name", "family", "model"):
                continue
            d = out.setdefault(k, {})
            d[str(v)] = max(d.get(str(v), -1.0), m)
    return {k: v for k, v in out.items() if len(v) > 1}


# --- the grids -------------------------------------------------------------------------------


def single_cfgs() -> list[Config]:
    return [
        {"name": f"single:{s}", "family": "single", "signal": s, "tiebreak": tb}
        for s, tb in SINGLE_SIGNALS.items()
    ]


def rrf_grid() -> list[Config]:
    """ctx: the late-pooled span vector (window 5 = the default pass; ``res50_late5`` = the same
    minus half its document's mean span vector, free; window 2 = a narrower second pass; "" =
    none); the standalone sentence, BM25 over spans with the document title, and the
    document prior (mean RRF of the document's rank by dense encode and by BM25) at weights
    relative to ctx; RRF constant k; an exact needle match weighs as one rank-0 signal."""
    out = []
    for ctx, ws, wl, wd, k in itertools.product(
        ("late5", "res50_late5", "late2", ""),
        (0.0, 0.5, 1.0),
        (0.0, 0.25, 0.5, 1.0),
        (0.0, 0.25, 0.5, 1.0),
        (10, 30, 60),
    ):
        if not ctx and ws == 0.0:
            continue
        out.append(
            {
                "family": "rrf",
                "ctx": ctx,
                "w_ctx": 1.0 if ctx else 0.0,
                "sent": "sent",
                "w_sent": ws,
                "lex": "bm25_title",
                "w_lex": wl,
                "doc": ("doc_st", "bm25_doc"),
                "w_doc": wd,
                "k": k,
                "w_needle": 1.0,
            }
        )
    return out


def swaps(base: Config) -> list[Config]:
    """One component of ``base`` replaced: titled standalone sentences, BM25 without titles, a
    document prior from the free window-5 document vector, no needle bonus."""
    out = []
    for change in (
        {"sent": "sent_title"},
        {"lex": "bm25"},
        {"doc": ("doc_late", "bm25_doc")},
        {"doc": ("doc_st",)},
        {"doc": ("doc_late",)},
        {"w_needle": 0.0},
    ):
        c = dict(base)
        c.pop("name", None)
        c.update(change)
        out.append(c)
    return out


def calib_grid() -> list[Config]:
    """Per-input weights; ``signals`` = all five (two extra encoder passes) or the one-pass set."""
    out = []
    for sigs, weighting, gamma, combine in itertools.product(
        (
            ("late5", "sent", "bm25_title", "doc_st", "bm25_doc"),
            ("late5", "res50_late5", "bm25_title", "doc_late", "bm25_doc"),
        ),
        ("uniform", "peak", "agree"),
        (0.5, 1.0, 2.0),
        ("z", "rrf"),
    ):
        if weighting == "uniform" and gamma != 1.0:
            continue
        out.append(
            {
                "family": "calib",
                "signals": sigs,
                "weighting": weighting,
                "gamma": gamma,
                "combine": combine,
                "k": 10,
                "m": 10,
            }
        )
    return out


def around(base: Config) -> list[Config]:
    """PRF, bridges and selection variants of one base configuration."""
    out = []
    for beta, m, tb, eb in itertools.product(
        (0.0, 0.5, 1.0), (3, 5), (0.0, 0.5, 1.0), (0.0, 0.5, 1.0)
    ):
        if beta == 0.0 and m != 3:
            continue
        c = dict(base)
        c.pop("name", None)
        c.update({"prf_beta": beta, "prf_m": m, "w_tb": tb, "w_eb": eb, "bridge_m": 3})
        out.append(c)
    return out


ONE_PASS_DOC = ("doc_late", "bm25_doc")


def final_grid() -> list[Config]:
    """Stage 1 of the recommended family: RRF of signals from the compressor's one pass (late5
    or its residual; BM25 with titles; document prior from the pass's own document vector and
    BM25), plus optionally the standalone-sentence pass; sum or max combination; k; short
    documents whole (X)."""
    out = []
    for ctx, ws, wl, wd, comb, k, X, wn in itertools.product(
        ("late5", "res50_late5"),
        (0.0, 0.5),
        (0.5, 1.0),
        (0.0, 0.5, 1.0),
        ("sum", "max"),
        (10, 30),
        (0, 40),
        (0.0, 1.0),
    ):
        out.append(
            {
                "family": "rrf",
                "ctx": ctx,
                "w_ctx": 1.0,
                "sent": "sent",
                "w_sent": ws,
                "lex": "bm25_title",
                "w_lex": wl,
                "doc": ONE_PASS_DOC,
                "w_doc": wd,
                "k": k,
                "w_needle": wn,
                "combine": comb,
                "X": X,
            }
        )
    return out


def final_around(base: Config) -> list[Config]:
    """Stage 2: title bridges (weight, from the top-1 or top-3 spans' documents, forward links
    only or both directions), entity bridges and Rocchio PRF on a stage-1 configuration."""
    out = []
    for tb, fwd, bm, eb, beta in itertools.product(
        (0.0, 0.5, 1.0), (True, False), (1, 3), (0.0, 0.5, 1.0), (0.0, 0.5)
    ):
        if tb == 0.0 and (not fwd or (bm == 3 and eb == 0.0)):
            continue
        c = dict(base)
        c.pop("name", None)
        c.update(
            {
                "w_tb": tb,
                "forward_only": fwd,
                "w_eb": eb,
                "bridge_m": bm,
                "prf_beta": beta,
                "prf_m": 3,
            }
        )
        out.append(c)
    return out


def staged(
    table: Table, data: dict[str, Sequence[Item]], sets: Sequence[str], crit: str
) -> dict[str, Any]:
    """Staged LODO: per held-out set, stage 1 chosen on the other sets, then stage 2 around it
    chosen on the other sets."""
    g1 = final_grid()
    run_configs(data, g1, table)
    r1 = lodo(table, [name_of(c) for c in g1], sets)[crit]
    by = {name_of(c): c for c in g1}
    out: dict[str, Any] = {}
    for h in sets:
        if h not in r1:
            continue
        g2 = final_around(by[r1[h]["config"]])
        run_configs(data, g2, table)
        r2 = lodo(table, [name_of(c) for c in g2], sets)[crit]
        out[h] = {"stage1": r1[h], **r2[h]}
    return out


def load_all(sets: Sequence[str]) -> dict[str, list[Item]]:
    data = {}
    for s in sets:
        if (OUT / f"{s}.npz").exists():
            data[s] = load_set(s)
            log.info("loaded %s: %d items", s, len(data[s]))
    return data


def fmt(x: Sequence[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--stage", nargs="+", default=["base", "rrf", "calib", "learned", "around"])
    p.add_argument("--sets", nargs="+", default=list(VISIBLE))
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data = load_all(a.sets)
    sets = [s for s in a.sets if s in data]
    path = OUT / "lodo.json"
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    table = read_table(state)
    results: dict[str, Any] = state.get("results", {})

    def save() -> None:
        path.write_text(json.dumps({"table": table, "results": results}, indent=0))

    add_real_peers(table)
    if "base" in a.stage:
        run_configs(data, [dict(v, name=k) for k, v in PEERS.items()], table)
        run_configs(data, single_cfgs(), table)
        for s, items in data.items():
            if items and items[0].ours:
                table.setdefault("ours:default", {})[s] = evaluate_ours(items, "default")
                table.setdefault("ours:dense_sentence", {})[s] = evaluate_ours(
                    items, "dense_sentence"
                )
        save()
        log.info("base done")
    if "rrf" in a.stage:
        grid = rrf_grid()
        t0 = time.perf_counter()
        run_configs(data, grid, table)
        log.info("rrf grid %d configs in %.0fs", len(grid), time.perf_counter() - t0)
        results["rrf"] = lodo(table, [name_of(c) for c in grid], sets)
        results["rrf_sensitivity"] = sensitivity(table, grid, sets)
        save()
    if "calib" in a.stage:
        grid = calib_grid()
        run_configs(data, grid, table)
        results["calib"] = lodo(table, [name_of(c) for c in grid], sets)
        save()
    if "learned" in a.stage:
        from .learned import fit

        res: dict[str, Any] = {}
        for small, C in itertools.product((False, True), (0.1, 1.0)):
            tag = f"learned:small={small},C={C}"
            for h in sets:
                if len(sets) < 2:
                    continue
                model = fit({s: data[s] for s in sets if s != h}, C=C, small=small)
                cfg = {"family": "learned", "model": model, "name": f"{tag}|heldout={h}"}
                run_configs({h: data[h]}, [cfg], table)
                res.setdefault(tag, {})[h] = primary(table, cfg["name"], h).tolist()
            full = fit({s: data[s] for s in sets}, C=C, small=small)
            res[tag]["weights"] = dict(zip(full.names, (full.coef / full.scale).round(4).tolist()))
        results["learned"] = res
        save()
    if "around" in a.stage:
        rr = results.get("rrf") or {}
        bases = sorted({v["config"] for v in rr.get("mean", {}).values()})
        cfg_by = {name_of(c): c for c in rrf_grid()}
        out: dict[str, Any] = {}
        for b in bases:
            grid = around(cfg_by[b])
            run_configs(data, grid, table)
            run_configs(data, swaps(cfg_by[b]), table)
            for sel in (
                {"select": "knapsack", "power": 2.0},
                {"select": "knapsack", "power": 1.0},
                {"retain": True},
            ):
                c = dict(cfg_by[b])
                c.pop("name", None)
                c.update(sel)
                run_configs(data, [c], table)
            save()
        # staged LODO: base chosen on the others, then PRF/bridges chosen on the others
        for h in sets:
            if h not in rr.get("mean", {}):
                continue
            b = rr["mean"][h]["config"]
            names = [name_of(c) for c in around(cfg_by[b])]
            sub = lodo(table, names, sets)["mean"][h]
            out[h] = {"base": b, **sub}
        results["around"] = out
        save()
    if "final" in a.stage:
        for crit in ("mean", "worst"):
            results[f"final_{crit}"] = staged(table, data, sets, crit)
            save()
    if "report" in a.stage:
        rec = chosen_on_all(table, data, sets, "worst")
        rec_mean = chosen_on_all(table, data, sets, "mean")
        results["recommended"] = {k: v for k, v in rec.items()}
        results["recommended_by_mean"] = {k: v for k, v in rec_mean.items()}
        abl = ablations(rec)
        for label, c in abl.items():
            run_configs(data, [c], table)
            table[f"abl: {label}"] = table[name_of(c)]
        results["ablations"] = {label: name_of(c) for label, c in abl.items()}
        exact_name = "recommended (exact text metrics)"
        table.pop(exact_name, None)
        run_configs(data, [dict(rec, name=exact_name)], table, exact=True)
        results["guarantee"] = guarantee(view(data, int(rec.get("X", 0))), rec)
        results["guarantee_retain"] = guarantee(
            view(data, int(rec.get("X", 0))), dict(rec, retain=True)
        )
        sections = [
            "## Recommended (chosen on all visible sets)\n\n`" + name_of(rec) + "`\n",
            "## Margins over the best real peer (primary metric)\n\n"
            + margin_table(table, exact_name, sets),
            "## Simplest answer recall (substring of the joined kept text)\n\n"
            + metric_table(
                table,
                list(REAL_PEERS) + ["ours:default", exact_name],
                [s for s in sets if PRIMARY[s] == "ans"],
                "ans_simple",
            ),
            "## Evidence recall\n\n"
            + metric_table(
                table,
                list(REAL_PEERS) + ["ours:default", exact_name],
                [s for s in sets if s.startswith("hotpot") or PRIMARY[s] == "ev"],
                "ev",
            ),
            "## Ablations (primary metric)\n\n"
            + metric_table(table, [f"abl: {label}" for label in abl], sets),
            "## Guarantee: share of items whose single-signal top span is dropped\n\n"
            + json.dumps(results["guarantee"])
            + "\n\nwith the retention rule:\n\n"
            + json.dumps(results["guarantee_retain"])
            + "\n",
            "## Sanity: evaluator vs real compressor\n\n" + sanity(data),
            "## Costs\n\n" + cost_table(sets),
        ]
        (OUT / "report.md").write_text("\n".join(sections))
        save()
    if "minimal" in a.stage:
        rec = {k: tuple(v) if isinstance(v, list) else v for k, v in results["recommended"].items()}
        (OUT / "minimal.md").write_text(minimal_report(table, data, sets, rec))
        save()
    md = report(table, results, sets)
    (OUT / "lodo.md").write_text(md)
    print(md)
    return 0


def report(table: Table, results: dict[str, Any], sets: Sequence[str]) -> str:
    lines = ["| method | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    rows = (
        list(REAL_PEERS)
        + list(PEERS)
        + ["ours:default", "ours:dense_sentence"]
        + [n for n in table if n.startswith("single:")]
    )
    for n in rows:
        if n in table:
            lines.append(
                f"| {n} | "
                + " | ".join(fmt(primary(table, n, s)) if s in table[n] else "-" for s in sets)
                + " |"
            )
    for fam in ("rrf", "calib"):
        if fam in results:
            for crit in ("mean", "worst"):
                r = results[fam][crit]
                lines.append(
                    f"| LODO {fam} ({crit}) | "
                    + " | ".join(fmt(r[s]["score"]) if s in r else "-" for s in sets)
                    + " |"
                )
    for crit in ("mean", "worst"):
        r = results.get(f"final_{crit}")
        if r:
            lines.append(
                f"| LODO final staged ({crit}) | "
                + " | ".join(fmt(r[s]["score"]) if s in r else "-" for s in sets)
                + " |"
            )
    if "around" in results:
        r = results["around"]
        lines.append(
            "| LODO rrf + PRF/bridges | "
            + " | ".join(fmt(r[s]["score"]) if s in r else "-" for s in sets)
            + " |"
        )
    for tag, r in results.get("learned", {}).items():
        lines.append(
            f"| LODO {tag} | " + " | ".join(fmt(r[s]) if s in r else "-" for s in sets) + " |"
        )
    lines.append("| best peer | " + " | ".join(fmt(best_peer(table, s)) for s in sets) + " |")
    return "\n".join(lines) + "\n"


def guarantee(
    data: dict[str, Sequence[Item]],
    cfg: Config,
    signals: Sequence[str] = ("late5", "sent", "bm25_title", "doc_st", "needle"),
) -> dict[str, dict[str, list[float]]]:
    """How often each single signal's top span (the best by that signal that fits the budget;
    for ``doc_st`` the best-scored span of its top document; ``needle`` only where the query
    names one) is dropped by ``cfg``, per set and ratio."""
    from .evaluate import per_doc

    out: dict[str, dict[str, list[float]]] = {}
    for s, items in data.items():
        for sig in signals:
            rates = []
            for r in RATIOS:
                drops = []
                for it in items:
                    b = it.budget(r)
                    keep = keep_mask(it, cfg, b)
                    fits = it.tokens + 1 <= b + 1
                    if not fits.any():
                        continue
                    v = it.sig[sig]
                    if sig == "needle" and (it.sig["n_needles"][0] == 0 or v.max() <= 0):
                        continue
                    if sig == "doc_st":
                        d = int(np.argmax(per_doc(it, v)))
                        cand = np.where((it.doc == d) & fits)[0]
                        if not len(cand):
                            continue
                        top = int(cand[np.argmax(it.sig["late5"][cand])])
                    else:
                        cand = np.where(fits)[0]
                        top = int(cand[np.argmax(v[cand])])
                    drops.append(0.0 if keep[top] else 1.0)
                rates.append(float(np.mean(drops)) if drops else float("nan"))
            out.setdefault(s, {})[sig] = rates
    return out


def metric_table(
    table: Table, rows: Sequence[str], sets: Sequence[str], metric: str | None = None
) -> str:
    """Markdown: one row per method, one column per set, ``4x / 8x / 16x`` of the primary metric
    (or ``metric``)."""
    lines = ["| method | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for n in rows:
        if n not in table:
            continue
        cells = []
        for s in sets:
            if s not in table[n]:
                cells.append("-")
                continue
            m = metric or PRIMARY[s]
            v = [table[n][s][r].get(m, float("nan")) for r in RATIOS]
            cells.append(fmt(v))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def margin_table(table: Table, n: str, sets: Sequence[str]) -> str:
    lines = [
        "| set | best peer (4x / 8x / 16x) | which | " + n + " | margin |",
        "|---|---|---|---|---|",
    ]
    for s in sets:
        bp = best_peer(table, s)
        which = [
            max(peer_rows(table, s), key=lambda p: primary(table, p, s)[i])
            for i in range(len(RATIOS))
        ]
        v = primary(table, n, s)
        lines.append(
            f"| {s} | {fmt(bp)} | {', '.join(w.split(':')[1] for w in which)} "
            f"| {fmt(v)} | {fmt(v - bp)} |"
        )
    return "\n".join(lines) + "\n"


def cost_table(sets: Sequence[str]) -> str:
    """Encoder seconds and tokens per representation, summed over the sets' feature runs, relative
    to the compressor's one window-5 pass (memo hits cost nothing, so a text shared by two sets is
    counted once)."""
    sec: dict[str, float] = {}
    tok: dict[str, int] = {}
    for s in sets:
        p = OUT / f"{s}.cost.json"
        if not p.exists():
            continue
        c = json.loads(p.read_text())
        for k, v in c["seconds"].items():
            sec[k] = sec.get(k, 0.0) + v
        for k, v in c["tokens"].items():
            tok[k] = tok.get(k, 0) + v
    base_s, base_t = sec.get("late5", 1.0), tok.get("late5", 1)
    lines = [
        "| representation | encoder s | tokens encoded | s / late5 pass | tokens / late5 pass |",
        "|---|---|---|---|---|",
    ]
    for k in sorted(sec, key=lambda k: -sec[k]):
        lines.append(
            f"| {k} | {sec[k]:.0f} | {tok.get(k, 0)} | {sec[k] / base_s:.2f} "
            f"| {tok.get(k, 0) / base_t:.2f} |"
        )
    return "\n".join(lines) + "\n"


def sanity(data: dict[str, Sequence[Item]]) -> str:
    """Evaluator vs the real compressor: ``SemTokenCompressor(fusion="dense",
    granularity="sentence", use_merging=False)`` (the same late-pooled vectors and knapsack,
    nothing else) against this evaluator's ``single:late5`` + ``knapsack(p=2)``: the share of
    item x ratio with identical kept spans and both primary metrics; then fast (span-label) vs exact
    (text) metrics of one greedy method."""
    from .evaluate import evaluate_keep, evaluate_ours

    cfg = {"family": "single", "signal": "late5", "select": "knapsack", "power": 2.0}
    lines = [
        "| set | identical spans | real compressor (4x / 8x / 16x) | evaluator, exact metric "
        "| evaluator, fast metric |",
        "|---|---|---|---|---|",
    ]
    for s, items in data.items():
        same, total = 0, 0
        for it in items:
            for r in RATIOS:
                keep = keep_mask(it, cfg, it.budget(r))
                mine = {
                    (int(it.doc[i]), int(it.sig["start"][i]), int(it.sig["end"][i]))
                    for i in np.where(keep)[0]
                }
                real = {tuple(x) for x in it.ours[f"dense_sentence/{r}x"]["spans"]}
                same += mine == real
                total += 1
        m = PRIMARY[s]
        real_m = evaluate_ours(items, "dense_sentence")
        ex = evaluate_keep(items, lambda it, b: keep_mask(it, cfg, b), exact=True)
        fa = evaluate_keep(items, lambda it, b: keep_mask(it, cfg, b))
        lines.append(
            f"| {s} | {same / total:.3f} | {fmt([real_m[r][m] for r in RATIOS])} "
            f"| {fmt([ex[r][m] for r in RATIOS])} | {fmt([fa[r][m] for r in RATIOS])} |"
        )
    return "\n".join(lines) + "\n"


def chosen_on_all(
    table: Table, data: dict[str, Sequence[Item]], sets: Sequence[str], crit: str = "worst"
) -> Config:
    """The shipped constants: the staged choice made on ALL visible sets (stage 1, then stage 2)."""
    g1 = final_grid()
    run_configs(data, g1, table)
    P = {name_of(c): c for c in g1}
    BP = {s: best_peer(table, s) for s in sets}

    def key(n: str) -> tuple[float, float]:
        m = float(np.mean([primary(table, n, s).mean() for s in sets]))
        w = min(float((primary(table, n, s) - BP[s]).min()) for s in sets)
        return (w, m) if crit == "worst" else (m, w)

    b1 = max(P, key=key)
    g2 = final_around(P[b1])
    run_configs(data, g2, table)
    Q = {name_of(c): c for c in g2}
    return Q[max(Q, key=key)]


def ablations(base: Config) -> dict[str, Config]:
    """The recommended configuration with one thing changed."""
    out: dict[str, Config] = {"recommended": dict(base)}
    changes = {
        "no BM25 (w_lex=0)": {"w_lex": 0.0},
        "no document prior (w_doc=0)": {"w_doc": 0.0},
        "no title bridges (w_tb=0)": {"w_tb": 0.0},
        "no entity bridges (w_eb=0)": {"w_eb": 0.0},
        "no PRF (prf_beta=0)": {"prf_beta": 0.0},
        "no needle bonus": {"w_needle": 0.0},
        "needle bonus (w_needle=1)": {"w_needle": 1.0},
        "late5 instead of its residual": {"ctx": "late5"},
        "residual instead of late5": {"ctx": "res50_late5"},
        "sum instead of max": {"combine": "sum"},
        "max instead of sum": {"combine": "max"},
        "k=30": {"k": 30},
        "k=10": {"k": 10},
        "short documents split (X=0)": {"X": 0},
        "short documents whole (X=40)": {"X": 40},
        "+ standalone sentences (w_sent=0.5, +1 pass)": {"w_sent": 0.5},
        "doc prior from sentence-transformers encode (+1 pass)": {"doc": ("doc_st", "bm25_doc")},
        "knapsack p=2 instead of greedy": {"select": "knapsack", "power": 2.0},
        "retention rule": {"retain": True},
        "adaptive clause units (compressor's rule)": {"adaptive": True},
    }
    for label, ch in changes.items():
        if all(base.get(k) == v for k, v in ch.items()):
            continue
        c = dict(base)
        c.pop("name", None)
        c.update(ch)
        out[label] = c
    return out


def sensitivity_md(table: Table, cfgs: Sequence[Config], sets: Sequence[str] = VISIBLE) -> str:
    """Markdown: for each constant and value, the best all-set mean and the best worst margin
    over the rest of the grid with that value fixed (a constant whose values tie is one LODO
    cannot tell apart)."""
    BP = {s: best_peer(table, s) for s in sets}
    best: dict[str, dict[str, list[float]]] = {}
    for cfg in cfgs:
        n = name_of(cfg)
        if n not in table or not all(s in table[n] for s in sets):
            continue
        m = float(np.mean([primary(table, n, s).mean() for s in sets]))
        w = min(float((primary(table, n, s) - BP[s]).min()) for s in sets)
        for k, v in cfg.items():
            if k in ("name", "family", "model", "sent", "lex", "w_ctx", "prf_m", "doc"):
                continue
            d = best.setdefault(k, {}).setdefault(str(v), [-1.0, -1.0])
            d[0], d[1] = max(d[0], m), max(d[1], w)
    lines = ["| constant | value: best mean / best worst margin |", "|---|---|"]
    for k, d in best.items():
        if len(d) > 1:
            lines.append(
                f"| {k} | "
                + "; ".join(f"{v}: {a:.3f} / {b:+.2f}" for v, (a, b) in d.items())
                + " |"
            )
    return "\n".join(lines) + "\n"


MINIMAL: Config = {
    "family": "rrf",
    "ctx": "late5",
    "w_ctx": 1.0,
    "sent": "sent",
    "w_sent": 0.0,
    "lex": "bm25_title",
    "w_lex": 1.0,
    "doc": ONE_PASS_DOC,
    "w_doc": 0.0,
    "k": 10,
    "w_needle": 0.0,
    "combine": "max",
    "X": 40,
    "w_tb": 1.0,
    "forward_only": True,
    "w_eb": 0.0,
    "bridge_m": 3,
}
"""The recommended recipe with every constant LODO could not tell from its neighbour removed
(document prior, entity bridges, PRF, standalone pass, needle bonus: off)."""


def minimal_report(
    table: Table, data: dict[str, Sequence[Item]], sets: Sequence[str], rec: Config
) -> str:
    variants = {
        "minimal": {},
        "minimal, bridges from the top-1 span's document": {"bridge_m": 1},
        "minimal, short documents split (X=0)": {"X": 0},
        "minimal, title links both directions": {"forward_only": False},
        "minimal, no title bridges": {"w_tb": 0.0},
        "minimal, sum instead of max": {"combine": "sum"},
        "minimal, adaptive clause units": {"adaptive": True},
        "minimal, clause units only above the whole budget": {"adaptive": 1.0},
        "minimal, whole sentences then clause top-up": {"topup": True},
        "minimal, retention rule": {"retain": True},
    }
    rows = []
    for label, ch in variants.items():
        c = dict(MINIMAL, **ch)
        run_configs(data, [c], table)
        table[f"min: {label}"] = table[name_of(c)]
        rows.append(f"min: {label}")
    g = guarantee(view(data, 40), MINIMAL)
    gr = guarantee(view(data, 40), dict(MINIMAL, retain=True))
    glines = [
        "| set | " + " | ".join(f"{k} (4x/8x/16x)" for k in next(iter(g.values()))) + " |",
        "|---|" + "---|" * len(next(iter(g.values()))),
    ]
    for s_, d in g.items():
        glines.append(f"| {s_} | " + " | ".join(fmt(v) for v in d.values()) + " |")
    for s_, d in gr.items():
        glines.append(f"| {s_} + retention | " + " | ".join(fmt(v) for v in d.values()) + " |")
    return (
        "## Minimal recipe and variants (primary metric)\n\n"
        + metric_table(table, rows + ["abl: recommended"], sets)
        + "\n## Margins of the minimal recipe over the best real peer\n\n"
        + margin_table(table, "min: minimal", sets)
        + "\n## Guarantee (minimal recipe): share of items whose single-signal top span is "
        "dropped\n\n"
        + "\n".join(glines)
        + "\n"
        + "\n## Sensitivity, stage 1\n\n"
        + sensitivity_md(table, final_grid(), sets)
        + "\n## Sensitivity, stage 2 (around the shipped stage-1 choice)\n\n"
        + sensitivity_md(
            table,
            final_around(
                {
                    k: v
                    for k, v in rec.items()
                    if k not in ("w_tb", "forward_only", "w_eb", "bridge_m", "prf_beta", "prf_m")
                }
            ),
            sets,
        )
        + "\n## Sensitivity, first RRF grid\n\n"
        + sensitivity_md(table, rrf_grid(), sets)
    )


if __name__ == "__main__":
    raise SystemExit(main())
