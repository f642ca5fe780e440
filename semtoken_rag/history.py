"""Chat memory: fit a growing conversation into a token budget.

The system message and the last turns stay verbatim; every older turn is one document for the core
compressor (the new user message is the query), so each turn keeps its role and the conversation
keeps its order. Because the fingerprint cache is keyed per document, the turns already seen in an
earlier call are cache hits: each new call encodes only the turns that are new to the compressed
part (the paper's "autoregressive merging", mapped onto chat).

What the budget counts: the tokens of the returned **contents** (by the compressor's token counter).
Role labels and the per-message overhead of a chat format are not counted; leave room for them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .compressor import SemTokenCompressor

logger = logging.getLogger(__name__)

__all__ = ["Turn", "compress_chat", "compress_history", "compress_turns", "last_user_text"]

M = TypeVar("M")
R = TypeVar("R")


@dataclass(frozen=True)
class Turn:
    """One message as the chat compressor sees it.

    Attributes:
        role: ``"system"``, ``"user"``, ``"assistant"``, ``"tool"``...
        text: The message's text (what may be compressed).
        name: The speaker's name, when the message has one (the turn's title).
    """

    role: str
    text: str
    name: str | None = None


@functools.lru_cache(maxsize=1)
def _default_compressor() -> SemTokenCompressor:
    """One shared default compressor (and fingerprint cache) for calls without ``compressor=``."""
    from .compressor import SemTokenCompressor

    return SemTokenCompressor()


def compress_turns(
    turns: Sequence[tuple[str, str]],
    query: str | None,
    budget: int,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    compressor: SemTokenCompressor | None = None,
    names: Sequence[str | None] | None = None,
) -> list[str | None]:
    """The new content of each ``(role, content)`` turn, or ``None`` where the turn is dropped.

    The framework-free engine behind :func:`compress_history` and the LangChain and LlamaIndex
    adapters: they map their message objects to ``(role, content)`` pairs and back.

    Args:
        turns: ``(role, content)`` pairs in conversation order; ``role == "system"`` marks
            system messages.
        query: What the next answer needs (usually the new user message); ``None`` compresses
            the older turns by information density.
        budget: Most tokens of all returned contents together.
        keep_last: Non-system turns at the end kept verbatim.
        keep_system: Keep system messages verbatim; ``False`` compresses them like other turns.
        compressor: The core compressor; default: one shared instance (bundled MiniLM).
        names: Optional speaker name per turn, used instead of the role as the turn's title
            (context for its fingerprint).

    Returns:
        One entry per turn: the verbatim content, the kept part of it, or ``None`` (nothing kept).

    Raises:
        ValueError: ``budget`` is not a positive int, ``keep_last`` is negative, or the verbatim
            turns alone exceed ``budget``.

    Example:
        >>> compress_turns([("user", "Hi, I'm Ada."), ("assistant", "Hello Ada!"),
        ...                 ("user", "What's my name?")], "What's my name?", 50)  # doctest: +SKIP
        ["Hi, I'm Ada.", 'Hello Ada!', "What's my name?"]
    """
    _check_int("budget", budget, 1)
    _check_int("keep_last", keep_last, 0)
    if not isinstance(keep_system, bool):
        raise TypeError(f"keep_system must be a bool, got {type(keep_system).__name__}")
    core = compressor if compressor is not None else _default_compressor()
    count = core.count_tokens

    pinned = [keep_system and role == "system" for role, _ in turns]
    rest = [i for i, p in enumerate(pinned) if not p]
    for i in rest[max(0, len(rest) - keep_last) :] if keep_last else []:
        pinned[i] = True
    out: list[str | None] = [content if pinned[i] else None for i, (_, content) in enumerate(turns)]
    fixed = sum(count(content) for (_, content), p in zip(turns, pinned) if p and content)
    if fixed > budget:
        raise ValueError(
            f"budget={budget} tokens is below the {fixed} tokens of the turns kept verbatim "
            f"(system messages and the last {keep_last}); raise budget or lower keep_last"
        )
    older = [i for i, p in enumerate(pinned) if not p and turns[i][1].strip()]
    left = budget - fixed
    if not older or left <= 0:
        return out
    if sum(count(turns[i][1]) for i in older) <= left:  # everything fits: no model call
        for i in older:
            out[i] = turns[i][1]
        return out
    docs = [
        (turns[i][1], {"title": _title(turns[i][0], names[i] if names else None)}) for i in older
    ]
    result = core.compress(query, docs, budget=left)
    kept = result.documents()
    for i, text in zip(older, kept):
        out[i] = text or None
    # The core honours the budget per document text; guard the sum anyway (oldest go first).
    total = fixed + sum(count(out[i] or "") for i in older)
    for i in older:
        if total <= budget:
            break
        if out[i] is not None:
            total -= count(out[i] or "")
            out[i] = None
            logger.warning("dropped turn %d to stay within budget=%d", i, budget)
    logger.debug(
        "history: %d turns, %d verbatim, %d older -> %d kept, %d tokens (budget %d)",
        len(turns),
        sum(pinned),
        len(older),
        sum(out[i] is not None for i in older),
        total,
        budget,
    )
    return out


def compress_chat(
    messages: Sequence[M],
    read: Callable[[int, M], Turn],
    write: Callable[[M, Turn, str], R],
    query: str | None,
    budget: int | None,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    compressor: SemTokenCompressor | None = None,
) -> list[R]:
    """The skeleton every chat adapter shares: messages -> turns -> :func:`compress_turns` -> the
    kept messages, in order.

    Args:
        messages: The history, oldest first.
        read: ``read(i, message)`` -> its :class:`Turn` (raises ``TypeError`` naming
            ``messages[i]`` for a message it cannot read).
        write: ``write(message, turn, kept_text)`` -> the message to return: a copy holding
            ``kept_text`` (which equals ``turn.text`` when the message is kept whole).
        query: What the next answer needs; default: the text of the last user turn.
        budget: Most tokens of all returned message texts together. Required.
        keep_last: Non-system messages at the end kept verbatim.
        keep_system: Keep system messages verbatim.
        compressor: The core compressor; default: one shared instance.

    Example:
        >>> compress_chat([{"role": "user", "content": "Hi."}],
        ...               lambda i, m: Turn(m["role"], m["content"]),
        ...               lambda m, t, text: {**m, "content": text}, None, 10)
        [{'role': 'user', 'content': 'Hi.'}]
    """
    if budget is None:
        raise ValueError("budget is required: the most tokens of the returned message texts")
    turns = [read(i, m) for i, m in enumerate(messages)]
    pairs = [(t.role, t.text) for t in turns]
    kept = compress_turns(
        pairs,
        last_user_text(pairs) if query is None else query,
        budget,
        keep_last=keep_last,
        keep_system=keep_system,
        compressor=compressor,
        names=[t.name for t in turns],
    )
    return [
        write(m, t, new) for m, t, new in zip(messages, turns, kept, strict=True) if new is not None
    ]


def compress_history(
    messages: Sequence[Mapping[str, Any]],
    query: str | None = None,
    budget: int | None = None,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    compressor: SemTokenCompressor | None = None,
) -> list[dict[str, Any]]:
    """Fit a chat history into ``budget`` tokens: keep the system message and the last turns,
    compress the older turns for the new question.

    Each older turn is compressed as its own document (its role, or its ``name`` when present, as
    the title), so a kept turn keeps its role and its place in the conversation; turns of which
    nothing is kept are dropped. Returned messages are new dicts (all other keys copied); the
    input is never mutated.

    Args:
        messages: ``{"role": str, "content": str}`` dicts in conversation order (other keys such
            as ``name`` are kept).
        query: What the next answer needs. Default: the content of the last ``user`` message.
        budget: Most tokens of all returned contents together (by ``compressor``'s counter; role
            labels and chat-format overhead are not counted). Required.
        keep_last: Non-system messages at the end kept verbatim (the new question, the last
            answer).
        keep_system: Keep ``system`` messages verbatim; ``False`` compresses them like other turns.
        compressor: A :class:`~semtoken_rag.SemTokenCompressor`; share one across calls so earlier
            turns hit its fingerprint cache. Default: one shared instance.

    Returns:
        The messages to send, in the original order.

    Raises:
        ValueError: ``budget`` missing or not positive, or the verbatim messages alone exceed it.
        TypeError: a message is not a mapping with a str ``role`` and a str ``content``.

    Example:
        >>> from semtoken_rag import compress_history
        >>> history = [
        ...     {"role": "system", "content": "You are a helpful travel agent."},
        ...     {"role": "user", "content": "I want to visit Kyoto in April. I love temples."},
        ...     {"role": "assistant", "content": "Kyoto in April has cherry blossoms. Book early."},
        ...     {"role": "user", "content": "Also, my budget is 2000 dollars. I hate flying."},
        ...     {"role": "assistant", "content": "Noted: 2000 dollars, trains only."},
        ...     {"role": "user", "content": "Which month did I say?"}]
        >>> out = compress_history(history, budget=40)
        >>> [m["role"] for m in out]  # doctest: +SKIP
        ['system', 'user', 'assistant', 'assistant', 'user']
    """
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
        raise TypeError(f"messages must be a list of dicts, got {type(messages).__name__}")
    return compress_chat(
        messages,
        _read_dict,
        _write_dict,
        query,
        budget,
        keep_last=keep_last,
        keep_system=keep_system,
        compressor=compressor,
    )


def _write_dict(m: Mapping[str, Any], _: Turn, text: str) -> dict[str, Any]:
    return {**m, "content": text}


def _read_dict(i: int, m: Any) -> Turn:
    if not isinstance(m, Mapping):
        raise TypeError(f"messages[{i}] must be a dict, got {type(m).__name__}")
    role, content, name = m.get("role"), m.get("content"), m.get("name")
    if not isinstance(role, str):
        raise TypeError(f"messages[{i}]['role'] must be a str, got {type(role).__name__}")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise TypeError(f"messages[{i}]['content'] must be a str, got {type(content).__name__}")
    return Turn(role, content, name if isinstance(name, str) else None)


def last_user_text(
    turns: Sequence[tuple[str, str]], user_roles: Sequence[str] = ("user",)
) -> str | None:
    """Content of the last turn whose role is in ``user_roles`` (``None`` if there is none).

    Example:
        >>> last_user_text([("user", "a"), ("assistant", "b"), ("user", "c")])
        'c'
    """
    for role, content in reversed(turns):
        if role in user_roles and content.strip():
            return content
    return None


def _title(role: str, name: str | None) -> str:
    return f"{name} ({role})" if name else role


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
