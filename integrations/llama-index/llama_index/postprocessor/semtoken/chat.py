"""Chat memory for LlamaIndex: fit a ``ChatMessage`` history into a token budget.

``compress_chat_messages`` works on any list of ``ChatMessage``; ``SemTokenChatMemory`` wraps a
chat memory so that a chat engine gets the compressed history from ``memory.get(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.bridge.pydantic import ConfigDict, Field, SerializeAsAny
from llama_index.core.memory import BaseMemory, ChatMemoryBuffer

from semtoken_rag import SemTokenCompressor
from semtoken_rag.chat import Overflow, Turn, as_json, compress_chat

_MEDIA = (ImageBlock, AudioBlock, VideoBlock, DocumentBlock)


def compress_chat_messages(
    messages: Sequence[ChatMessage],
    query: str | None = None,
    budget: int | None = None,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    start_with_user: bool = False,
    overflow: Overflow = "raise",
    compressor: SemTokenCompressor | None = None,
) -> list[ChatMessage]:
    """Fit a LlamaIndex chat history into ``budget`` tokens for the next question.

    System messages and the last ``keep_last`` messages stay verbatim; each older message is
    compressed as its own document (its kept text stays with its role, in order) and dropped when
    nothing of it is kept. Returned messages are copies (``role``, ``additional_kwargs`` kept);
    a compressed message's text blocks become one ``TextBlock`` with the kept text, its other
    blocks (images) are kept. The input messages are never mutated.

    Messages with non-text content are kept even without text: an ``ImageBlock``-only message,
    an assistant message whose tool calls are ``ToolCallBlock`` blocks or
    ``additional_kwargs["tool_calls"]``. A tool call and the ``tool`` messages answering it (by
    ``additional_kwargs["tool_call_id"]``, or the results right after it when they carry no id)
    are kept or dropped together, always.

    The budget counts the tokens of the returned messages' text (``message.content``) by the
    core's counter, plus the tool calls' JSON (same counter) and
    :data:`semtoken_rag.chat.MEDIA_TOKENS` per image, audio, video or document block (an
    estimate); not role labels or chat-format overhead.

    Args:
        messages: The history, oldest first, usually ending with the new user message.
        query: What the next answer needs; default: the text of the last user message.
        budget: Most tokens of all returned message texts together. Required.
        keep_last: Messages at the end (other than system and developer ones) kept verbatim.
        keep_system: Keep system and developer (``MessageRole.DEVELOPER``) messages verbatim;
            ``False`` compresses them like other turns.
        start_with_user: Make the first kept message after the system ones a user message
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
        TypeError: an entry is not a ``ChatMessage``.

    Example:
        >>> from llama_index.core.llms import ChatMessage
        >>> from llama_index.postprocessor.semtoken import compress_chat_messages
        >>> history = [ChatMessage(role="system", content="You are terse."),
        ...            ChatMessage(role="user", content="I live in Lyon. I have two cats."),
        ...            ChatMessage(role="assistant", content="Nice! Lyon has great food."),
        ...            ChatMessage(role="user", content="Where do I live?")]
        >>> [m.role.value for m in compress_chat_messages(history, budget=30)]  # doctest: +SKIP
        ['system', 'user', 'assistant', 'user']
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


def _read(i: int, m: ChatMessage) -> Turn:
    if not isinstance(m, ChatMessage):
        raise TypeError(f"messages[{i}] must be a ChatMessage, got {type(m).__name__}")
    others = [b for b in m.blocks if not isinstance(b, TextBlock)]
    blocks = [b for b in others if not isinstance(b, _MEDIA)]
    calls = list(m.additional_kwargs.get("tool_calls") or [])
    ids = [_call_id(c) for c in calls]
    ids += [b.tool_call_id or "" for b in blocks if isinstance(b, ToolCallBlock)]
    extra = [_plain(c) for c in calls] + [b.model_dump(mode="json") for b in blocks]
    call_id = m.additional_kwargs.get("tool_call_id")
    return Turn(
        m.role.value,
        m.content or "",
        extra=as_json(extra) if extra else "",
        media=sum(1 for b in others if isinstance(b, _MEDIA)),
        tool_calls=tuple(ids),
        tool_call_id=str(call_id) if call_id is not None else None,
    )


def _call_id(call: Any) -> str:
    value = call.get("id") if isinstance(call, dict) else getattr(call, "id", None)
    return str(value or "")


def _plain(call: Any) -> Any:
    """A provider's tool-call object as plain data (pydantic models dumped), for counting."""
    dump = getattr(call, "model_dump", None)
    return dump(mode="json") if callable(dump) else call


