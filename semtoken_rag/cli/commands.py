"""The commands of the command line (``compress``, ``demo``, ``warm``, ``bench``): each takes the
parsed arguments and returns the exit code; :func:`semtoken_rag.cli.main` dispatches to them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .hints import PROG, cache_mismatch
from .io import (
    UsageError,
    bar_step,
    fingerprint_with_bar,
    labelled_text,
    plain_text,
    read_inputs,
    window_bar,
    with_sources,
)

if TYPE_CHECKING:
    from ..compressor import SemTokenCompressor
    from ..types import CompressionResult


def compress(args: argparse.Namespace, base: SemTokenCompressor | None) -> int:
    if args.read_only and not args.cache:
        raise UsageError("--read-only needs --cache PATH")
    if args.read_only and not Path(args.cache).is_dir():
        raise UsageError(f"--cache: no cache folder at {args.cache} to read (--read-only)")
    texts, records = read_inputs(args.files, args.format)
    if not texts and not records:
        raise UsageError(f"empty input (no text in {', '.join(args.files)})")
    show = _progress(args.quiet)
    core = _core(base, args.cache, read_only=args.read_only, backend=args.backend)
    out = sys.stdout
    if texts:
        result, seconds = _run(core, args.query, texts, args, show, "")
        sources = [meta["source"] for _, meta in texts]
        if args.json:
            out.write(json.dumps(with_sources(result, sources), ensure_ascii=False, indent=2))
        elif len(texts) > 1:
            out.write(labelled_text(result, core.count_tokens, sources))
        else:
            out.write(plain_text(result, core.count_tokens))
        out.write("\n")
        _summary(result.kept_tokens, result.original_tokens, seconds, args.quiet)
    if records:
        from tqdm.auto import tqdm

        kept = original = 0
        start = time.perf_counter()
        for where, rec in tqdm(
            records, desc="records", unit="rec", disable=not show, file=sys.stderr
        ):
            query = rec.get("query", args.query)
            result, _ = _run(core, query, rec["documents"], args, False, where)
            row = {"id": rec["id"], **result.to_dict()} if "id" in rec else result.to_dict()
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            kept, original = kept + result.kept_tokens, original + result.original_tokens
        seconds = time.perf_counter() - start
        _summary(kept, original, seconds, args.quiet, f"{len(records)} records: ")
    _save(core, args.cache)
    return 0


def demo(args: argparse.Namespace, base: SemTokenCompressor | None) -> int:
    data = json.loads((resources.files("semtoken_rag") / "data" / "demo.json").read_text("utf-8"))
    docs = [(d["text"], {"title": d["title"]}) for d in data["documents"]]
    if args.budget is None and args.ratio is None:
        args.budget = 128
    core = _core(base, None, backend=args.backend)
    result, _ = _run(core, data["query"], docs, args, _progress(args.quiet), "demo")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    from ..inputs import as_documents

    norm = [a.lower() for a in data["answers"]]
    found = any(a in result.text.lower() for a in norm)
    print(f"query:   {data['query']}")
    print(f"answer:  {' / '.join(data['answers'])} (gold passage: document {data['gold_index']})")
    print()
    for i, (doc, text) in enumerate(zip(as_documents(docs), result.documents())):
        if text:
            print(f"[{i}] {doc.title}: {text}")
    print()
    print(
        f"tokens:  {result.original_tokens} -> {result.kept_tokens} "
        f"(ratio {result.ratio:.3f}, {result.speedup:.1f}x fewer; budget {result.budget})"
    )
    stages = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.timings.items())
    print(f"time:    {stages}")
    print(f"answer kept: {'yes' if found else 'no'}")
    return 0


def warm(args: argparse.Namespace, base: SemTokenCompressor | None) -> int:
    from ..warm import warm_cache

    texts, records = read_inputs(args.files, args.format)
    docs: list[Any] = list(texts) + [d for _, r in records for d in r["documents"]]
    if not docs:
        raise UsageError(f"empty input (no text in {', '.join(args.files)})")
    core = _core(base, args.cache, backend=args.backend)
    try:
        counts = warm_cache(
            core, docs, batch_size=bar_step(len(docs)), progress=_progress(args.quiet)
        )
    except (ValueError, TypeError, OSError) as e:  # OSError: the save failed (a full disk...)
        raise UsageError(f"--cache: {e}") from e
    print(
        f"warmed {args.cache}: {counts['documents']} documents ({counts['computed']} new, "
        f"{counts['cached']} cached), {counts['spans']} spans, {counts['bytes']} bytes"
    )
    return 0


def bench(argv: list[str]) -> int:
    """Run ``python -m benchmarks.run ARGS`` in the source checkout this package lives in."""
    import subprocess

    root = _checkout_root()
    if root is None:
        raise UsageError(
            "bench: the benchmark runs from a source checkout of semtoken-rag "
            "(python -m benchmarks.run); this installation is not one"
        )
    return subprocess.call([sys.executable, "-m", "benchmarks.run", *argv], cwd=root)


def _checkout_root() -> Path | None:
    """The source checkout this package runs from (``None`` for an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "benchmarks" / "run.py").is_file() else None


