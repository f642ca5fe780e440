"""What the command line reads and how it shows it (no printing here: :mod:`semtoken_rag.cli`
prints): input formats and JSONL records, files read with their own line endings, progress bars
on stderr, and the plain-text layout of the kept spans."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..compressor import SemTokenCompressor
    from ..types import CompressionResult

_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")


class UsageError(Exception):
    """Bad arguments or bad input: reported in one line after the program's name, exit code 2
    (the message carries no prefix: :func:`semtoken_rag.cli.main` adds the one prefix)."""


FORMATS = ("text", "jsonl")
"""Values of ``--format``; without it: ``.jsonl`` files (any case) are JSONL, stdin is JSONL when
every non-empty line parses as a record, anything else is plain text."""


def read_inputs(
    files: Iterable[str], fmt: str | None = None
) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
    """Plain-text documents, and JSONL records as ``(where, record)``; ``fmt`` forces one
    reading (``"text"`` or ``"jsonl"``), else :data:`FORMATS` says how each input is detected."""
    texts: list[Any] = []
    records: list[tuple[str, dict[str, Any]]] = []
    for name in files:
        text = _read(name)
        if (fmt or _detect(name, text)) == "jsonl":
            records.extend(_records(name, text))
        elif text.strip():
            texts.append((text, {"source": name}))
    return texts, records


def _detect(name: str, text: str) -> str:
    """``.jsonl`` files (any case) are JSONL; stdin is JSONL only if every non-empty line is a
    record (plain text that starts with ``{`` stays text)."""
    if name != "-":
        return "jsonl" if name.lower().endswith(".jsonl") else "text"
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].lstrip().startswith("{"):
        return "text"
    try:
        return "jsonl" if all(_is_record(json.loads(line)) for line in lines) else "text"
    except json.JSONDecodeError:
        return "text"
    except RecursionError:  # nested too deeply to parse: JSON, reported by _records
        return "jsonl"


def _is_record(rec: Any) -> bool:
    return isinstance(rec, dict) and isinstance(rec.get("documents"), list)


def _read(name: str) -> str:
    """The input's own text: decoded as UTF-8, line endings untouched (so ``--json`` offsets
    index the file as it is, CRLF included)."""
    try:
        if name == "-":
            raw = getattr(sys.stdin, "buffer", None)
            return raw.read().decode("utf-8") if raw is not None else sys.stdin.read()
        return Path(name).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"cannot read {name}: not UTF-8 text ({e.reason})") from e
    except FileNotFoundError as e:
        raise UsageError(f"cannot read {name}: {e.strerror or e}{_query_hint(name)}") from e
    except OSError as e:
        raise UsageError(f"cannot read {name}: {e.strerror or e}") from e


def _query_hint(name: str) -> str:
    """For a missing "file" that reads like a question: the flag the user meant."""
    if any(c.isspace() for c in name) or name.rstrip().endswith("?"):
        return f"; a query goes after --query: did you mean --query {json.dumps(name)}?"
    return ""


def _records(name: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{'stdin' if name == '-' else name}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise UsageError(f"{where}: invalid JSON ({e.msg}, column {e.colno})") from e
        except RecursionError as e:  # json's parser recurses once per level
            raise UsageError(f"{where}: invalid JSON (nested too deeply to read)") from e
        if not _is_record(rec):
            raise UsageError(f'{where}: expected {{"query": ..., "documents": [...]}}')
        docs = [tuple(d) if _is_pair(d) else d for d in rec["documents"]]
        out.append((where, {**rec, "documents": docs}))
    return out


def _is_pair(d: Any) -> bool:
    return isinstance(d, list) and len(d) == 2 and isinstance(d[0], str) and isinstance(d[1], dict)


def fingerprint_with_bar(core: SemTokenCompressor, docs: Sequence[Any]) -> None:
    """Fingerprint ``docs`` into ``core.cache`` with a bar that moves per document (batches of
    at most 32 documents, so a long batch still shows at least ~50 steps)."""
    from tqdm.auto import tqdm

    from ..inputs import as_documents

    todo = [d for d in as_documents(docs) if d.text.strip()]
    step = bar_step(len(todo))
    with tqdm(total=len(todo), desc="fingerprints", unit="doc", file=sys.stderr) as bar:
        for lo in range(0, len(todo), step):
            batch = todo[lo : lo + step]
            core.warm(batch)
            bar.update(len(batch))


def bar_step(n: int) -> int:
    """Documents per progress step: one by one up to 50 documents, then batches of up to 32
    (the encoder's batch) so a long run still moves in ~50 steps."""
    return max(1, min(32, n // 50))


@contextmanager
def window_bar(encoder: Any) -> Iterator[Any]:
    """A tqdm bar (on stderr) over the encoder windows of the calls made while the block runs:
    the progress of one big document, with a total and an ETA once the document is segmented
    (:func:`semtoken_rag.progress.window_progress`). A no-op for encoders without windowed
    passes (callables).

    Example:
        >>> from semtoken_rag import SemTokenCompressor
        >>> c = SemTokenCompressor()
        >>> with window_bar(c.encoder) as bar:  # doctest: +SKIP
        ...     c.compress("q", ["A long text. " * 2000], budget=50)
        >>> (bar.n, bar.total)  # doctest: +SKIP
        (97, 97)
    """
    if not callable(getattr(encoder, "token_states", None)):
        yield None
        return
    from tqdm.auto import tqdm

    from ..progress import window_progress

    with tqdm(desc="windows", unit="window", file=sys.stderr) as bar:

        def report(planned: int, done: int) -> None:
            if planned:
                bar.total = (bar.total or 0) + planned
                bar.refresh()
            if done:
                bar.update(done)

        with window_progress(report):
            yield bar


def plain_text(result: CompressionResult, count: Callable[[str], int]) -> str:
    r"""The kept text for a reader: documents apart by a blank line, and within one document a
    line break (or a blank line) between two kept spans where the dropped text held one, so lines,
    lists and Markdown keep their shape; elsewhere the core's separator. A document whose shaped
    text counts more tokens than the core kept for it falls back to the core's text, so the
    budget holds.

    Example:
        >>> from semtoken_rag import SemTokenCompressor
        >>> c = SemTokenCompressor()
        >>> doc = ("Röntgen discovered X-rays in 1895.\nParis is the capital of France.\n"
        ...        "He won the first Nobel Prize in Physics.")
        >>> r = c.compress("Who discovered X-rays, and what prize did he win?", [doc], budget=22)
        >>> r.text
        'Röntgen discovered X-rays in 1895. He won the first Nobel Prize in Physics.'
        >>> plain_text(r, c.count_tokens)
        'Röntgen discovered X-rays in 1895.\nHe won the first Nobel Prize in Physics.'
    """
    return "\n\n".join(text for text in shaped_documents(result, count) if text)


NOTHING_KEPT = "(nothing kept)"
"""What the labelled output shows for a document of which nothing was kept."""


def labelled_text(
    result: CompressionResult, count: Callable[[str], int], sources: Sequence[str]
) -> str:
    """The kept text of several documents, each under its source's name as ``head`` labels
    files (``==> name <==``, standard input for ``-``), with :data:`NOTHING_KEPT` under a
    document of which nothing was kept. The labels are not counted in the budget.

    Example:
        >>> from semtoken_rag import SemTokenCompressor
        >>> c = SemTokenCompressor()
        >>> docs = ["Röntgen found X-rays in 1895.", "Paris is the capital of France."]
        >>> r = c.compress("Who found X-rays?", docs, budget=12)
        >>> print(labelled_text(r, c.count_tokens, ["a.txt", "-"]))
        ==> a.txt <==
        Röntgen found X-rays in 1895.
        <BLANKLINE>
        ==> standard input <==
        (nothing kept)
    """
    blocks = []
    for source, text in zip(sources, shaped_documents(result, count), strict=True):
        name = "standard input" if source == "-" else source
        blocks.append(f"==> {name} <==\n{text or NOTHING_KEPT}")
    return "\n\n".join(blocks)


def shaped_documents(result: CompressionResult, count: Callable[[str], int]) -> list[str]:
    """Each document's kept text as :func:`plain_text` shapes it ("" where nothing was kept)."""
    by_doc: list[list[Any]] = [[] for _ in result.source_texts]
    for span in result.spans:  # grouped once: a scan per document is quadratic in documents
        by_doc[span.doc_index].append(span)
    out = []
    for i, (source, fallback) in enumerate(zip(result.source_texts, result.documents())):
        parts: list[str] = []
        end: int | None = None
        for span in by_doc[i]:
            if end is not None:
                gap = source[end : span.start]
                if gap == "" or gap.isspace():
                    parts.append(gap)  # adjacent: the core keeps the original white space
                elif _BLANK_LINE.search(gap):
                    parts.append("\n\n")
                elif "\n" in gap or "\r" in gap:
                    parts.append("\n")
                else:
                    parts.append(result.separator)
            parts.append(span.text)
            end = span.end
        shaped = "".join(parts)
        kept = result.kept_doc_tokens[i] if result.kept_doc_tokens else count(fallback)
        out.append(shaped if shaped == fallback or count(shaped) <= kept else fallback)
    return out


def with_sources(result: CompressionResult, sources: list[str]) -> dict[str, Any]:
    """``result.to_dict()`` with the file each document came from: ``sources`` beside
    ``documents``, and ``source`` in each span."""
    data = result.to_dict()
    data["sources"] = sources
    data["spans"] = [{**span, "source": sources[span["doc_index"]]} for span in data["spans"]]
    return data
