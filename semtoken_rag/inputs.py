"""Validation of what the caller passes (documents, query, budget and ratio), and the measures of
one compress call's input (:func:`measure`)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from types import MappingProxyType
from typing import Any

from .config import UNBOUNDED, SemTokenConfig
from .pipeline.assemble import joined_tokens
from .types import Document, MeasuredInput


def as_documents(documents: Any) -> list[Document]:
    """Accept strings, ``(text, metadata)`` pairs, mappings with ``text``/``page_content``, or
    objects with ``page_content``/``text`` and ``metadata`` attributes.

    Example:
        >>> [d.title for d in as_documents(["a", ("b", {"title": "T"})])]
        ['', 'T']
    """
    if documents is None:
        raise TypeError("documents must be a list of strings or (text, metadata) records, got None")
    if isinstance(documents, (str, bytes, bytearray)):
        raise TypeError("documents must be a list of documents, not a single str or bytes")
    single = hasattr(documents, "page_content") or isinstance(getattr(documents, "text", None), str)
    if isinstance(documents, Mapping) or single:
        raise TypeError(
            "documents must be a list of documents, not a single "
            f"{type(documents).__name__}; wrap it in a list"
        )
    if isinstance(documents, AbstractSet):
        raise TypeError(
            f"documents must be an ordered list, got a {type(documents).__name__} "
            "(its order, and so the result, would change from run to run)"
        )
    if not isinstance(documents, Sequence) and not hasattr(documents, "__iter__"):
        raise TypeError(f"documents must be a list, got {type(documents).__name__}")
    return [_one(d, i) for i, d in enumerate(list(documents))]


def _one(d: Any, i: int) -> Document:
    text: Any
    meta: Any = None
    if isinstance(d, str):
        text = d
    elif isinstance(d, Document):
        _check_text(d.text, f"documents[{i}]")
        _check_text(d.title, f"documents[{i}] title")
        return d
    elif isinstance(d, tuple) and len(d) == 2 and isinstance(d[0], str):
        text, meta = d
    elif isinstance(d, Mapping):
        text = d.get("text", d.get("page_content", d.get("content")))
        meta = d.get("metadata")
        if meta is None:
            meta = {k: v for k, v in d.items() if k not in ("text", "page_content", "content")}
    elif hasattr(d, "page_content"):
        text, meta = d.page_content, getattr(d, "metadata", None)
    elif hasattr(d, "text") and isinstance(getattr(d, "text", None), str):
        text, meta = d.text, getattr(d, "metadata", None)
    else:
        raise TypeError(
            f"documents[{i}] must be a str or a (text, metadata) record, got {type(d).__name__}"
        )
    if not isinstance(text, str):
        raise TypeError(f"documents[{i}] text must be a str, got {type(text).__name__}")
    if meta is not None and not isinstance(meta, Mapping):
        raise TypeError(f"documents[{i}] metadata must be a mapping, got {type(meta).__name__}")
    _check_text(text, f"documents[{i}]")
    meta = meta or {}
    title = title_of(meta)
    _check_text(title, f"documents[{i}] title (metadata['title'])")
    return Document(text=text, metadata=MappingProxyType(dict(meta)), title=title)


_HEADER_KEY = re.compile(r"(?:header|heading|h)[ _-]?([1-6])", re.I)


def title_of(meta: Mapping[str, Any]) -> str:
    """The title a document's metadata gives it, read as context: ``title`` (else LlamaIndex's
    ``document_title``), then the section headings that splitters move out of the text, outermost
    first: LangChain's ``MarkdownHeaderTextSplitter`` / ``HTMLHeaderTextSplitter`` keys
    (``"Header 1"``, ``"Header 2"``, ... or ``h1``, ``heading_2``) and LlamaIndex's
    ``header_path`` (``"/Guide/Install/"``). A heading equal to the part before it is read once.

    Example:
        >>> title_of({"title": "Guide", "Header 1": "Guide", "Header 2": "Install", "page": 3})
        'Guide Install'
        >>> title_of({"header_path": "/Guide/Install/"})
        'Guide Install'
    """
    title = meta.get("title")
    if title is None or title == "":
        title = meta.get("document_title")
        title = title if isinstance(title, str) else None
    parts = [] if title is None else [title if isinstance(title, str) else str(title)]
    levels = []
    for key, value in meta.items():
        m = _HEADER_KEY.fullmatch(key) if isinstance(key, str) else None
        if m and isinstance(value, str) and value.strip():
            levels.append((int(m.group(1)), value.strip()))
    parts += [v for _, v in sorted(levels)]
    path = meta.get("header_path")
    if isinstance(path, str):
        parts += [p.strip() for p in path.split("/") if p.strip()]
    out: list[str] = []
    for part in parts:
        if not out or " ".join(part.casefold().split()) != " ".join(out[-1].casefold().split()):
            out.append(part)
    return " ".join(out)


def _check_text(text: str, name: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{name} holds an unpaired surrogate at {e.start}; it is not valid text"
        ) from e


def check_query(query: Any) -> str | None:
    """``None`` or a str (an empty or white-space query means query-free compression)."""
    if query is None:
        return None
    if not isinstance(query, str):
        raise TypeError(f"query must be a str or None, got {type(query).__name__}")
    _check_text(query, "query")
    return query if query.strip() else None


def check_min_relevance(value: Any, query: str | None) -> float | None:
    """``None``, or a probability in [0, 1] (a threshold on calibrated span scores, which need a
    query).

    Example:
        >>> check_min_relevance(0.3, "who?")
        0.3
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"min_relevance must be a number in [0, 1], got {type(value).__name__}")
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"min_relevance must be in [0, 1], got {value!r}")
    if query is None:
        raise ValueError("min_relevance needs a query: scores are relevance to the query")
    return float(value)