def _run(
    core: SemTokenCompressor,
    query: Any,
    docs: Sequence[Any],
    args: argparse.Namespace,
    show: bool,
    where: str,
) -> tuple[CompressionResult, float]:
    """Compress, with progress bars when ``show``: one step per document when there are several
    (fingerprinted into the cache first, so compress then hits it), one step per encoder window
    for a single document. Returns the result and the wall time, fingerprinting included."""
    start = time.perf_counter()
    floor = getattr(args, "min_relevance", None)
    if floor is not None and not query:
        raise UsageError("--min-relevance needs --query (scores are relevance to the query)")

    def run() -> CompressionResult:
        return core.compress(query, docs, budget=args.budget, ratio=args.ratio, min_relevance=floor)

    try:
        if show and len(docs) > 1 and core.cache is not None:
            fingerprint_with_bar(core, docs)
            result = run()
        elif show:
            with window_bar(core.encoder):
                result = run()
        else:
            result = run()
    except (ValueError, TypeError) as e:
        raise UsageError(f"{where}: {e}" if where else str(e)) from e
    return result, time.perf_counter() - start


def _core(
    base: SemTokenCompressor | None,
    cache_path: str | None,
    *,
    read_only: bool = False,
    backend: str | None = None,
) -> SemTokenCompressor:
    from ..cache import FingerprintCache
    from ..compressor import SemTokenCompressor
    from ..config import SemTokenConfig

    try:
        cache = FingerprintCache(cache_path, read_only=read_only) if cache_path else None
    except (ValueError, TypeError, OSError) as e:
        raise UsageError(f"--cache: {e}") from e
    if base is None:
        config = SemTokenConfig(backend=backend) if backend else None  # type: ignore[arg-type]
        core = SemTokenCompressor(config, cache=cache)  # (argparse checked the choice)
    elif cache is None:
        core = base
    else:
        core = SemTokenCompressor(
            base.config, encoder=base.encoder, token_counter=base.token_counter, cache=cache
        )
    if cache is not None and cache.namespace not in (None, core.namespace):
        raise UsageError(cache_mismatch(str(cache_path), cache.namespace, core.namespace))
    load = getattr(core.encoder, "load", None)
    if callable(load):
        try:
            load()  # load the model now, so stage timings measure compression only
        except (ImportError, ValueError, OSError) as e:  # a missing runtime, an unwritable home
            other = " (or --backend torch)" if isinstance(e, ImportError) else ""
            raise UsageError(
                f"cannot load the encoder (--backend {core.config.backend}): {e}{other}"
            ) from e
    return core


def _save(core: SemTokenCompressor, cache_path: str | None) -> None:
    if cache_path and core.cache is not None and not getattr(core.cache, "read_only", False):
        try:
            core.cache.save()
        except (ValueError, OSError) as e:
            raise UsageError(f"--cache: {e}") from e


def _progress(quiet: bool, stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stderr
    return not quiet and bool(getattr(stream, "isatty", lambda: False)())


def _summary(kept: int, original: int, seconds: float, quiet: bool, what: str = "") -> None:
    """One line on stderr; ``seconds`` is the wall time of the work, fingerprinting included."""
    if quiet:
        return
    share = kept / original if original else 1.0
    print(
        f"{PROG}: {what}kept {kept} of {original} tokens ({share:.1%}) in {seconds:.2f} s",
        file=sys.stderr,
    )


COMMANDS = {"compress": compress, "demo": demo, "warm": warm}
"""The commands that take parsed arguments (``bench`` hands its arguments on unparsed)."""
