"""The transformer encoder (:class:`TransformerEncoder`): a sentence-transformers model (the
bundled all-MiniLM-L6-v2 by default) read for token states and query vectors.

A transformer encoder gives *token states*: one contextual vector per token of a document, from one
pass over the document in windows of the model's maximum length (the document title, when there is
one, is prefixed to every window). Span fingerprints and semantic entropy are pooled from these
states (:func:`~semtoken_rag.pipeline.fingerprint.pool`), so context costs no extra encoder pass.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from ..config import DEFAULT_ENCODER
from ..pipeline.fingerprint import SpanVectors, TokenStates, pool
from ..pipeline.score import matching_view, semantic_entropy
from ..pipeline.segment import Piece
from ..progress import no_third_party_bars, report_windows
from ..types import Document
from . import threads
from .callables import unit
from .loading import auto_device, folder_digest, is_bundled, model_name, resolve_model_path

logger = logging.getLogger(__name__)

_OVERLAP = 8  # neighbouring windows of a long document overlap by 1/_OVERLAP of a window
_TITLE_TOKENS = 24  # most title tokens prefixed to each window
_MIN_WINDOW = 16  # fewest document tokens per window, whatever the title costs
_GPU_BATCH_FACTOR = 4  # on CUDA the torch backend runs fp16 batches this many times larger


class TransformerEncoder:
    """A sentence-transformers model used for token states and query vectors. Loads lazily.

    Example:
        >>> enc = TransformerEncoder()  # bundled all-MiniLM-L6-v2
        >>> enc.encode_query(["who won?"]).shape
        (1, 384)
    """

    def __init__(
        self, model: Any = DEFAULT_ENCODER, *, device: str | None = None, batch_size: int = 32
    ) -> None:
        self._model: Any = None if isinstance(model, str) else model
        self._owns_model = isinstance(model, str)
        self._name = model if isinstance(model, str) else model_name(model)
        self._device = device
        self.batch_size = batch_size
        self._lock = threading.RLock()

    @property
    def identity(self) -> str:
        """Stable id of the model: ``st:all-MiniLM-L6-v2`` for the bundled default, else
        ``st:<name or path>``, and for a local folder ``st:<path>:<digest of its files>``
        (:func:`~semtoken_rag.encoders.loading.folder_digest`, taken once per encoder: a model saved
        again at the same path gets a new identity); ``+cuda-fp16`` when it runs in fp16 on a
        GPU."""
        name = self._name
        if is_bundled(name):
            name = "all-MiniLM-L6-v2"
        elif os.path.isdir(os.path.expanduser(name)):
            name = f"{name}:{self._folder_digest}"
        fp16 = self._owns_model and auto_device(self._device).startswith("cuda")
        return f"st:{name}" + ("+cuda-fp16" if fp16 else "")

    @cached_property
    def _folder_digest(self) -> str:
        return folder_digest(self._name)

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
                    identity = self.identity  # a folder's digest: taken before reading it
                    path = resolve_model_path(self._name)
                    device = auto_device(self._device)
                    logger.info("loading encoder %s (%s) on %s", path, identity, device)
                    with no_third_party_bars():  # transformers' "Loading weights" bar
                        model = SentenceTransformer(path, device=device)
                    if device.startswith("cuda"):  # unmeasured: no GPU machine was available
                        model.half()
                        self.batch_size *= _GPU_BATCH_FACTOR
                    self._model = model
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

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]`` for queries (or any short texts). Texts of equal token length
        are batched together (no padding): a text's vector never depends on the others."""
        m = self.load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        groups: dict[int, list[int]] = {}
        for i, text in enumerate(texts):
            n = len(m.tokenizer(text, truncation=False, verbose=False)["input_ids"])
            groups.setdefault(min(n, self.max_tokens), []).append(i)
        for n, idx in groups.items():
            with self._lock:  # encode sets the tokenizer's truncation: one caller at a time
                threads.set_torch_threads(threads.forward_threads(n * len(idx)))
                vecs = m.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[idx] = np.asarray(vecs, dtype=np.float32).reshape(len(idx), -1)
        return out

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]`` of whole documents (the model's own pooling, truncated to
        its maximum length; MiniLM is symmetric, so the same call as :meth:`encode_query`)."""
        return self.encode_query(texts)

    def span_vectors(
        self, docs: Sequence[Document], pieces: Sequence[Sequence[Piece]], window: int
    ) -> list[SpanVectors]:
        """Late-pooled fingerprints from one pass over each document in ``window``-token
        windows; with ``window == 0`` each piece is encoded alone (and each document by
        :meth:`encode_documents`)."""
        if window != 0:
            states = self.token_states(
                [d.text for d in docs],
                [d.title for d in docs],
                window,
                [d.context_end for d in docs],
            )
            return [pool(p, s) for p, s in zip(pieces, states, strict=True)]
        texts = [d.text[p.start : p.end] for d, ps in zip(docs, pieces) for p in ps]
        alone = self.token_states(texts, [""] * len(texts), None)
        # the document's own text: ingestion hands this vector to a vector store as its embedding
        doc_vecs = self.encode_documents([d.text or " " for d in docs])
        out, k = [], 0
        for ps, dv in zip(pieces, doc_vecs, strict=True):
            sub = alone[k : k + len(ps)]
            k += len(ps)
            if not ps:  # a document that is only a heading has no span
                out.append(SpanVectors(np.zeros((0, dv.shape[0]), np.float32), np.zeros(0), dv))
                continue
            vec = np.array([s.doc_vector for s in sub]).reshape(len(ps), -1)
            ent = np.array([semantic_entropy(s.vectors) for s in sub], dtype=np.float32)
            out.append(SpanVectors(vec, ent, dv))
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states ``[batch, width, dim]`` (float32) of padded token ids."""
        import torch

        model = self.load()[0].auto_model
        device = next(model.parameters()).device
        if device.type == "cpu":
            threads.set_torch_threads(threads.forward_threads(int(mask.sum())))
        with torch.inference_mode():
            out = model(
                input_ids=torch.from_numpy(ids).to(device),
                attention_mask=torch.from_numpy(mask).to(device),
            )
        return out[0].float().cpu().numpy()

    def token_states(
        self,
        texts: Sequence[str],
        titles: Sequence[str],
        window: int | None = None,
        skips: Sequence[int] = (),
    ) -> list[TokenStates]:
        """Contextual token states of each text, one encoder pass over each (in windows): plan
        the windows, run them through the model, stitch each text's states back together.

        Args:
            texts: Documents.
            titles: A title per document ("" for none), prefixed to every window as context.
            window: Tokens per window (default and cap: the model's maximum length).
            skips: Per document, the characters before this offset are not read as text (the
                document's own title line, already read as ``titles``); default none.
        """
        windows, offsets = self._plan(texts, titles, window, skips)
        stitch = _Stitch(offsets, self.dim)
        self._encode(windows, stitch)
        return stitch.states()

    def _plan(
        self,
        texts: Sequence[str],
        titles: Sequence[str],
        window: int | None,
        skips: Sequence[int],
    ) -> tuple[list[_Window], list[np.ndarray]]:
        """The windows of every text (overlapping by ``1/_OVERLAP``, the title's tokens in front
        of each) and each text's token offsets (``[n_tokens, 2]``)."""
        tok = self.load().tokenizer
        limit = self.max_tokens - 2
        windows: list[_Window] = []
        offsets: list[np.ndarray] = []
        for d, (text, title) in enumerate(zip(texts, titles)):
            view, where = matching_view(text)  # words hyphenated across a break read whole
            enc = tok(
                view,
                add_special_tokens=False,
                return_offsets_mapping=True,
                truncation=False,
                verbose=False,
            )
            ids = list(enc["input_ids"])
            offs = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
            if where is not None and len(offs):  # back to the text's own offsets
                offs = np.stack([where[offs[:, 0]], where[np.maximum(offs[:, 1] - 1, 0)] + 1], 1)
            if d < len(skips) and skips[d] > 0 and len(offs):  # the title line, read as title
                keep = offs[:, 0] >= skips[d]
                ids, offs = [i for i, k in zip(ids, keep.tolist()) if k], offs[keep]
            offsets.append(offs)
            prefix: list[int] = []
            if title:
                prefix = list(tok(title + ":", add_special_tokens=False)["input_ids"])[
                    :_TITLE_TOKENS
                ]
            span = max(min(limit - len(prefix), window or limit), _MIN_WINDOW)
            stride = span if len(ids) <= span else max(span - span // _OVERLAP, 1)
            starts = list(range(0, max(len(ids) - span, 0) + 1, stride))
            if starts and starts[-1] + span < len(ids):
                starts.append(len(ids) - span)
            for s in starts if ids else []:
                windows.append(_Window(d, prefix, ids[s : s + span], s))
        return windows, offsets

    def _encode(self, windows: Sequence[_Window], stitch: _Stitch) -> None:
        """Run ``windows`` through the model in batches of similar length (little padding) and
        hand each window's hidden states to ``stitch``."""
        tok = self.load().tokenizer
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        report_windows(len(windows), 0)  # a progress bar's total (semtoken_rag.progress)
        order = sorted(range(len(windows)), key=lambda j: windows[j].length)
        for b in range(0, len(order), self.batch_size):
            batch = [windows[j] for j in order[b : b + self.batch_size]]
            seqs = [[cls_id, *w.prefix, *w.ids, sep_id] for w in batch]
            width = max(len(s) for s in seqs)
            ids_a = np.zeros((len(seqs), width), dtype=np.int64)
            mask_a = np.zeros((len(seqs), width), dtype=np.int64)
            for i, seq in enumerate(seqs):
                ids_a[i, : len(seq)] = seq
                mask_a[i, : len(seq)] = 1
            hidden = self._forward(ids_a, mask_a)
            for i, w in enumerate(batch):
                stitch.add(w, hidden[i])
            report_windows(0, len(batch))


class _Window(NamedTuple):
    """One model input: the title tokens ``prefix``, then the document's tokens ``ids``, the
    first of which is token ``first`` of document ``doc``."""

    doc: int
    prefix: list[int]
    ids: list[int]
    first: int

    @property
    def length(self) -> int:
        return len(self.prefix) + len(self.ids)


class _Stitch:
    """The token states of overlapping windows, stitched per document: each token keeps its
    state from the window where it sits farthest from an edge; the title's states (from a
    document's first window) count towards the document vector."""

    def __init__(self, offsets: list[np.ndarray], dim: int) -> None:
        n_docs = len(offsets)
        self.offsets = offsets
        self.vecs = [np.zeros((len(o), dim), dtype=np.float32) for o in offsets]
        self.best = [np.full(len(o), -1, dtype=np.int64) for o in offsets]  # distance to edge
        self.prefix_sum = [np.zeros(dim, dtype=np.float64) for _ in range(n_docs)]
        self.prefix_n = [0] * n_docs

    def add(self, w: _Window, hidden: np.ndarray) -> None:
        """Take the states of one window (``hidden``: its row of the batch, ``[CLS]`` first)."""
        d, p = w.doc, len(w.prefix)
        h = hidden[1 + p : 1 + p + len(w.ids)]
        if p and w.first == 0:
            self.prefix_sum[d] += hidden[1 : 1 + p].sum(axis=0)
            self.prefix_n[d] += p
        pos = np.arange(len(w.ids))
        edge = np.minimum(pos, len(w.ids) - 1 - pos)
        idx = w.first + pos
        take = edge > self.best[d][idx]
        self.vecs[d][idx[take]] = h[take]
        self.best[d][idx[take]] = edge[take]

    def states(self) -> list[TokenStates]:
        """Each document's :class:`TokenStates`: unit token vectors, offsets, and the unit mean
        of all its states (title included) as the document vector."""
        result: list[TokenStates] = []
        for d, v in enumerate(self.vecs):
            total = v.sum(axis=0, dtype=np.float64) + self.prefix_sum[d]
            count = len(v) + self.prefix_n[d]
            doc_vec = (total / max(count, 1)).astype(np.float32)
            result.append(TokenStates(unit(v), self.offsets[d], unit(doc_vec[None])[0]))
        return result