def _write(m: ChatMessage, turn: Turn, kept: str) -> ChatMessage:
    if kept == turn.text:
        return m.model_copy(deep=True)
    others = [b for b in m.blocks if not isinstance(b, TextBlock)]
    blocks = ([TextBlock(text=kept)] if kept or not others else []) + others
    return m.model_copy(update={"blocks": blocks}, deep=True)


class SemTokenChatMemory(BaseMemory):
    """A chat memory that hands the LLM a compressed history within ``max_tokens``.

    It stores every message in an inner memory (a ``ChatMemoryBuffer`` by default) and compresses
    the full history in :meth:`get` for the new message: system messages and the last
    ``keep_last`` messages verbatim, older ones compressed per message. Chat engines pass the
    tokens of their own prefix messages as ``initial_token_count``; they are taken off the budget.

    Like ``ChatMemoryBuffer``, it never fails a chat turn over a long message: when the verbatim
    messages alone exceed the budget (the turn after one long answer), it logs a warning and keeps
    fewer of them verbatim, compressing the long one (``overflow="degrade"``); and the history it
    hands over starts with a user message (``start_with_user=True``). Only prefix messages that
    alone fill ``max_tokens`` raise ``ValueError``, as in ``ChatMemoryBuffer``.

    Example:
        >>> from llama_index.core.chat_engine import SimpleChatEngine
        >>> from llama_index.postprocessor.semtoken import SemTokenChatMemory
        >>> memory = SemTokenChatMemory.from_defaults(max_tokens=256)
        >>> engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)  # doctest: +SKIP
        >>> engine.chat("What did I say about Lyon?")  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: SerializeAsAny[BaseMemory] = Field(
        default_factory=lambda: ChatMemoryBuffer.from_defaults(token_limit=10**9),
        description="The memory that stores all messages (read with get_all()).",
    )
    max_tokens: int = Field(
        default=2048, gt=0, description="Token budget of the history handed to the LLM."
    )
    keep_last: int = Field(default=2, ge=0, description="Last messages kept verbatim.")
    keep_system: bool = Field(
        default=True, description="Keep system and developer messages verbatim."
    )
    start_with_user: bool = Field(
        default=True,
        description=(
            "The first message handed over (after system ones) is a user message, as in "
            "ChatMemoryBuffer: Anthropic's and Gemini's APIs reject a history that opens with "
            "an assistant or tool message."
        ),
    )
    overflow: Overflow = Field(
        default="degrade",
        description=(
            "When the verbatim messages alone exceed the budget: 'degrade' (log a warning, "
            "keep fewer verbatim, compress the long one; the chat turn never fails) or 'raise'."
        ),
    )
    compressor: SemTokenCompressor | None = Field(
        default=None,
        exclude=True,
        description="A shared core compressor (model and fingerprint cache).",
    )

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes this component under."""
        return "SemTokenChatMemory"

    @classmethod
    def from_defaults(
        cls, chat_history: list[ChatMessage] | None = None, **kwargs: Any
    ) -> SemTokenChatMemory:
        """A memory over a new ``ChatMemoryBuffer`` holding ``chat_history``.

        ``kwargs`` are this class's fields; chat-engine extras (``llm``, ``token_limit``) are
        ignored: the budget is ``max_tokens``.
        """
        fields = {k: v for k, v in kwargs.items() if k in cls.model_fields}
        memory = fields.pop("memory", None) or ChatMemoryBuffer.from_defaults(
            chat_history=list(chat_history or []), token_limit=10**9
        )
        return cls(memory=memory, **fields)

    def get(self, input: str | None = None, **kwargs: Any) -> list[ChatMessage]:
        """The compressed history for ``input`` (default: the last user message)."""
        initial = int(kwargs.get("initial_token_count") or 0)
        budget = self.max_tokens - initial
        if budget <= 0:
            raise ValueError(
                f"max_tokens={self.max_tokens} leaves no room after {initial} prefix tokens"
            )
        messages = self.memory.get_all()
        if not messages:
            return []
        return compress_chat_messages(
            messages,
            input,
            budget,
            keep_last=self.keep_last,
            keep_system=self.keep_system,
            start_with_user=self.start_with_user,
            overflow=self.overflow,
            compressor=self.compressor,
        )

    def get_all(self) -> list[ChatMessage]:
        """Every stored message, uncompressed."""
        return self.memory.get_all()

    def put(self, message: ChatMessage) -> None:
        """Store a message."""
        self.memory.put(message)

    def set(self, messages: list[ChatMessage]) -> None:
        """Replace the stored messages."""
        self.memory.set(messages)

    def reset(self) -> None:
        """Forget all messages."""
        self.memory.reset()
