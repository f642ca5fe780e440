"""Chat memory for LangChain: fit a ``BaseMessage`` history into a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from semtoken_rag import SemTokenCompressor
from semtoken_rag.chat import MEDIA_TYPES, Overflow, Turn, as_json, compress_chat

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def compress_messages(
    messages: Sequence[BaseMessage],
    query: str | None = None,
    budget: int | None = None,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    start_with_user: bool = False,
    overflow: Overflow = "raise",
    compressor: SemTokenCompressor | None = None,
) -> list[BaseMessage]:
    """Fit a LangChain chat history into ``budget`` tokens for the next question.

    System messages and the last ``keep_last`` messages stay verbatim; each older message is
    compressed as its own document (so its kept text stays with its speaker, in order) and dropped
    when nothing of it is kept. Returned messages are new objects of the same classes with the
    same ``id``, ``name``, ``additional_kwargs`` (and ``tool_calls``); only ``content`` of the
    compressed ones changes (to a str). The input messages are never mutated.

    Messages with non-text content are kept even without text: an ``AIMessage`` with
    ``tool_calls`` (and empty content), an image-only ``HumanMessage`` (a content list). An
    ``AIMessage``'s tool calls and the ``ToolMessage`` results answering them (by
    ``tool_call_id``) are kept or dropped together, always; a compressed message keeps its
    non-text blocks after one text block.

    The budget counts the tokens of the returned message texts (a content list's text blocks
    joined by line breaks, where ``message.text`` glues them) by the core's counter, plus the
    tool calls' JSON (same counter) and :data:`semtoken_rag.chat.MEDIA_TOKENS` per image,
    audio or file block (an estimate); not role labels or chat-format overhead.

    Args:
        messages: The history, oldest first, usually ending with the new ``HumanMessage``.
        query: What the next answer needs; default: the text of the last ``HumanMessage``.
        budget: Most tokens of all returned message texts together. Required.
        keep_last: Messages at the end (other than system and developer ones) kept verbatim.
        keep_system: Keep ``SystemMessage`` (and ``developer`` role) messages verbatim;
            ``False`` compresses them like other turns.
        start_with_user: Make the first kept message after the system ones a ``HumanMessage``
            (Anthropic's and Gemini's APIs require it; see
            :func:`semtoken_rag.chat.compress_turns`).
        overflow: When the verbatim messages alone exceed ``budget``: ``"raise"`` a
            ``ValueError``, or ``"degrade"`` (log a warning, keep fewer messages verbatim).
        compressor: A shared :class:`semtoken_rag.SemTokenCompressor`; its fingerprint cache
            makes the turns already seen free on the next call. Default: one shared instance.

    Returns:
        The messages to send, in the original order.

    Raises:
        ValueError: ``budget`` missing or not positive, or the verbatim messages exceed it.
        TypeError: an entry is not a ``BaseMessage``.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
        >>> from langchain_semtoken import compress_messages
        >>> history = [SystemMessage("You are terse."),
        ...            HumanMessage("I live in Lyon. I have two cats."),
        ...            AIMessage("Nice! Lyon is known for its food."),
        ...            HumanMessage("Where do I live?")]
        >>> out = compress_messages(history, budget=30)
        >>> [type(m).__name__ for m in out]  # doctest: +SKIP
        ['SystemMessage', 'HumanMessage', 'AIMessage', 'HumanMessage']
    """
    return compress_chat(
        messages,
        _read,
        _write,
        query,
        budget,
        keep_last=keep_last,
        keep_system=keep_system,
        start_with_user=start_with_user,
        overflow=overflow,
        compressor=compressor,
    )


def _read(i: int, m: BaseMessage) -> Turn:
    if not isinstance(m, BaseMessage):
        raise TypeError(f"messages[{i}] must be a BaseMessage, got {type(m).__name__}")
    blocks = m.content if isinstance(m.content, list) else []
    others = [b for b in blocks if not _is_text_block(b)]
    media = sum(1 for b in others if isinstance(b, dict) and b.get("type") in MEDIA_TYPES)
    extra: list[Any] = [
        b for b in others if not (isinstance(b, dict) and b.get("type") in MEDIA_TYPES)
    ]
    calls = [
        *(getattr(m, "tool_calls", None) or []),
        *(getattr(m, "invalid_tool_calls", None) or []),
    ]
    if not calls:  # a provider's raw calls only (OpenAI format in additional_kwargs)
        calls = list(m.additional_kwargs.get("tool_calls") or [])
        if m.additional_kwargs.get("function_call"):
            calls.append(m.additional_kwargs["function_call"])
    ids = tuple(str(c.get("id") or "") if isinstance(c, dict) else "" for c in calls)
    call_id = getattr(m, "tool_call_id", None)
    return Turn(
        _ROLES.get(m.type, getattr(m, "role", None) or m.type),
        _text(m),
        m.name,
        extra=as_json(calls + extra) if calls or extra else "",
        media=media,
        tool_calls=ids,
        tool_call_id=str(call_id) if call_id is not None else None,
    )


def _write(m: BaseMessage, turn: Turn, kept: str) -> BaseMessage:
    if kept == turn.text:
        return m.model_copy(deep=True)
    content: Any = kept
    if isinstance(m.content, list):
        others = [b for b in m.content if not _is_text_block(b)]
        if others:  # one text block with the kept text, then the other blocks as they were
            content = ([{"type": "text", "text": kept}] if kept else []) + others
    return m.model_copy(update={"content": content}, deep=True)


def _text(m: BaseMessage) -> str:
    """The message's text blocks joined by a blank line, each its own paragraph (``message.text``
    glues them: "alpha" and "bravo" would read "alphabravo"), as the OpenAI reader joins them."""
    if isinstance(m.content, str):
        return m.content
    parts = [b if isinstance(b, str) else b.get("text") for b in m.content if _is_text_block(b)]
    return "\n\n".join(p for p in parts if isinstance(p, str))


def _is_text_block(b: Any) -> bool:
    return isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")
