"""Encoder backends: the bundled MiniLM by default, any sentence-transformers model, or a callable.

Every backend satisfies :class:`~semtoken_rag.pipeline.fingerprint.Encoder` (the protocol the
fingerprint stage calls): an ``identity`` (part of the cache namespace), query and document
vectors, and ``span_vectors``, the fingerprints of one document's pieces.

- :mod:`.transformer`: :class:`TransformerEncoder`, token states from one windowed pass.
- :mod:`.callables`: :class:`CallableEncoder`, any ``list[str] -> array``.
- :mod:`.runtime`: the int8 backends (ONNX Runtime, OpenVINO) on the same windowing, and
  :mod:`.export`, the one-time export they run.
- :mod:`.loading`: where a model loads from (the bundled folder, a name, a path) and on which
  device; :mod:`.threads`: threads per forward.
"""

from __future__ import annotations

from typing import Any

from ..pipeline.fingerprint import Encoder
from .callables import CallableEncoder
from .transformer import TransformerEncoder

__all__ = ["CallableEncoder", "Encoder", "TransformerEncoder", "resolve_encoder"]


def resolve_encoder(
    encoder: Any, model_name: str, device: str | None, batch_size: int, backend: str = "torch"
) -> Encoder:
    """Turn ``None``, a model name/path, a SentenceTransformer, an :class:`Encoder` or a callable
    into an encoder; ``None`` or a name runs on ``backend`` (``torch``, ``onnx``, ``openvino``).

    Example:
        >>> resolve_encoder(None, "all-MiniLM-L6-v2", None, 32).identity
        'st:all-MiniLM-L6-v2'
    """
    if encoder is None:
        encoder = model_name
    if isinstance(encoder, str) and encoder.strip() and backend != "torch":
        from .runtime import runtime_encoder

        return runtime_encoder(encoder, backend, batch_size, device)
    if isinstance(encoder, (TransformerEncoder, CallableEncoder)):
        return encoder
    if isinstance(encoder, str):
        if not encoder.strip():
            raise ValueError("encoder must not be an empty string")
        return TransformerEncoder(encoder, device=device, batch_size=batch_size)
    if hasattr(encoder, "encode") and hasattr(encoder, "tokenizer"):
        return TransformerEncoder(encoder, device=device, batch_size=batch_size)
    if isinstance(encoder, Encoder):
        return encoder
    if callable(encoder):
        return CallableEncoder(encoder)
    raise TypeError(
        "encoder must be a sentence-transformers model, a model name or path, an Encoder or a "
        f"callable list[str] -> array, got {type(encoder).__name__}"
    )
