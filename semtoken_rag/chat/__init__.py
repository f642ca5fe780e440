"""Chat memory: fit a growing conversation into a token budget, written once for every adapter.

- :mod:`.history`: :func:`compress_history` (OpenAI-style dicts), :func:`compress_chat` (the
  skeleton the adapters share) and :func:`compress_turns` (the engine, on :class:`Turn` objects).
- :mod:`.turns`: how the turns share the budget (which stay verbatim, the compress passes).
- :mod:`.messages`: :class:`Turn` (text, tool calls, media) and what a message's non-text
  content costs.
"""

from __future__ import annotations

from .history import Overflow, compress_chat, compress_history, compress_turns, last_user_text
from .messages import MEDIA_TOKENS, MEDIA_TYPES, Turn, as_json

__all__ = [
    "MEDIA_TOKENS",
    "MEDIA_TYPES",
    "Overflow",
    "Turn",
    "as_json",
    "compress_chat",
    "compress_history",
    "compress_turns",
    "last_user_text",
]
