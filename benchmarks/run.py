"""Run the benchmark: ``python -m benchmarks.run --suite quick|full [options]``.

Writes ``<out>/<suite>.jsonl`` (one row per item x method x budget, and per rendering in the
layout part: see :mod:`benchmarks.quality`), ``<out>/<suite>.meta.json``
(machine, command, latency, scaling, tuning table), PNG plots in ``<out>`` and a generated
Markdown report (``BENCHMARKS.md`` at the repository root for ``--suite full``,
``<out>/BENCHMARKS-<suite>.md`` otherwise, or ``--markdown PATH``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import datasets as D
from . import methods as M
from .quality import run_layouts, run_quality, run_tight
from .renderings import RENDERINGS, REPORTED
from .report.provenance import tuning_rows

log = logging.getLogger("benchmarks")
ROOT = Path(__file__).resolve().parent.parent
RATIO_BUDGETS = ("2x", "4x", "8x", "16x")
FIXED_BUDGETS = ("256", "512", "1024")
#: The tight budgets of issue 24 (tokens).
TIGHT_BUDGETS = ("24", "48", "96")
#: The sets of the layout table (issue 23) and of the tight-budget table (issue 24).
LAYOUT_SETS = ("nq", "hotpotqa", "hotpot_hard_notitle", "triviaqa", "clapnq")
TIGHT_SETS = ("nq", "hotpotqa", "triviaqa", "clapnq")

#: Offline model loading and quiet tokenizers; set (unless already set) when :func:`main` starts,
#: before anything loads a model, and inherited by the scaling subprocess.
ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

#: Per suite: the data sets run by default (every one in ``datasets.DATASETS``; a name it
#: lacks is skipped with a log line), their item limits (``default_limit`` for a set not
#: listed), extra loader keyword arguments, budgets, methods, latency and scaling settings, and
#: the two extra parts (:mod:`benchmarks.quality`): ``layouts`` (sets, the renderings reported,
#: ``meta`` being the main part's rows; the budgets, those of the main part's budgets that are
#: listed; the first ``limit`` items of each set) and ``tight`` (sets, fixed budgets), both
#: run for the peers and ``ours`` only.
SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "datasets": list(D.DATASETS),
        "limits": {
            "nq": 3,
            "hotpotqa": 6,
            "kv": 3,
            "clapnq": 5,
            "qmsum": 1,
            "triviaqa": 3,
            "hotpot_hard": 3,
            "hotpot_hard_notitle": 3,
        },
        "default_limit": 3,
        "loader_kwargs": {"qmsum": {"max_turns": 150, "max_meetings": None}},
        "budgets": ["4x", "8x"],
        "methods": [
            "none",
            "truncation",
            "bm25",
            "sbert",
            "doc_dense",
            "lc_filter",
            "llamaindex",
            "vecr",
            "ours",
        ],
        "latency_items": 1,
        "latency_methods": ["ours", "doc_dense"],
        "scaling_max": 10_000,
        "layouts": {
            "datasets": ["hotpotqa"],
            "renderings": ["meta", "title_line", "wrapped"],
            "budgets": ["4x", "8x"],
            "limit": 3,
        },
        "tight": {"datasets": ["nq"], "budgets": ["24", "48"]},
    },
    "full": {
        "datasets": list(D.DATASETS),
        "limits": {
            "nq": 50,
            "hotpotqa": 100,
            "kv": 30,
            "clapnq": 50,
            "qmsum": None,
            "triviaqa": 60,
            "hotpot_hard": 60,
            "hotpot_hard_notitle": 60,
        },
        "default_limit": 50,
        "loader_kwargs": {"qmsum": {"max_turns": None, "max_meetings": 2}},
        "budgets": list(RATIO_BUDGETS + FIXED_BUDGETS),
        "methods": list(M.ALL_METHODS),
        "latency_items": 3,
        "latency_methods": None,
        "scaling_max": 100_000,
        "layouts": {
            "datasets": list(LAYOUT_SETS),
            "renderings": list(REPORTED),
            "budgets": ["4x", "8x", "16x"],
            "limit": 60,  # nq: 20 questions x 3 gold positions
        },
        "tight": {"datasets": list(TIGHT_SETS), "budgets": list(TIGHT_BUDGETS)},
    },
}


def _methods_arg(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        group = {"peers": M.PEERS, "ours_all": M.OURS, "all": M.ALL_METHODS}.get(n)
        for m in group or (n,):
            if m not in M.ALL_METHODS:
                raise SystemExit(f"unknown method {m!r}; choose from {M.ALL_METHODS}")
            if m not in out:
                out.append(m)
    return out


def available(names: list[str]) -> list[str]:
    """``names`` that ``datasets.DATASETS`` knows, in order; each other name is logged, skipped."""
    out = []
    for name in names:
        if name in D.DATASETS:
            out.append(name)
        else:
            log.info("data set %r is not in benchmarks.datasets.DATASETS yet: skipped", name)
    return out


def _limits_arg(
    values: list[str] | None, base: dict[str, Any], default: int | None = None
) -> dict[str, Any]:
    """Item limit per data set: the suite's table, ``default`` for any other set of
    ``datasets.DATASETS``, then ``--limit`` (``N`` for every set, or ``name=N``)."""
    limits = {k: default for k in D.DATASETS}
    limits.update(base)
    for v in values or []:
        if "=" in v:
            k, n = v.split("=", 1)
            limits[k] = int(n)
        else:
            limits = {k: int(v) for k in D.DATASETS}
    return limits


def _part(settings: dict[str, Any], chosen: list[str] | None, run: list[str]) -> dict[str, Any]:
    """A copy of a suite's part ``settings``; its sets are ``chosen`` (the command line's list,
    when given) or the suite's, in either case those among the sets ``run``."""
    out = dict(settings)
    out["datasets"] = [d for d in (settings["datasets"] if chosen is None else chosen) if d in run]
    return out


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, Python and library versions, load average."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    for mod in (
        "torch",
        "sentence_transformers",
        "transformers",
        "langchain_core",
        "langchain_classic",
        "llama_index.core",
        "rank_bm25",
        "tiktoken",
        "vecr_compress",
        "semtoken_rag",
    ):
        try:
            module = __import__(mod, fromlist=["_"])
            info[mod] = getattr(module, "__version__", "?")
        except ImportError:
            info[mod] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    info["vecr_tokenizer"] = M.vecr_tokenizer()
    return info


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--suite", choices=sorted(SUITES), default="quick")
    p.add_argument("--datasets", nargs="+", choices=D.DATASETS)
    p.add_argument(
        "--methods", nargs="+", help=f"names, or groups peers/ours_all/all: {M.ALL_METHODS}"
    )
    p.add_argument("--budgets", nargs="+", help="e.g. 4x 8x 16x 512")
    p.add_argument(
        "--limit", nargs="+", help="N for every data set, or name=N (nq counts questions)"
    )
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--markdown", type=Path, help="report path (default: see module docstring)")
    p.add_argument("--name", help="file stem for results (default: the suite)")
    p.add_argument("--latency-items", type=int, help="items per data set timed cold/warm (0: skip)")
    p.add_argument("--scaling-max", type=int, help="largest scaling size in tokens (0: skip)")
    p.add_argument(
        "--layout-datasets",
        nargs="*",
        choices=D.DATASETS,
        help="sets of the layout part (of those run; none given: skip the part)",
    )
    p.add_argument("--renderings", nargs="+", choices=RENDERINGS, help="of the layout part")
    p.add_argument("--layout-limit", type=int, help="items a set in the layout part (the first N)")
    p.add_argument(
        "--tight-datasets",
        nargs="*",
        choices=D.DATASETS,
        help="sets of the tight-budget part (of those run; none given: skip the part)",
    )
    args = p.parse_args(argv)
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    # vecr-compress warns on every call whose pinned sentences exceed the budget; the runner counts
    # those overruns per cell instead, and the meta file records its token counter.
    logging.getLogger("vecr_compress").setLevel(logging.ERROR)

    cfg = SUITES[args.suite]
    datasets = args.datasets or available(cfg["datasets"])
    names = _methods_arg(args.methods) if args.methods else list(cfg["methods"])
    budgets = args.budgets or list(cfg["budgets"])
    limits = _limits_arg(args.limit, cfg["limits"], cfg["default_limit"])
    latency_items = cfg["latency_items"] if args.latency_items is None else args.latency_items
    scaling_max = cfg["scaling_max"] if args.scaling_max is None else args.scaling_max
    layouts = _part(cfg["layouts"], args.layout_datasets, datasets)
    layouts["renderings"] = args.renderings or layouts["renderings"]
    layouts["budgets"] = [b for b in layouts["budgets"] if b in budgets]
    if args.layout_limit is not None:
        layouts["limit"] = args.layout_limit
    tight = _part(cfg["tight"], args.tight_datasets, datasets)
    stem = args.name or args.suite
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv)

    t0 = time.perf_counter()
    meta: dict[str, Any] = {
        "suite": args.suite,
        "command": command,
        "machine": machine(),
        "loadavg_start": loadavg(),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "datasets": datasets,
        "methods": names,
        "budgets": budgets,
        "limits": {k: limits.get(k) for k in datasets},
        "tuning": tuning_rows(),  # [] until the core has a tuning table
        "layouts": layouts,
        "tight": tight,
        "part_s": {},
    }
    methods = M.Methods()
    methods.minilm.encode(["warm up"])
    meta["model_load_s"] = time.perf_counter() - t0

    latency_rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    with open(args.out / f"{stem}.jsonl", "w", encoding="utf-8") as out:
        for name in datasets:
            t = time.perf_counter()
            kw = cfg["loader_kwargs"].get(name, {})
            items = D.load(name, limits.get(name), **kw)
            counts[name] = len(items)
            methods.minilm.memo = {}
            rows = run_quality(methods, names, items, budgets, out, args.suite)
            log.info(
                "%s: %d items, %d rows, %.1f s (load %s)",
                name,
                len(items),
                rows,
                time.perf_counter() - t,
                loadavg(),
            )
            meta["part_s"][name] = {"main": time.perf_counter() - t}
            if name in tight["datasets"]:
                t = time.perf_counter()
                rows = run_tight(methods, names, items, tight["budgets"], out, args.suite)
                meta["part_s"][name]["tight"] = time.perf_counter() - t
                log.info("%s tight: %d rows, %.1f s", name, rows, time.perf_counter() - t)
            if name in layouts["datasets"] and layouts["budgets"]:
                t = time.perf_counter()
                picked = items[: layouts["limit"]]
                rows = run_layouts(
                    methods,
                    names,
                    picked,
                    layouts["renderings"],
                    layouts["budgets"],
                    out,
                    args.suite,
                )
                meta["part_s"][name]["layouts"] = time.perf_counter() - t
                log.info("%s layouts: %d rows, %.1f s", name, rows, time.perf_counter() - t)
            if latency_items:
                t = time.perf_counter()
                picked = items[:: max(1, len(items) // latency_items)][:latency_items]
                timed = [m for m in names if m in (cfg["latency_methods"] or names)]
                latency_rows += measure_latency(methods, timed, picked)
                log.info("%s latency: %.1f s", name, time.perf_counter() - t)
    methods.minilm.memo = {}
    meta["items"] = counts
    meta["latency"] = latency_rows
    meta["peak_rss_mb"] = _peak_rss()
    if scaling_max:
        t = time.perf_counter()
        sizes = [s for s in (1_000, 10_000, 100_000, 1_000_000) if s <= scaling_max]
        meta["scaling"] = run_scaling(sizes)
        log.info("scaling %s: %.1f s", sizes, time.perf_counter() - t)
    meta["loadavg_end"] = loadavg()
    meta["elapsed_s"] = time.perf_counter() - t0
    meta["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    (args.out / f"{stem}.meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    from .report import write_report

    md = args.markdown or (
        ROOT / "BENCHMARKS.md" if args.suite == "full" else args.out / f"BENCHMARKS-{stem}.md"
    )
    write_report(args.out / f"{stem}.jsonl", args.out / f"{stem}.meta.json", md, args.out, stem)
    log.info("done in %.1f s: %s", meta["elapsed_s"], md)
    return 0


def measure_latency(methods: M.Methods, names: list[str], items: list[dict[str, Any]]) -> list:
    from .measure import latency

    return latency(methods, names, items)


def _peak_rss() -> float:
    from .measure import peak_rss_mb

    return peak_rss_mb()


def run_scaling(sizes: list[int]) -> dict[str, Any]:
    """Scaling in its own process, so its peak RSS is its own."""
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", *map(str, sizes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    if res.returncode != 0:
        log.error("scaling failed: %s", res.stderr[-2000:])
        return {"error": res.stderr[-2000:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    raise SystemExit(main())
