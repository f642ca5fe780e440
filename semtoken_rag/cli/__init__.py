"""The ``semtoken-rag`` command line: the only part of the library that prints. :func:`main`
parses the arguments (:mod:`.args`) and runs a command (:mod:`.commands`); what it reads and
shows is :mod:`.io`, what it says when something is off :mod:`.hints`.

Exit codes: 0 ok, 2 usage error or bad input (one line on stderr, never a traceback), 130 when
interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import commands
from .args import build_parser
from .hints import PROG, library_log_lines, unknown_arguments, usage_line
from .io import UsageError

if TYPE_CHECKING:
    from ..compressor import SemTokenCompressor

__all__ = ["main"]


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
        semtoken-rag 0.2.0
        0
    """
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_in[:1] == ["bench"]:
            return commands.bench(args_in[1:])
        parser = build_parser()
        try:
            args, extra = parser.parse_known_args(args_in)
        except SystemExit as e:  # --help, --version
            return int(e.code or 0)
        if extra:
            raise UsageError(unknown_arguments(parser, args.command, extra, args_in))
        if args.command is None:
            raise UsageError("a command is required: compress, demo, warm or bench (see --help)")
        handler = commands.COMMANDS[args.command]
        with library_log_lines(args.quiet, lambda line: print(line, file=sys.stderr)):
            return handler(args, compressor)
    except UsageError as e:
        print(usage_line(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
