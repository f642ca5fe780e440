"""The ``semtoken-rag`` command line: the only module of the package that prints.

Exit codes: 0 ok, 2 usage error or bad input (one line on stderr, never a traceback), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from . import __version__
from .cli_io import (
    FORMATS,
    UsageError,
    bar_step,
    fingerprint_with_bar,
    plain_text,
    read_inputs,
    window_bar,
)

if TYPE_CHECKING:
    from .compressor import SemTokenCompressor
    from .types import CompressionResult

PROG = "semtoken-rag"
EPILOG = """examples:
  semtoken-rag demo
  semtoken-rag compress --query "Who discovered X-rays?" --budget 200 notes.txt wiki.txt
  cat page.txt | semtoken-rag compress --query "When was it founded?" --ratio 0.25 -
  semtoken-rag compress --json --budget 512 batch.jsonl > compressed.jsonl
  semtoken-rag warm --cache fp-cache corpus/*.txt
  semtoken-rag compress --cache fp-cache --query "..." --budget 300 corpus/*.txt
  semtoken-rag bench --suite quick

A .jsonl file holds one record per line, {"query": str, "documents": [str | {"text", "title"}]},
and gives one JSON line of output per record. Any other file is one plain-text document; stdin is
JSONL only when every line is such a record (or with --format jsonl)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools and tests)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog=PROG,
        description="Query-aware, budgeted context compression for RAG, with provenance.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or stats")
    common.add_argument(
        "--backend",
        choices=("openvino", "torch", "onnx"),
        help="what runs the encoder (default: openvino, int8)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser(
        "compress",
        parents=[common],
        help="compress documents for a query",
        description="Keep the spans of the documents that best answer the query, within a budget.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    c.add_argument("--query", help="the question (omit for query-free compression)")
    _budget_options(c)
    c.add_argument("--json", action="store_true", help="print spans and stats as JSON")
    _format_option(c)
    c.add_argument("--cache", metavar="PATH", help="fingerprint cache folder (loaded and saved)")
    c.add_argument(
        "--read-only", action="store_true", help="load --cache but never write it (shared caches)"
    )
    c.add_argument("files", nargs="+", metavar="FILE", help="text or .jsonl files; - for stdin")

    d = sub.add_parser("demo", parents=[common], help="compress the bundled Wikipedia sample")
    _budget_options(d)
    d.add_argument("--json", action="store_true", help="print spans and stats as JSON")

    w = sub.add_parser("warm", parents=[common], help="precompute a corpus's fingerprints")
    w.add_argument("--cache", metavar="PATH", required=True, help="cache folder to write")
    _format_option(w)
    w.add_argument("files", nargs="+", metavar="FILE", help="text or .jsonl files; - for stdin")

    sub.add_parser(
        "bench",
        help="run the benchmark (from a source checkout): bench --suite quick|full",
        add_help=False,
    )
    return p


def _budget_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--budget", type=_budget, metavar="N", help="most tokens to keep (cl100k)")
    g.add_argument("--ratio", type=_ratio, metavar="R", help="share of the tokens to keep, (0, 1]")


def _format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="read every input as plain text or as JSONL records (default: .jsonl files and "
        "JSONL on stdin are records, the rest text)",
    )


def _budget(text: str) -> int:
    """``--budget``: an int > 0, checked while parsing (before any model is loaded)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be an int > 0, got {n}")
    return n


def _ratio(text: str) -> float:
    """``--ratio``: a float in (0, 1] (not NaN), checked while parsing."""
    try:
        r = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if math.isnan(r) or not 0.0 < r <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return r


def main(argv: Sequence[str] | None = None, *, compressor: SemTokenCompressor | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; default ``sys.argv[1:]``.
        compressor: A compressor to use (and whose model to share) instead of a new default one.

    Returns:
        The exit code: 0 ok, 2 usage error or bad input, 130 interrupted.

    Example:
        >>> from semtoken_rag.cli import main
        >>> main(["--version"])  # doctest: +SKIP
        semtoken-rag 0.1.0
        0
    """
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_in[:1] == ["bench"]:
            return _bench(args_in[1:])
        try:
            args = build_parser().parse_args(args_in)
        except SystemExit as e:  # --help, --version
            return int(e.code or 0)
        if args.command is None:
            raise UsageError(
                f"{PROG}: a command is required: compress, demo, warm or bench (see --help)"
            )
        handler = {"compress": _compress, "demo": _demo, "warm": _warm}[args.command]
        return handler(args, compressor)
    except UsageError as e:
        print(_one_line(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


# ---- commands ------------------------------------------------------------------------------


def _compress(args: argparse.Namespace, base: SemTokenCompressor | None) -> int:
    if args.read_only and not args.cache:
        raise UsageError(f"{PROG} compress: --read-only needs --cache PATH")
    if args.read_only and not Path(args.cache).is_dir():
        raise UsageError(f"{PROG}: --cache: no cache folder at {args.cache} to read (--read-only)")
    texts, records = read_inputs(args.files, args.format)
    if not texts and not records:
        raise UsageError(f"{PROG} compress: empty input (no text in {', '.join(args.files)})")
    show = _progress(args.quiet)
    core = _core(base, args.cache, read_only=args.read_only, backend=args.backend)
    out = sys.stdout
    if texts:
        result, seconds = _run(core, args.query, texts, args, show, "compress")
        if args.json:
            out.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        else:
            out.write(plain_text(result, core.count_tokens) + "\n")
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


def _demo(args: argparse.Namespace, base: SemTokenCompressor | None) -> int:
    data = json.loads((resources.files("semtoken_rag") / "data" / "demo.json").read_text("utf-8"))
    docs = [(d["text"], {"title": d["title"]}) for d in data["documents"]]
    if args.budget is None and args.ratio is None:
        args.budget = 128
    core = _core(base, None, backend=args.backend)
    result, _ = _run(core, data["query"], docs, args, _progress(args.quiet), "demo")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    from .inputs import as_documents

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


def _warm(args: argparse.Namespace, base: SemTokenCompressor | None) -> int:
    from .warm import warm_cache

    texts, records = read_inputs(args.files, args.format)
    docs: list[Any] = list(texts) + [d for _, r in records for d in r["documents"]]
    if not docs:
        raise UsageError(f"{PROG} warm: empty input (no text in {', '.join(args.files)})")
    core = _core(base, args.cache, backend=args.backend)
    try:
        counts = warm_cache(
            core, docs, batch_size=bar_step(len(docs)), progress=_progress(args.quiet)
        )
    except (ValueError, TypeError, OSError) as e:  # OSError: the save failed (a full disk...)
        raise UsageError(f"{PROG} warm: {e}") from e
    print(
        f"warmed {args.cache}: {counts['documents']} documents ({counts['computed']} new, "
        f"{counts['cached']} cached), {counts['spans']} spans, {counts['bytes']} bytes"
    )
    return 0


def _bench(argv: list[str]) -> int:
    """Run ``python -m benchmarks.run ARGS`` in the source checkout this package lives in."""
    import subprocess

    root = _checkout_root()
    if root is None:
        raise UsageError(
            f"{PROG} bench: the benchmark runs from a source checkout of semtoken-rag "
            "(python -m benchmarks.run); this installation is not one"
        )
    return subprocess.call([sys.executable, "-m", "benchmarks.run", *argv], cwd=root)


def _checkout_root() -> Path | None:
    """The source checkout this package runs from (``None`` for an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "benchmarks" / "run.py").is_file() else None


# ---- helpers -------------------------------------------------------------------------------


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
    try:
        if show and len(docs) > 1 and core.cache is not None:
            fingerprint_with_bar(core, docs)
            result = core.compress(query, docs, budget=args.budget, ratio=args.ratio)
        elif show:
            with window_bar(core.encoder):
                result = core.compress(query, docs, budget=args.budget, ratio=args.ratio)
        else:
            result = core.compress(query, docs, budget=args.budget, ratio=args.ratio)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{PROG}: {where}: {e}") from e
    return result, time.perf_counter() - start


def _core(
    base: SemTokenCompressor | None,
    cache_path: str | None,
    *,
    read_only: bool = False,
    backend: str | None = None,
) -> SemTokenCompressor:
    from .cache import FingerprintCache
    from .compressor import SemTokenCompressor
    from .config import SemTokenConfig

    _quiet_transformers()
    try:
        cache = FingerprintCache(cache_path, read_only=read_only) if cache_path else None
    except (ValueError, TypeError, OSError) as e:
        raise UsageError(f"{PROG}: --cache: {e}") from e
    if base is None:
        config = SemTokenConfig(backend=backend) if backend else None  # type: ignore[arg-type]
        core = SemTokenCompressor(config, cache=cache)  # (argparse checked the choice)
    elif cache is None:
        core = base
    else:
        core = SemTokenCompressor(
            base.config, encoder=base.encoder, token_counter=base.token_counter, cache=cache
        )
    load = getattr(core.encoder, "load", None)
    if callable(load):
        load()  # load the model now, so stage timings measure compression only
    return core


def _save(core: SemTokenCompressor, cache_path: str | None) -> None:
    if cache_path and core.cache is not None and not getattr(core.cache, "read_only", False):
        try:
            core.cache.save()
        except (ValueError, OSError) as e:
            raise UsageError(f"{PROG}: --cache: {e}") from e


def _quiet_transformers() -> None:
    """Hide transformers' "Loading weights" bar: the CLI's own output stays readable."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - a custom encoder without transformers
        pass


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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
