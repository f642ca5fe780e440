"""``SemTokenNodePostprocessor``: compress retrieved nodes to a token budget, with provenance."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, model_validator
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseNode, MetadataMode, NodeWithScore, QueryBundle

from semtoken_rag import CompressionResult, SemTokenCompressor, SemTokenConfig
from semtoken_rag.inputs import title_of

logger = logging.getLogger(__name__)
dispatcher = get_dispatcher(__name__)
_T = TypeVar("_T")

METADATA_KEY = "semtoken"
"""Metadata key of the compression details on each returned node (hidden from LLM and embedding)."""

RETRIEVAL_SCORE_KEY = "retrieval_score"
"""Metadata key that keeps the score the node arrived with (the retriever's, usually)."""


class SemTokenNodePostprocessor(BaseNodePostprocessor):
    """Keep only the spans of the retrieved nodes that best answer the query, within a token budget.

    All nodes of one call share the budget. Each returned node is a copy of the original with the
    kept text (node id, metadata, relationships and excluded-metadata keys preserved, the now stale
    embedding dropped); its score is the calibrated probability, in [0, 1], that it holds evidence
    for the query (its best span's; the same on every input). The score it
    arrived with is kept under ``metadata["retrieval_score"]`` (left alone when a reranker already
    set that key), and the compression details under ``metadata["semtoken"]``
    (:meth:`semtoken_rag.CompressionResult.provenance`: ``relevance_score``, ``original_tokens``,
    ``kept_tokens``, ``spans`` with ``start``/``end`` character offsets into the original text,
    ``tokens`` and ``score``, and ``query_free``); both keys are excluded from the LLM and
    embedding views. Nodes are
    returned in the order they came in; nodes from which nothing was kept are dropped (see
    ``keep_empty``), and nodes without text (images) pass through unchanged. The caller's nodes are
    never mutated.

    Each call dispatches LlamaIndex's ``ReRankStartEvent`` and ``ReRankEndEvent`` (the events its
    rerankers send, which tracing handlers show; the end event's nodes carry the kept-token counts
    in ``metadata["semtoken"]``) and a ``RERANKING`` callback event. The async path
    (``apostprocess_nodes``, ``aquery``) runs the whole call, model, scoring and copying, in a
    worker thread: the event loop is never blocked. Metadata values that cannot be deep-copied (a
    lock, a client) are shared with the original node rather than copied; nothing else is shared.

    Scoring reads the node text without metadata; the title the metadata gives (``title`` or
    ``document_title``, then ``MarkdownNodeParser``'s ``header_path``) is given to the core as
    context. Without a query (``postprocess_nodes(nodes)``) the nodes are compressed by
    information density (semantic entropy), the core's query-free mode.

    ``to_dict``/``from_dict`` keep the knobs and ``config``; a compressor built around a custom
    encoder or token counter has to be passed again as ``compressor=``.

    Args:
        max_tokens: Token budget shared by all nodes of a call.
        ratio: Share of the input tokens to keep, in (0, 1]; instead of ``max_tokens``.
        config: Core settings (:class:`semtoken_rag.SemTokenConfig`).
        keep_empty: Return nodes from which nothing was kept, with empty text.
        min_relevance: Keep only spans whose calibrated score is at least this (up to the budget).
        sort_by_relevance: Return nodes by score, best first (default: the order they came in).
        compressor: A :class:`semtoken_rag.SemTokenCompressor` to use (and share, with its model
            and fingerprint cache) instead of building one from ``config``.
        **kwargs: Other :class:`BaseNodePostprocessor` fields (``callback_manager``).

    Example:
        >>> from llama_index.core.schema import NodeWithScore, TextNode
        >>> from llama_index.postprocessor.semtoken import SemTokenNodePostprocessor
        >>> post = SemTokenNodePostprocessor(max_tokens=16)
        >>> text = ("Wilhelm Röntgen discovered X-rays in 1895. He won the first Nobel Prize "
        ...         "in Physics. Paris has many museums.")
        >>> nodes = [NodeWithScore(node=TextNode(text=text), score=0.7)]
        >>> [n.node.get_content() for n in post.postprocess_nodes(nodes, query_str="Who "
        ...     "discovered X-rays?")]  # doctest: +SKIP
        ['Wilhelm Röntgen discovered X-rays in 1895.']
        >>> out = post.postprocess_nodes(nodes, query_str="Who discovered X-rays?")
        >>> out[0].node.node_id == nodes[0].node.node_id, out[0].node.metadata["retrieval_score"]
        (True, 0.7)
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    max_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Token budget shared by all nodes of one call (by the core's token counter).",
    )
    ratio: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description=(
            "Share of the input tokens to keep, in (0, 1], instead of max_tokens. With neither, "
            "config.compression_ratio applies."
        ),
    )
    config: SemTokenConfig | None = Field(
        default=None,
        description="Core settings passed through to semtoken_rag.SemTokenCompressor.",
    )
    keep_empty: bool = Field(
        default=False,
        description="Also return nodes from which nothing was kept (with empty text).",
    )
    min_relevance: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description=(
            "Keep only spans whose calibrated score (estimated probability of holding evidence "
            "for the query) is at least this, up to the budget. Default: no threshold."
        ),
    )
    sort_by_relevance: bool = Field(
        default=False,
        description="Return nodes by score, best first; default: the order they came in.",
    )

    _compressor: SemTokenCompressor = PrivateAttr()

    def __init__(
        self,
        max_tokens: int | None = None,
        ratio: float | None = None,
        config: SemTokenConfig | None = None,
        keep_empty: bool = False,
        *,
        compressor: SemTokenCompressor | None = None,
        min_relevance: float | None = None,
        sort_by_relevance: bool = False,
        **kwargs: Any,
    ) -> None:
        if compressor is not None:
            if not isinstance(compressor, SemTokenCompressor):
                raise TypeError(
                    f"compressor must be a SemTokenCompressor, got {type(compressor).__name__}"
                )
            if config is not None and config != compressor.config:
                raise ValueError("pass either config or compressor, not both")
            config = compressor.config
        super().__init__(  # type: ignore[call-arg]  # pydantic fields of this class
            max_tokens=max_tokens,
            ratio=ratio,
            config=config,
            keep_empty=keep_empty,
            min_relevance=min_relevance,
            sort_by_relevance=sort_by_relevance,
            **kwargs,
        )
        self._compressor = compressor or SemTokenCompressor(self.config)
        self.config = self._compressor.config

    @model_validator(mode="after")
    def _one_budget(self) -> SemTokenNodePostprocessor:
        if self.max_tokens is not None and self.ratio is not None:
            raise ValueError("pass either max_tokens or ratio, not both")
        return self

    @classmethod
    def class_name(cls) -> str:
        return "SemTokenNodePostprocessor"

    @property
    def compressor(self) -> SemTokenCompressor:
        """The core compressor: share it with other postprocessors or a ``SemTokenEmbedding``."""
        return self._compressor

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        model_name = f"semtoken:{self._compressor.encoder.identity}"
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle, nodes=nodes, top_n=len(nodes), model_name=model_name
            )
        )
        out: list[NodeWithScore] = []
        if nodes:
            payload: dict[str, Any] = {
                EventPayload.NODES: nodes,
                EventPayload.MODEL_NAME: model_name,
                EventPayload.QUERY_STR: _query(query_bundle),
                EventPayload.TOP_K: len(nodes),
            }
            with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:
                query = _query(query_bundle)
                result = self._compressor.compress(
                    query,
                    _inputs(nodes),
                    budget=self.max_tokens,
                    ratio=self.ratio,
                    min_relevance=self.min_relevance if query else None,
                )
                out = self._rebuild(nodes, result)
                event.on_end(payload={EventPayload.NODES: out})
        dispatcher.event(ReRankEndEvent(nodes=out))
        return out

    async def _apostprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        """:meth:`_postprocess_nodes` in a worker thread: model, scoring and node copies all stay
        off the event loop (the context, and so the instrumentation span, goes with it)."""
        return await asyncio.to_thread(self._postprocess_nodes, nodes, query_bundle)

    def _rebuild(
        self, nodes: list[NodeWithScore], result: CompressionResult
    ) -> list[NodeWithScore]:
        """Copies of ``nodes`` holding the kept text; the originals stay as they were."""
        out: list[NodeWithScore] = []
        for i, (item, source, kept) in enumerate(
            zip(nodes, result.source_texts, result.documents(), strict=True)
        ):
            if not source.strip():
                out.append(item)  # nothing to compress (an image node, say): pass it through
                continue
            info = result.provenance(i)
            if not info["spans"] and not self.keep_empty:
                continue
            node = _copy_node(item.node)
            node.set_content(kept)
            node.metadata[METADATA_KEY] = info
            hidden = [METADATA_KEY]
            if item.score is not None and RETRIEVAL_SCORE_KEY not in node.metadata:
                node.metadata[RETRIEVAL_SCORE_KEY] = item.score
                hidden.append(RETRIEVAL_SCORE_KEY)
            for keys in (node.excluded_llm_metadata_keys, node.excluded_embed_metadata_keys):
                keys.extend(k for k in hidden if k not in keys)
            out.append(NodeWithScore(node=node, score=info["relevance_score"]))
        if self.sort_by_relevance:  # stable: ties keep the retriever's order
            out.sort(key=lambda n: -(n.score or 0.0))
        logger.debug(
            "semtoken: %d nodes -> %d, %d -> %d tokens (budget %d)",
            len(nodes),
            len(out),
            result.original_tokens,
            result.kept_tokens,
            result.budget,
        )
        return out


def _copy_node(node: BaseNode) -> BaseNode:
    """A deep copy of ``node`` without its (now stale) embedding. Values that cannot be
    deep-copied (a lock, an open client in the metadata) are shared with the original instead of
    failing the query; containers around them are still copied."""
    copied = node.model_copy(update={"embedding": None})  # shallow: fields are replaced below
    for name, value in node.__dict__.items():
        if name != "embedding":
            copied.__dict__[name] = _copy_or_share(value)
    return copied


def _copy_or_share(value: _T) -> _T:
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - any failure to copy: share that value, never crash
        if isinstance(value, dict):
            return {k: _copy_or_share(v) for k, v in value.items()}  # type: ignore[return-value]
        if isinstance(value, list):
            return [_copy_or_share(v) for v in value]  # type: ignore[return-value]
        logger.debug("sharing a %s that cannot be deep-copied", type(value).__name__)
        return value


def _query(query_bundle: QueryBundle | None) -> str | None:
    """The query text, or ``None`` (query-free compression)."""
    if query_bundle is None:
        return None
    return query_bundle.query_str or None


CoreInput = str | tuple[str, dict[str, str]]


def core_input(node: BaseNode) -> CoreInput:
    """What the core sees of ``node``: its text without metadata, with the title its metadata
    gives (``title`` or ``document_title``, then ``header_path``: :func:`semtoken_rag.inputs.
    title_of`) as context. The fingerprint cache keys on exactly this (text and title), so the
    postprocessor and :class:`~llama_index.postprocessor.semtoken.SemTokenFingerprinter` both
    call it: other metadata may be added or dropped between ingestion and query.

    Example:
        >>> from llama_index.core.schema import TextNode
        >>> core_input(TextNode(text="Ada wrote it.", metadata={"title": "Ada", "page": 3}))
        ('Ada wrote it.', {'title': 'Ada'})
        >>> core_input(TextNode(text="## Install", metadata={"header_path": "/Guide/"}))
        ('## Install', {'title': 'Guide'})
    """
    text = node.get_content(metadata_mode=MetadataMode.NONE)
    title = title_of(node.metadata) if isinstance(node.metadata, Mapping) else ""
    return (text, {"title": title}) if title else text


def _inputs(nodes: list[NodeWithScore]) -> list[CoreInput]:
    """:func:`core_input` of each retrieved node."""
    return [core_input(item.node) for item in nodes]
