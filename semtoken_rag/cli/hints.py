"""What the command line says when something is off (printed by :mod:`semtoken_rag.cli`): a
suggestion for a mistyped flag or command, a hint when ``-q`` (``--quiet``) was meant
as ``--query``, the CLI's own words in the library's messages (``--read-only`` for
``read_only=True``), the backend a cache was made with, and the library's log lines (the one-off
int8 export) under the program's one prefix."""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

PROG = "semtoken-rag"
"""The one prefix of every message the command line prints on stderr."""

_CLI_WORDS = (
    (re.compile(r"\bread_only=True\b"), "--read-only"),
    (re.compile(r"\bbackend=['\"](\w+)['\"]"), r"--backend \1"),
    (re.compile(r"\bor save\(force=True\) to replace them"), "(or delete that folder)"),
    (re.compile(r"\b(use|pass) another path\b"), r"\1 another --cache folder"),
)


def cli_words(message: str) -> str:
    """The library's keyword arguments in a message, as the command line spells them.

    Example:
        >>> cli_words("pass another path, or read_only=True to only read it")
        'pass another --cache folder, or --read-only to only read it'
        >>> cli_words("backend='openvino' needs openvino")
        '--backend openvino needs openvino'
    """
    for pattern, words in _CLI_WORDS:
        message = pattern.sub(words, message)
    return message


def choice_hint(message: str) -> str:
    """argparse's ``invalid choice`` message, with the closest choice suggested.

    Example:
        >>> choice_hint("invalid choice: 'compres' (choose from 'compress', 'demo')")
        "invalid choice: 'compres' (choose from 'compress', 'demo'); did you mean 'compress'?"
    """
    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not m:
        return message
    choices = re.findall(r"'([^']*)'", m[2])
    close = difflib.get_close_matches(m[1], choices, n=1, cutoff=0.6)
    return f"{message}; did you mean '{close[0]}'?" if close else message


def unknown_arguments(parser: argparse.ArgumentParser, command: str | None, extra: list[str],
                      argv: Sequence[str]) -> str:  # fmt: skip
    """``unrecognized arguments`` with, per mistyped flag, the closest flag of ``command``; and a
    hint when ``-q`` (``--quiet``) took the place of ``--query``."""
    commands: dict[str, argparse.ArgumentParser] = getattr(parser, "commands", {})
    own = commands.get(command or "", parser)
    flags = [f for action in own._actions for f in action.option_strings if f.startswith("--")]
    hints = []
    for token in extra:
        if token.startswith("-"):
            close = difflib.get_close_matches(token.split("=", 1)[0], flags, n=1, cutoff=0.6)
            if close:
                hints.append(f"did you mean {close[0]} (not {token})?")
    if command == "compress" and "-q" in argv and "--query" not in argv:
        hints.append("-q is --quiet; did you mean --query?")
    hint = f"; {' '.join(hints)}" if hints else ""
    return f"unrecognized arguments: {' '.join(extra)}{hint} (see {own.prog} --help)"


def _backend(encoder: str) -> str | None:
    if not encoder.startswith("st:"):
        return None
    for backend in ("openvino", "onnx"):
        if encoder.endswith(f"+{backend}-int8"):
            return backend
    return "torch" if "+" not in encoder else None


def cache_mismatch(path: str, held: str, wanted: str) -> str:
    """Why ``--cache path`` cannot serve this run, and what to pass instead.

    Example:
        >>> held = '{"encoder": "st:all-MiniLM-L6-v2+openvino-int8", "window": 440}'
        >>> print(cache_mismatch("fp", held, '{"encoder": "st:all-MiniLM-L6-v2", "window": 440}'))
        --cache fp holds fingerprints made with --backend openvino and this run uses --backend
        torch: pass --backend openvino to use this cache, or another --cache folder
    """
    from ..cache.settings import settings_mismatch

    try:
        a, b = json.loads(held), json.loads(wanted)
        rest = {k: v for k, v in a.items() if k != "encoder"} == {
            k: v for k, v in b.items() if k != "encoder"
        }
        was, now = _backend(a.get("encoder", "")), _backend(b.get("encoder", ""))
    except (ValueError, AttributeError):
        rest, was, now = False, None, None
    if rest and was and now and a.get("encoder", "").split("+")[0] == b["encoder"].split("+")[0]:
        return (
            f"--cache {path} holds fingerprints made with --backend {was} and this run uses "
            f"--backend {now}: pass --backend {was} to use this cache, or another --cache folder"
        )
    return (
        f"--cache {path} holds fingerprints of other settings ({settings_mismatch(held, wanted)});"
        " use another --cache folder"
    )


class _Lines(logging.Handler):
    """The library's log records, each given to ``say`` as one ``semtoken-rag: message`` line."""

    def __init__(self, quiet: bool, say: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.quiet = quiet
        self.say = say

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not self.quiet and record.name == "semtoken_rag.encoders.export"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.say(f"{PROG}: {' '.join(record.getMessage().split())}")
        except Exception:  # pragma: no cover - as logging.Handler.handleError
            self.handleError(record)


@contextmanager
def library_log_lines(quiet: bool, say: Callable[[str], None]) -> Iterator[None]:
    """While the block runs, pass the library's warnings, and (unless ``quiet``) its one INFO
    line before a one-off int8 export, to ``say`` (the CLI prints them on stderr), each as one
    line under :data:`PROG`."""
    library, export = (
        logging.getLogger("semtoken_rag"),
        logging.getLogger("semtoken_rag.encoders.export"),
    )
    handler, level = _Lines(quiet, say), export.level
    library.addHandler(handler)
    export.setLevel(logging.INFO)
    try:
        yield
    finally:
        export.setLevel(level)
        library.removeHandler(handler)


def usage_line(message: Any) -> str:
    """The one stderr line of a usage error: the prefix, then the message in CLI words."""
    return f"{PROG}: {cli_words(' '.join(str(message).split()))}"
