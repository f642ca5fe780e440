"""Chat memory: fit a growing conversation into a token budget.

The system (and developer) messages and the last turns stay verbatim; every older turn is one
document for the core compressor (the new user message is the query), so each turn keeps its role
and the conversation keeps its order. Because the fingerprint cache is keyed per document, the
turns already seen in an earlier call are cache hits: each new call encodes only the turns that
are new to the compressed part (the paper's "autoregressive merging", mapped onto chat).

Messages are more than text. A message's non-text content (tool calls, images, audio, files) is
never compressed: the message is kept whole or dropped, and a tool call and the results that
answer it form one unit, kept or dropped together (chat APIs reject a result without its call and
a call without its results). Such a message is kept even when it has no text at all.

What the budget counts: the tokens of the returned texts (by the compressor's token counter), plus
the non-text content of the kept messages: tool calls as their JSON (by the same counter) and
:data:`MEDIA_TOKENS` per image, audio or file block (an estimate: the real cost depends on the
model). Role labels and the per-message overhead of a chat format are not counted; leave room for
them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..config import check_int
from .messages import MEDIA_TOKENS, Shape, Turn, read_dict, write_dict
from .turns import compress_older, drop_before_first_user, verbatim, within_budget

if TYPE_CHECKING:
    from ..compressor import SemTokenCompressor

logger = logging.getLogger(__name__)

__all__ = [
    "MEDIA_TOKENS",
    "Turn",
    "compress_chat",
    "compress_history",
    "compress_turns",
    "last_user_text",
]

M = TypeVar("M")
R = TypeVar("R")

Overflow = Literal["raise", "degrade"]
"""What to do when the verbatim turns alone exceed the budget (see :func:`compress_turns`)."""


@functools.lru_cache(maxsize=1)
def _default_compressor() -> SemTokenCompressor:
    """One shared default compressor (and fingerprint cache) for calls without ``compressor=``."""
    from ..compressor import SemTokenCompressor

    return SemTokenCompressor()


def compress_turns(
    turns: Sequence[Turn | tuple[str, str]],
    query: str | None,
    budget: int,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    start_with_user: bool = False,
    overflow: Overflow = "raise",
    compressor: SemTokenCompressor | None = None,
) -> list[str | None]:
    """The new text of each turn, or ``None`` where the turn is dropped.

    The framework-free engine behind :func:`compress_history` and the LangChain and LlamaIndex
    adapters: they map their message objects to :class:`Turn` objects and back.

    Pinned turns (``system`` and ``developer`` messages, the last ``keep_last`` others, and every
    turn of a tool-call unit one of them belongs to) stay verbatim. Of the older turns, the
    messages with non-text content (tool calls, images: see :class:`Turn`) are admitted as whole
    units, newest first, while their non-text cost fits; their texts and the other turns' texts
    are compressed into what is left. A tool exchange of whose results nothing is kept is dropped
    whole and what it reserved goes back to the texts, which are compressed again; budget the
    texts leave unused takes dropped units back whole, newest first. A turn without non-text
    content of which nothing is kept is dropped; one with it is kept (its text may become ""),
    and a unit is dropped only as a whole.

    Args:
        turns: :class:`Turn` objects, or ``(role, content)`` pairs, in conversation order.
        query: What the next answer needs (usually the new user message); ``None`` compresses
            the older turns by information density.
        budget: Most tokens of all returned texts together, plus the non-text content of the
            kept turns (their ``extra`` by the compressor's counter, :data:`MEDIA_TOKENS` per
            media block).
        keep_last: Turns at the end (other than system and developer ones) kept verbatim.
        keep_system: Keep ``system`` and ``developer`` turns verbatim; ``False`` compresses them
            like other turns.
        start_with_user: Make the first kept turn after the system and developer ones a ``user``
            turn (Anthropic's and Gemini's APIs reject a history that opens with another role):
            the verbatim tail reaches back to the user turn that starts it, and kept turns before
            the first kept user turn are dropped (their budget goes back to the texts).
        overflow: What happens when the verbatim turns alone exceed ``budget``: ``"raise"`` a
            ``ValueError``, or ``"degrade"``: log a warning and keep fewer turns verbatim (then
            compress the system turns, then the last turn too), never failing.
        compressor: The core compressor; default: one shared instance (bundled MiniLM).

    Returns:
        One entry per turn: the verbatim text, the kept part of it ("" for a turn kept for its
        non-text content only), or ``None`` (dropped).

    Raises:
        ValueError: ``budget`` is not a positive int, ``keep_last`` is negative, ``overflow`` is
            unknown, or (with ``overflow="raise"``) the pinned turns alone exceed ``budget``.

    Example:
        >>> compress_turns([("user", "Hi, I'm Ada."), ("assistant", "Hello Ada!"),
        ...                 ("user", "What's my name?")], "What's my name?", 50)  # doctest: +SKIP
        ["Hi, I'm Ada.", 'Hello Ada!', "What's my name?"]
    """
    _check_options(budget, keep_last, keep_system, start_with_user, overflow)
    ts = [_as_turn(i, turn) for i, turn in enumerate(turns)]
    core = compressor if compressor is not None else _default_compressor()
    shape = Shape.of(ts, core.count_tokens)
    degrade = overflow == "degrade"
    pinned, fixed = verbatim(ts, shape, budget, keep_last, keep_system, start_with_user, degrade)
    out: list[str | None] = [turn.text if pinned[i] else None for i, turn in enumerate(ts)]
    older = [
        i for i, turn in enumerate(ts) if not pinned[i] and (turn.text.strip() or shape.whole(i))
    ]
    compress_older(ts, shape, older, budget - fixed, query, core, start_with_user, out)
    if start_with_user:
        drop_before_first_user(ts, shape, out)
    total = within_budget(shape, older, pinned, budget, out)
    logger.debug(
        "history: %d turns, %d verbatim, %d older -> %d kept, %d tokens (budget %d)",
        len(ts),
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
    start_with_user: bool = False,
    overflow: Overflow = "raise",
    compressor: SemTokenCompressor | None = None,
) -> list[R]:
    """The skeleton every chat adapter shares: messages -> turns -> :func:`compress_turns` -> the
    kept messages, in order.

    Args:
        messages: The history, oldest first.
        read: ``read(i, message)`` -> its :class:`Turn` (raises ``TypeError`` naming
            ``messages[i]`` for a message it cannot read), with the message's non-text content
            (``extra``, ``media``) and tool-call ids filled in.
        write: ``write(message, turn, kept_text)`` -> the message to return: a copy holding
            ``kept_text`` (which equals ``turn.text`` when the message is kept whole; it may be
            "" for a message kept for its non-text content) and all its non-text content.
        query: What the next answer needs; default: the text of the last user turn.
        budget: Most tokens of all returned message texts together, plus their non-text content
            (see :func:`compress_turns`). Required.
        keep_last: Messages at the end (other than system and developer ones) kept verbatim.
        keep_system: Keep system and developer messages verbatim.
        start_with_user: The first kept message after the system and developer ones is a user
            message (see :func:`compress_turns`).
        overflow: ``"raise"`` or ``"degrade"`` when the verbatim messages alone exceed
            ``budget`` (see :func:`compress_turns`).
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
    kept = compress_turns(
        turns,
        last_user_text([(turn.role, turn.text) for turn in turns]) if query is None else query,
        budget,
        keep_last=keep_last,
        keep_system=keep_system,
        start_with_user=start_with_user,
        overflow=overflow,
        compressor=compressor,
    )
    return [
        write(m, turn, new)
        for m, turn, new in zip(messages, turns, kept, strict=True)
        if new is not None
    ]


