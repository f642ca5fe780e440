"""SemTokenNodePostprocessor with the real model, alone and in real LlamaIndex pipelines."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import (
    ImageNode,
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.postprocessor.semtoken import SemTokenEmbedding, SemTokenNodePostprocessor

from semtoken_rag import SemTokenCompressor, SemTokenConfig

QUERY = "Who discovered X-rays, and when?"
TEXTS = [
    "Wilhelm Röntgen discovered X-rays in 1895 while experimenting with cathode tubes. He called "
    "them X-rays because their nature was unknown. In 1901 he received the first Nobel Prize in "
    "Physics. He donated the prize money to his university.",
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres tall. "
    "It was the tallest man-made structure in the world for 41 years.",
    "Medical imaging began with radiography. Doctors soon used X-rays to find bullets and broken "
    "bones. Computed tomography combines many X-ray images into cross-sections of the body.",
]


def make_nodes() -> list[NodeWithScore]:
    """Retrieved nodes with everything a node can carry: metadata, exclusions, links, vectors."""
    nodes = []
    for i, text in enumerate(TEXTS):
        node = TextNode(
            id_=f"node-{i}",
            text=text,
            metadata={"title": f"Doc {i}", "file_name": f"doc{i}.txt", "tags": ["a", "b"]},
            excluded_llm_metadata_keys=["file_name"],
            excluded_embed_metadata_keys=["tags"],
            embedding=[0.1 * i] * 4,
            start_char_idx=10,
            end_char_idx=10 + len(text),
            relationships={
                NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc-{i}", metadata={"k": i}),
                NodeRelationship.NEXT: RelatedNodeInfo(node_id=f"node-{i + 1}"),
            },
        )
        nodes.append(NodeWithScore(node=node, score=0.9 - 0.1 * i))
    return nodes


def snapshot(nodes: list[NodeWithScore]) -> list[dict[str, Any]]:
    return [copy.deepcopy(n.model_dump()) for n in nodes]


@pytest.fixture(scope="module")
def post(semtoken_compressor: SemTokenCompressor) -> SemTokenNodePostprocessor:
    return SemTokenNodePostprocessor(max_tokens=40, compressor=semtoken_compressor)


def test_is_a_node_postprocessor_with_described_fields(post: SemTokenNodePostprocessor) -> None:
    assert isinstance(post, BaseNodePostprocessor)
    fields = type(post).model_fields
    for name in ("max_tokens", "ratio", "config", "keep_empty"):
        assert fields[name].description
    assert post.config is post.compressor.config


def test_returns_copies_and_never_mutates(post: SemTokenNodePostprocessor) -> None:
    nodes = make_nodes()
    before = snapshot(nodes)
    out = post.postprocess_nodes(nodes, query_str=QUERY)
    assert snapshot(nodes) == before  # text, metadata, relationships, exclusions untouched
    assert out
    originals = {n.node.node_id: n for n in nodes}
    for item in out:
        src = originals[item.node.node_id]
        assert item.node is not src.node
        assert item.node.relationships == src.node.relationships
        assert item.node.start_char_idx == src.node.start_char_idx
        assert item.node.embedding is None  # it described the full text
        meta = dict(item.node.metadata)
        info = meta.pop("semtoken")
        assert meta.pop("retrieval_score") == src.score
        assert meta == src.node.metadata
        for keys, base in (
            (item.node.excluded_llm_metadata_keys, src.node.excluded_llm_metadata_keys),
            (item.node.excluded_embed_metadata_keys, src.node.excluded_embed_metadata_keys),
        ):
            assert keys[: len(base)] == base
            assert {"semtoken", "retrieval_score"} <= set(keys)
        llm_view = item.node.get_content(metadata_mode=MetadataMode.LLM)
        assert "semtoken" not in llm_view and "retrieval_score" not in llm_view
        assert "semtoken" not in item.node.get_content(metadata_mode=MetadataMode.EMBED)
        # provenance: the kept text is made of the spans, cut from the original text
        source = src.node.get_content(metadata_mode=MetadataMode.NONE)
        kept = item.node.get_content(metadata_mode=MetadataMode.NONE)
        pieces = [source[s["start"] : s["end"]] for s in info["spans"]]
        assert pieces and all(p in kept for p in pieces)
        # the document's relevance: its best span's, kept or not (it does not move with the budget)
        assert item.score == info["relevance_score"] >= max(s["score"] for s in info["spans"])
        assert 0.0 <= item.score <= 1.0
        assert info["kept_tokens"] <= info["original_tokens"]
        assert info["query_free"] is False
    assert "Röntgen discovered X-rays in 1895" in out[0].node.get_content()


def test_budget_is_shared_by_all_nodes(post: SemTokenNodePostprocessor) -> None:
    count = post.compressor.count_tokens
    original = sum(count(t) for t in TEXTS)
    for budget in (12, 40, 80):
        p = SemTokenNodePostprocessor(max_tokens=budget, compressor=post.compressor)
        out = p.postprocess_nodes(make_nodes(), query_str=QUERY)
        kept = sum(count(n.node.get_content()) for n in out)
        assert 0 < kept <= budget < original
    out = SemTokenNodePostprocessor(ratio=0.3, compressor=post.compressor).postprocess_nodes(
        make_nodes(), query_str=QUERY
    )
    assert sum(count(n.node.get_content()) for n in out) <= 0.3 * original


def test_scores_node_text_without_metadata_and_passes_the_title(
    semtoken_compressor: SemTokenCompressor,
) -> None:
    seen: list[list[Any]] = []

    class Spy(SemTokenCompressor):
        def compress(self, query: Any, documents: Any, **kwargs: Any) -> Any:
            seen.append(list(documents))
            return super().compress(query, documents, **kwargs)

    spy = Spy(semtoken_compressor.config, encoder=semtoken_compressor.encoder)
    nodes = make_nodes()
    nodes[1].node.metadata.pop("title")
    SemTokenNodePostprocessor(max_tokens=40, compressor=spy).postprocess_nodes(
        nodes, query_str=QUERY
    )
    assert seen == [[(TEXTS[0], {"title": "Doc 0"}), TEXTS[1], (TEXTS[2], {"title": "Doc 2"})]]


def test_empty_input_and_empty_nodes(post: SemTokenNodePostprocessor) -> None:
    assert post.postprocess_nodes([], query_str=QUERY) == []
    assert asyncio.run(post.apostprocess_nodes([], query_str=QUERY)) == []
    image = NodeWithScore(node=ImageNode(image_url="https://example.org/x.png"), score=0.5)
    out = post.postprocess_nodes([image, *make_nodes()], query_str=QUERY)
    assert out[0] is image  # nothing to compress: passed through


def test_keep_empty(post: SemTokenNodePostprocessor) -> None:
    tight = SemTokenNodePostprocessor(max_tokens=12, compressor=post.compressor)
    assert len(tight.postprocess_nodes(make_nodes(), query_str=QUERY)) < len(TEXTS)
    kept = SemTokenNodePostprocessor(max_tokens=12, keep_empty=True, compressor=post.compressor)
    out = kept.postprocess_nodes(make_nodes(), query_str=QUERY)
    assert [n.node.node_id for n in out] == [f"node-{i}" for i in range(len(TEXTS))]
    empty = [n for n in out if not n.node.get_content()]
    assert empty and all(n.node.metadata["semtoken"]["spans"] == [] for n in empty)
    # an empty node keeps its document's relevance: relevant, but nothing of it fitted
    assert all(n.score == n.node.metadata["semtoken"]["relevance_score"] for n in empty)


def test_no_query_compresses_by_information_density(post: SemTokenNodePostprocessor) -> None:
    nodes = make_nodes()
    before = snapshot(nodes)
    for out in (post.postprocess_nodes(nodes), post.postprocess_nodes(nodes, QueryBundle(""))):
        assert out
        assert all(n.node.metadata["semtoken"]["query_free"] for n in out)
        assert sum(post.compressor.count_tokens(n.node.get_content()) for n in out) <= 40
    assert snapshot(nodes) == before


def test_concurrent_async_calls_equal_sequential(post: SemTokenNodePostprocessor) -> None:
    queries = [QUERY, "How tall is the Eiffel Tower?", "What is computed tomography?", None] * 5

    def key(out: list[NodeWithScore]) -> list[tuple[str, str, float | None]]:
        return [(n.node.node_id, n.node.get_content(), n.score) for n in out]

    def bundle(q: str | None) -> QueryBundle | None:
        return QueryBundle(q) if q else None

    nodes = make_nodes()
    before = snapshot(nodes)
    sequential = [key(post.postprocess_nodes(nodes, bundle(q))) for q in queries]

    async def run_all() -> list[list[NodeWithScore]]:
        return await asyncio.gather(*(post.apostprocess_nodes(nodes, bundle(q)) for q in queries))

    concurrent = [key(out) for out in asyncio.run(run_all())]
    assert concurrent == sequential
    assert snapshot(nodes) == before


def test_validation(semtoken_compressor: SemTokenCompressor) -> None:
    with pytest.raises(ValueError, match="max_tokens or ratio"):
        SemTokenNodePostprocessor(max_tokens=10, ratio=0.5, compressor=semtoken_compressor)
    with pytest.raises(ValueError):
        SemTokenNodePostprocessor(max_tokens=0, compressor=semtoken_compressor)
    with pytest.raises(ValueError):
        SemTokenNodePostprocessor(ratio=1.5, compressor=semtoken_compressor)
    with pytest.raises(ValueError):
        SemTokenNodePostprocessor(max_token=10, compressor=semtoken_compressor)  # typo: forbidden
    with pytest.raises(TypeError, match="compressor"):
        SemTokenNodePostprocessor(compressor="minilm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="config or compressor"):
        SemTokenNodePostprocessor(
            config=SemTokenConfig(compression_ratio=0.2), compressor=semtoken_compressor
        )


def test_config_pass_through_and_serialization(semtoken_compressor: SemTokenCompressor) -> None:
    config = SemTokenConfig.aggressive()
    post = SemTokenNodePostprocessor(config=config)
    assert post.compressor.config == config
    data = post.to_dict()
    assert data["class_name"] == "SemTokenNodePostprocessor"
    assert data["config"]["compression_ratio"] == 0.25
    again = SemTokenNodePostprocessor.from_dict(data)
    assert again.config == config and again.max_tokens is None
    # the default budget is config.compression_ratio of the input
    shared = SemTokenNodePostprocessor(compressor=semtoken_compressor)
    out = shared.postprocess_nodes(make_nodes(), query_str=QUERY)
    total = sum(semtoken_compressor.count_tokens(t) for t in TEXTS)
    kept = sum(semtoken_compressor.count_tokens(n.node.get_content()) for n in out)
    assert kept <= semtoken_compressor.config.compression_ratio * total


def test_embedding_adapter(embed_model: SemTokenEmbedding) -> None:
    q = embed_model.get_query_embedding(QUERY)
    docs = embed_model.get_text_embedding_batch(TEXTS)
    assert len(q) == 384 and len(docs) == len(TEXTS)
    sims = [sum(a * b for a, b in zip(q, d, strict=True)) for d in docs]
    assert max(range(len(sims)), key=sims.__getitem__) == 0
    assert asyncio.run(embed_model.aget_query_embedding(QUERY)) == pytest.approx(q, abs=1e-5)
    with pytest.raises(ValueError, match="compressor or encoder"):
        SemTokenEmbedding(compressor=SemTokenCompressor(), encoder="x")


# --- real pipelines ---------------------------------------------------------------------------


def context_of(prompt: str) -> str:
    """The context block of LlamaIndex's default QA prompt."""
    return prompt.split("---------------------\n")[1].rsplit("\n---------------------", 1)[0]


