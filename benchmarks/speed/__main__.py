"""``python -m benchmarks.speed PART ...``: the speed benchmark (see :mod:`benchmarks.speed`)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import __doc__ as DOC
from .parts import (
    BACKENDS,
    CACHE_SPANS,
    RESULTS,
    ROOT,
    SIZES,
    loadavg,
    part_backend,
    part_cache,
    part_cache_load,
    part_scale,
    part_threads,
)


def _sub(args: list[str]) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        return {"error": res.stderr[-2000:], "args": args}
    return json.loads(res.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    from importlib import metadata

    info: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    for dist in ("torch", "onnxruntime", "openvino", "sentence-transformers", "faiss-cpu"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[dist] = None
    return info


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    q = ["--quick"] if args.quick else []
    out: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv), "parts": {}}
    parts = out["parts"]
    for b in args.backends:
        la = loadavg()
        parts[f"backend/{b}"] = {**_sub(["backend", b, *q]), "loadavg_before": la}
    for b in args.backends:
        la = loadavg()
        parts[f"threads/{b}"] = {**_sub(["threads", b, *q]), "loadavg_before": la}
    sizes = [s for s in SIZES if s <= args.max_tokens]
    la = loadavg()
    parts[f"scale/{args.default}"] = {**part_scale(args.default, sizes), "loadavg_before": la}
    la = loadavg()
    spans = 20_000 if args.quick else CACHE_SPANS
    parts[f"cache/{args.default}"] = {**part_cache(args.default, spans), "loadavg_before": la}
    out["loadavg_after"] = loadavg()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description=(DOC or "").splitlines()[0]
    )
    ap.add_argument("part", choices=["all", "backend", "threads", "scale", "cache", "cache-load"])
    ap.add_argument("name", nargs="?", default="onnx", help="backend (or folder for cache-load)")
    ap.add_argument("folder", nargs="?")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS))
    ap.add_argument("--default", default="onnx", help="backend of the scale and cache parts")
    ap.add_argument("--max-tokens", type=int, default=SIZES[-1])
    ap.add_argument("--out", default=str(RESULTS / "speed.json"))
    args = ap.parse_args(argv)
    if args.part == "backend":
        res = part_backend(args.name, args.quick)
    elif args.part == "threads":
        res = part_threads(args.name, args.quick)
    elif args.part == "scale":
        res = part_scale(args.name, [s for s in SIZES if s <= args.max_tokens])
    elif args.part == "cache":
        res = part_cache(args.name, 20_000 if args.quick else CACHE_SPANS)
    elif args.part == "cache-load":
        res = part_cache_load(args.name, args.folder)
    else:
        res = run_all(args)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1), encoding="utf-8")
        from .speed_section import markdown

        Path(args.out).with_suffix(".md").write_text(markdown(res), encoding="utf-8")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