def compress_history(
    messages: Sequence[Mapping[str, Any]],
    query: str | None = None,
    budget: int | None = None,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    start_with_user: bool = False,
    overflow: Overflow = "raise",
    compressor: SemTokenCompressor | None = None,
) -> list[dict[str, Any]]:
    """Fit a chat history into ``budget`` tokens: keep the system message and the last turns,
    compress the older turns for the new question.

    Each older turn is compressed as its own document (its role, or its ``name`` when present, as
    the title), so a kept turn keeps its role and its place in the conversation; turns of which
    nothing is kept are dropped. A message with non-text content (``tool_calls``, image or audio
    parts) is kept even without text, and a tool call and the ``tool`` messages answering it
    (``tool_call_id``) are kept or dropped together (see :func:`compress_turns`). Returned
    messages are new dicts (all other keys copied); the input is never mutated.

    Args:
        messages: OpenAI-style dicts in conversation order: ``role``, ``content`` (a str,
            ``None``, or a list of parts such as ``{"type": "text", "text": ...}`` and
            ``{"type": "image_url", ...}``), optionally ``tool_calls``, ``tool_call_id``,
            ``name`` (other keys are kept).
        query: What the next answer needs. Default: the content of the last ``user`` message.
        budget: Most tokens of all returned contents together (by ``compressor``'s counter),
            plus the kept tool calls' JSON and :data:`MEDIA_TOKENS` per media part; role labels
            and chat-format overhead are not counted. Required.
        keep_last: Messages at the end (other than ``system`` and ``developer`` ones) kept
            verbatim (the new question, the last answer).
        keep_system: Keep ``system`` and ``developer`` messages verbatim; ``False`` compresses
            them like other turns.
        start_with_user: Make the first kept message after the ``system`` and ``developer`` ones
            a ``user`` message, as Anthropic's and Gemini's APIs require: the verbatim tail
            reaches back to a user message, earlier kept messages before the first kept user
            message are dropped.
        overflow: When the verbatim messages alone exceed ``budget``: ``"raise"`` a
            ``ValueError``, or ``"degrade"`` (log a warning, keep fewer messages verbatim).
        compressor: A :class:`~semtoken_rag.SemTokenCompressor`; share one across calls so earlier
            turns hit its fingerprint cache. Default: one shared instance.

    Returns:
        The messages to send, in the original order.

    Raises:
        ValueError: ``budget`` missing or not positive, the verbatim messages alone exceed it
            (with ``overflow="raise"``), or a message has no ``content`` key (and no
            ``tool_calls``): its index is named (a message keyed ``"text"`` is refused, never
            silently dropped).
        TypeError: a message is not a mapping with a str ``role`` and a str, ``None`` or list
            ``content``.

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
        read_dict,
        write_dict,
        query,
        budget,
        keep_last=keep_last,
        keep_system=keep_system,
        start_with_user=start_with_user,
        overflow=overflow,
        compressor=compressor,
    )


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


def _check_options(
    budget: Any, keep_last: Any, keep_system: Any, start_with_user: Any, overflow: Any
) -> None:
    check_int("budget", budget)
    check_int("keep_last", keep_last, 0)
    for name, flag in (("keep_system", keep_system), ("start_with_user", start_with_user)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    if overflow not in ("raise", "degrade"):
        raise ValueError(f"overflow must be 'raise' or 'degrade', got {overflow!r}")


def _as_turn(i: int, turn: Any) -> Turn:
    if isinstance(turn, Turn):
        return turn
    if (
        isinstance(turn, tuple)
        and len(turn) == 2
        and isinstance(turn[0], str)
        and isinstance(turn[1], str)
    ):
        return Turn(turn[0], turn[1])
    raise TypeError(f"turns[{i}] must be a Turn or a (role, content) pair of str")