def resolve_budget(budget: Any, ratio: Any, original_tokens: int, default_ratio: float) -> int:
    """The token budget from ``budget`` or ``ratio`` (at most one), else ``default_ratio``.

    Example:
        >>> resolve_budget(None, 0.25, 1000, 0.5)
        250
    """
    if budget is not None and ratio is not None:
        raise ValueError("pass either budget or ratio, not both")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)):
            raise TypeError(f"budget must be an int number of tokens, got {type(budget).__name__}")
        if isinstance(budget, float) and (math.isnan(budget) or not budget.is_integer()):
            raise ValueError(f"budget must be a whole number of tokens, got {budget!r}")
        if budget <= 0:
            raise ValueError(f"budget must be > 0 tokens, got {budget!r}")
        return int(min(budget, UNBOUNDED))
    if ratio is None:
        ratio = default_ratio
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        raise TypeError(f"ratio must be a number in (0, 1], got {type(ratio).__name__}")
    if math.isnan(ratio) or not 0 < ratio <= 1:
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
    return max(1, int(math.floor(ratio * original_tokens))) if original_tokens else 0


def measure(
    config: SemTokenConfig,
    count: Callable[[str], int],
    query: Any,
    documents: Any,
    budget: Any,
    ratio: Any,
    min_relevance: Any,
) -> MeasuredInput:
    """One compress call's checked input, its token counts and its budget in tokens. The input
    is measured as :attr:`~semtoken_rag.types.CompressionResult.text` would hold it (the
    documents joined by a blank line): what a ratio is a share of, and what must fit for the
    input to be kept whole.

    Example:
        >>> from semtoken_rag.config import SemTokenConfig
        >>> words = lambda s: len(s.split())
        >>> m = measure(SemTokenConfig(), words, "q", ["a b", "c"], 2, None, None)
        >>> m.original, m.budget, m.fits
        (3, 2, False)
    """
    q = check_query(query)
    floor = check_min_relevance(min_relevance, q)
    docs = as_documents(documents)
    doc_tokens = [count(d.text) if d.text else 0 for d in docs]
    original = int(sum(doc_tokens))
    if config.max_input_tokens is not None and original > config.max_input_tokens:
        raise ValueError(
            f"documents hold {original} tokens, above max_input_tokens={config.max_input_tokens}; "
            "split the input or raise the limit in SemTokenConfig"
        )
    cap = resolve_budget(budget, ratio, original, config.compression_ratio)
    whole = original
    if budget is None or original <= cap:
        whole = joined_tokens([d.text for d in docs], doc_tokens, count)
    if budget is None:
        cap = resolve_budget(None, ratio, max(original, whole), config.compression_ratio)
    return MeasuredInput(q, floor, docs, doc_tokens, original, whole, cap)