@pytest.fixture(scope="module")
def index(documents: list[Document], embed_model: SemTokenEmbedding) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


def test_query_engine_prompt_shrinks_within_budget(
    index: VectorStoreIndex, post: SemTokenNodePostprocessor, recording_llm: Any
) -> None:
    count = post.compressor.count_tokens
    engine = index.as_query_engine(similarity_top_k=4, llm=recording_llm)
    engine.query(QUERY)
    full = recording_llm.prompts[-1]

    engine = index.as_query_engine(
        similarity_top_k=4, node_postprocessors=[post], llm=recording_llm
    )
    response = engine.query(QUERY)
    prompt = recording_llm.prompts[-1]
    assert str(response) == "ok"
    assert count(prompt) < count(full) and count(context_of(full)) > 40
    texts = [n.node.get_content() for n in response.source_nodes]
    assert sum(count(t) for t in texts) <= 40
    assert all(t in prompt for t in texts)
    assert "Röntgen discovered X-rays in 1895" in prompt
    assert "semtoken" not in prompt and "retrieval_score" not in prompt
    assert all("semtoken" in n.node.metadata for n in response.source_nodes)

    aresponse = asyncio.run(engine.aquery(QUERY))
    assert recording_llm.prompts[-1] == prompt
    assert [n.node.get_content() for n in aresponse.source_nodes] == texts


def test_chat_engine(
    index: VectorStoreIndex, post: SemTokenNodePostprocessor, recording_llm: Any
) -> None:
    chat = CondensePlusContextChatEngine.from_defaults(
        index.as_retriever(similarity_top_k=4), llm=recording_llm, node_postprocessors=[post]
    )
    response = chat.chat(QUERY)
    assert str(response) == "ok"
    prompt = recording_llm.prompts[-1]
    texts = [n.node.get_content() for n in response.source_nodes]
    assert texts and sum(post.compressor.count_tokens(t) for t in texts) <= 40
    assert all(t in prompt for t in texts)
    assert TEXTS[0] not in prompt  # the full retrieved text never reaches the LLM
    assert "semtoken" not in prompt

    aresponse = asyncio.run(chat.achat("And who won a Nobel Prize in Chemistry?"))
    assert str(aresponse) == "ok"
    assert all("semtoken" in n.node.metadata for n in aresponse.source_nodes)
