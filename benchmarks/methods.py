"""The compressors under test, each a function ``(query, documents, budget) -> list[str]``.

Peers are built on the real classes users would pick (rank_bm25, sentence-transformers, LangChain's
``EmbeddingsFilter`` / ``EmbeddingsRedundantFilter`` / ``DocumentCompressorPipeline``, LlamaIndex's
``SentenceEmbeddingOptimizer``, vecr-compress's ``compress``). Everything that embeds shares one
loaded MiniLM (vecr-compress embeds nothing: its question relevance is lexical). A method's output
is not trusted to meet the budget: :func:`clip` cuts it in reading order and the runner records the
overrun.

Peers get document text only (titles stay in metadata, excluded from what LlamaIndex embeds and
returns); ours gets ``(text, {"title": ...})`` pairs and uses the title as context.

The sentence-level peers of this module (random, bm25, sbert) split with NLTK Punkt (the data
bundled with llama-index-core, offline) and select greedily by score under the budget (a sentence
that does not fit is skipped, the next tried), then emit the kept sentences in reading order.
LlamaIndex and vecr-compress segment and select in their own code.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

from .building_blocks import (
    Docs,
    Method,
    MiniLM,
    Sentences,
    Tokens,
    clip,
    fill_documents,
    fill_sentences,
    vecr_tokenizer,
)

__all__ = [
    "ABLATIONS",
    "ALL_METHODS",
    "OURS",
    "PEERS",
    "PRESETS",
    "REFERENCE",
    "Docs",
    "Method",
    "Methods",
    "MiniLM",
    "Tokens",
    "clip",
    "describe",
    "vecr_tokenizer",
]

PEERS = (
    "truncation",
    "random",
    "bm25",
    "sbert",
    "doc_dense",
    "lc_filter",
    "lc_pipeline",
    "llamaindex",
    "vecr",
)
#: Ours as shipped: variant -> ``SemTokenConfig`` preset (``None``: the default config).
PRESETS: dict[str, str | None] = {
    "ours": None,
    "ours_conservative": "conservative",
    "ours_aggressive": "aggressive",
}
#: One signal off at a time: variant -> (the signal it removes, ``SemTokenConfig`` keyword
#: arguments that differ from the default). The report's ablation section has one row per entry.
ABLATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "ours_no_lexical": (
        "BM25, exact identifiers and title bridges (the dense ranking alone)",
        {"fusion": "dense"},
    ),
    "ours_no_dense": (
        "the dense ranking (BM25 and exact identifiers alone)",
        {"fusion": "lexical"},
    ),
    "ours_no_feedback": ("title bridges", {"use_feedback": False}),
    "ours_no_context": (
        "context in span fingerprints (each span encoded alone)",
        {"context_window": 0},
    ),
    "ours_sentences": (
        "clause pieces of long sentences (whole sentences only)",
        {"granularity": "sentence"},
    ),
    "ours_no_entropy": (
        "semantic entropy (clause coarsening, query-free score)",
        {"use_entropy": False},
    ),
    "ours_no_merging": ("redundancy merging", {"use_merging": False}),
}
OURS = (*PRESETS, *ABLATIONS)
REFERENCE = ("none",)
ALL_METHODS = REFERENCE + PEERS + OURS

#: Each method in plain words: (a short name for legends, what it does). The report's summary
#: and the plots read them; ablations are described from :data:`ABLATIONS` (:func:`describe`).
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "none": ("uncompressed", "the whole input; the ceiling, not a peer"),
    "truncation": (
        "truncation",
        "whole documents in the order given until the budget is spent, the last one cut",
    ),
    "random": ("random sentences", "NLTK sentences in a random order under the budget: the floor"),
    "bm25": (
        "sentence BM25",
        "rank_bm25 score of each NLTK sentence against the query; best first under the budget",
    ),
    "sbert": (
        "sentence dense",
        "MiniLM cosine of each NLTK sentence to the query; best first under the budget",
    ),
    "doc_dense": (
        "whole-document dense",
        "documents ranked by MiniLM cosine to the query, kept whole while they fit",
    ),
    "lc_filter": (
        "LangChain EmbeddingsFilter",
        "whole-document dense: LangChain EmbeddingsFilter over MiniLM, ranked documents kept "
        "whole while they fit",
    ),
    "lc_pipeline": (
        "LangChain dedupe + filter",
        "LangChain EmbeddingsRedundantFilter then EmbeddingsFilter over MiniLM (near-duplicate "
        "documents dropped, the rest ranked and kept whole)",
    ),
    "llamaindex": (
        "LlamaIndex optimizer",
        "LlamaIndex SentenceEmbeddingOptimizer over MiniLM: the sentences above a similarity "
        "percentile set to the budget's share",
    ),
    "vecr": (
        "vecr-compress",
        "vecr-compress: a sentence heuristic plus word overlap with the question; sentences "
        "with numbers or IDs always kept (it overruns the budget)",
    ),
    "ours": (
        "ours (semtoken-rag)",
        "semtoken-rag, default config: sentence and clause spans scored by late-pooled MiniLM "
        "fingerprints, BM25, quoted identifiers and title bridges, near-duplicates merged, "
        "selected under the budget",
    ),
    "ours_conservative": ("ours, conservative", "ours with `SemTokenConfig.conservative()`"),
    "ours_aggressive": ("ours, aggressive", "ours with `SemTokenConfig.aggressive()`"),
}


def describe(method: str) -> tuple[str, str]:
    """(short name, what it does) of a method, in plain words.

    >>> describe("ours_no_merging")
    ('ours without redundancy merging', 'ours with `use_merging=False`: without redundancy merging')
    """
    if method in ABLATIONS:
        signal, override = ABLATIONS[method]
        short = signal.split(" (")[0]
        config = ", ".join(f"{k}={v!r}" for k, v in override.items())
        return f"ours without {short}", f"ours with `{config}`: without {signal}"
    return DESCRIPTIONS.get(method, (method, method))


class Methods:
    """Builds every method on one shared MiniLM, token counter and sentence splitter."""

    def __init__(self, minilm: MiniLM | None = None, tokens: Tokens | None = None) -> None:
        self.minilm = minilm or MiniLM()
        self.tokens = tokens or Tokens()
        self.sentences = Sentences()
        self._ours: dict[str, Any] = {}
        self._ours_caches: dict[tuple[Any, ...], Any] = {}
        self._lc_embeddings: Any = None
        self._li_embedding: Any = None

    def get(self, name: str) -> Method:
        if name not in ALL_METHODS:
            raise ValueError(f"method must be one of {ALL_METHODS}, got {name!r}")
        if name.startswith("ours"):
            return lambda q, docs, budget: self.ours(name, q, docs, budget)
        return getattr(self, name)

    # --- reference and trivial peers -------------------------------------------------------
    def none(self, query: str, docs: Docs, budget: int) -> list[str]:
        return [t for t, _ in docs]

    def truncation(self, query: str, docs: Docs, budget: int) -> list[str]:
        return fill_documents(docs, range(len(docs)), budget, self.tokens)

    def _sentence_spans(self, docs: Docs) -> list[tuple[int, int, int]]:
        return [(d, a, b) for d, (t, _) in enumerate(docs) for a, b in self.sentences.spans(t)]

    def random(self, query: str, docs: Docs, budget: int) -> list[str]:
        spans = self._sentence_spans(docs)
        rng = random.Random(zlib.crc32(query.encode("utf-8")))
        scores = [rng.random() for _ in spans]
        return fill_sentences(docs, spans, scores, budget, self.tokens)

    def bm25(self, query: str, docs: Docs, budget: int) -> list[str]:
        from rank_bm25 import BM25Okapi

        from .datasets import content_words

        spans = self._sentence_spans(docs)
        if not spans:
            return ["" for _ in docs]
        corpus = [content_words(docs[d][0][a:b]) or ["_"] for d, a, b in spans]
        scores = BM25Okapi(corpus).get_scores(content_words(query))
        return fill_sentences(docs, spans, list(scores), budget, self.tokens)

    def sbert(self, query: str, docs: Docs, budget: int) -> list[str]:
        spans = self._sentence_spans(docs)
        if not spans:
            return ["" for _ in docs]
        e = self.minilm.encode([docs[d][0][a:b] for d, a, b in spans])
        q = self.minilm.encode([query])[0]
        return fill_sentences(docs, spans, list(e @ q), budget, self.tokens)

    def doc_dense(self, query: str, docs: Docs, budget: int) -> list[str]:
        e = self.minilm.encode([t for t, _ in docs])
        q = self.minilm.encode([query])[0]
        order = sorted(range(len(docs)), key=lambda d: (-float(e[d] @ q), d))
        return fill_documents(docs, order, budget, self.tokens)

    # --- LangChain --------------------------------------------------------------------------
    def _lc(self) -> Any:
        if self._lc_embeddings is None:
            from langchain_core.embeddings import Embeddings

            minilm = self.minilm

            class MiniLMEmbeddings(Embeddings):
                def embed_documents(self, texts: list[str]) -> list[list[float]]:
                    return minilm.encode(texts).tolist()

                def embed_query(self, text: str) -> list[float]:
                    return minilm.encode([text])[0].tolist()

            self._lc_embeddings = MiniLMEmbeddings()
        return self._lc_embeddings

    def _lc_fill(self, compressor: Any, query: str, docs: Docs, budget: int) -> list[str]:
        from langchain_core.documents import Document

        lc_docs = [
            Document(page_content=t, metadata={**m, "_idx": i})
            for i, (t, m) in enumerate(docs)
            if t.strip()
        ]
        ranked = compressor.compress_documents(lc_docs, query)
        order = [int(d.metadata["_idx"]) for d in ranked]
        return fill_documents(docs, order, budget, self.tokens)

    def lc_filter(self, query: str, docs: Docs, budget: int) -> list[str]:
        from langchain_classic.retrievers.document_compressors import EmbeddingsFilter

        f = EmbeddingsFilter(embeddings=self._lc(), k=len(docs), similarity_threshold=None)
        return self._lc_fill(f, query, docs, budget)

    def lc_pipeline(self, query: str, docs: Docs, budget: int) -> list[str]:
        from langchain_classic.retrievers.document_compressors import (
            DocumentCompressorPipeline,
            EmbeddingsFilter,
        )
        from langchain_community.document_transformers import EmbeddingsRedundantFilter

        emb = self._lc()
        pipe = DocumentCompressorPipeline(
            transformers=[
                EmbeddingsRedundantFilter(embeddings=emb),
                EmbeddingsFilter(embeddings=emb, k=len(docs), similarity_threshold=None),
            ]
        )
        return self._lc_fill(pipe, query, docs, budget)

    # --- LlamaIndex -------------------------------------------------------------------------
    def _li(self) -> Any:
        if self._li_embedding is None:
            from llama_index.core.embeddings import BaseEmbedding

            minilm = self.minilm

            class MiniLMEmbedding(BaseEmbedding):
                @classmethod
                def class_name(cls) -> str:
                    return "MiniLMEmbedding"

                def _get_query_embedding(self, query: str) -> list[float]:
                    return minilm.encode([query])[0].tolist()

                async def _aget_query_embedding(self, query: str) -> list[float]:
                    return self._get_query_embedding(query)

                def _get_text_embedding(self, text: str) -> list[float]:
                    return minilm.encode([text])[0].tolist()

                def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                    return minilm.encode(texts).tolist()

            self._li_embedding = MiniLMEmbedding(model_name="all-MiniLM-L6-v2")
        return self._li_embedding

    def llamaindex(self, query: str, docs: Docs, budget: int) -> list[str]:
        """``SentenceEmbeddingOptimizer``, ``percentile_cutoff`` = the budget's share of the input
        tokens, no neighbour context (its default of one sentence each side would triple the
        output). It keeps sentences per node, ranked by similarity (not in reading order)."""
        from llama_index.core.postprocessor import SentenceEmbeddingOptimizer
        from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

        total = sum(self.tokens.count(t) for t, _ in docs) or 1
        share = min(1.0, budget / total)
        opt = SentenceEmbeddingOptimizer(
            embed_model=self._li(), percentile_cutoff=share, context_before=0, context_after=0
        )
        live = [i for i, (t, _) in enumerate(docs) if t.strip()]
        nodes = [
            NodeWithScore(
                node=TextNode(
                    text=docs[i][0],
                    metadata=dict(docs[i][1]),
                    excluded_llm_metadata_keys=list(docs[i][1]),
                    excluded_embed_metadata_keys=list(docs[i][1]),
                ),
                score=1.0,
            )
            for i in live
        ]
        out_nodes = opt.postprocess_nodes(nodes, query_bundle=QueryBundle(query))
        out = ["" for _ in docs]
        for i, n in zip(live, out_nodes, strict=True):
            out[i] = n.node.get_content()
        return out

    # --- vecr-compress ----------------------------------------------------------------------
    def vecr(self, query: str, docs: Docs, budget: int) -> list[str]:
        """vecr-compress's ``compress``: one ``user`` message per document, the question passed as
        ``question=``, ``use_question_relevance=True`` (0.6 x its heuristic + 0.4 x Jaccard with the
        question), retention rules on (sentences holding numbers, IDs, URLs, code are pinned and
        kept whatever the budget: it overruns). ``protect_tail=0``: its default of 2 would keep the
        last two documents verbatim, as if they were the live chat turn. It counts tokens with
        tiktoken's o200k_base, or offline (o200k_base is not bundled) its own regex counter, which
        counts 0.50x (kv) to 0.94x (QMSum) the cl100k tokens of the same text, so part of its
        overrun is the counting unit; see :func:`vecr_tokenizer`. It splits sentences with its own
        regex and joins the kept ones of a document with one space."""
        try:
            from vecr_compress import compress
        except ImportError as e:
            raise ImportError("the vecr peer needs vecr-compress: pip install -e '.[bench]'") from e

        messages = [{"role": "user", "content": t} for t, _ in docs]
        r = compress(
            messages,
            budget_tokens=budget,
            question=query,
            use_question_relevance=True,
            protect_tail=0,
        )
        out = ["" for _ in docs]
        for i, m in zip(r.kept_message_indices, r.messages, strict=True):
            out[i] = m["content"]
        return out

    # --- ours -------------------------------------------------------------------------------
    def ours_compressor(self, name: str, fresh: bool = False) -> Any:
        """The compressor for one of :data:`OURS` (shared MiniLM; own in-memory cache)."""
        if fresh or name not in self._ours:
            from semtoken_rag import SemTokenCompressor, SemTokenConfig

            if name in ABLATIONS:
                cfg = SemTokenConfig(**ABLATIONS[name][1])
            else:
                preset = PRESETS[name]
                cfg = getattr(SemTokenConfig, preset)() if preset else SemTokenConfig()
            if fresh:
                return SemTokenCompressor(cfg, encoder=self.minilm.model)
            # variants with the same segmentation and context share fingerprints (one cache)
            from semtoken_rag import FingerprintCache

            key = (cfg.granularity, cfg.max_span_tokens, cfg.context_window)
            cache = self._ours_caches.setdefault(key, FingerprintCache(max_entries=5_000_000))
            c = SemTokenCompressor(cfg, encoder=self.minilm.model, cache=cache)
            self._ours[name] = c
        return self._ours[name]

    def ours(self, name: str, query: str, docs: Docs, budget: int) -> list[str]:
        r = self.ours_compressor(name).compress(query, list(docs), budget=budget)
        return r.documents()
