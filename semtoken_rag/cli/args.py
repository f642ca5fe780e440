"""The command line's arguments: the parser of each command, and checks of ``--budget`` and
``--ratio`` while parsing (before any model is loaded)."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from .. import __version__
from .hints import PROG, choice_hint
from .io import FORMATS, UsageError

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
    commands: dict[str, argparse.ArgumentParser]
    """The parser of each command (set on the top parser by :func:`build_parser`)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{choice_hint(message)} (see {self.prog} --help)")


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
    c.add_argument(
        "--min-relevance",
        type=_probability,
        metavar="P",
        help="keep only spans whose calibrated score (estimated probability of holding evidence "
        "for the query) is at least P, up to the budget; needs --query",
    )
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
    p.commands = dict(sub.choices)
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


def _probability(text: str) -> float:
    """``--min-relevance``: a float in [0, 1] (not NaN), checked while parsing."""
    try:
        r = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if math.isnan(r) or not 0.0 <= r <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return r


def _ratio(text: str) -> float:
    """``--ratio``: a float in (0, 1] (not NaN), checked while parsing."""
    try:
        r = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if math.isnan(r) or not 0.0 < r <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return r
