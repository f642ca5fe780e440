"""SemTokenFingerprinter in real LlamaIndex ingestion: splitter -> fingerprinter -> embedding ->
VectorStoreIndex, persisted and reloaded from disk, then retriever -> postprocessor on the cache."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest
from llama_index.core import (
    Document,
    StorageContext,
    VectorStoreIndex,
    load_index_from_storage,
)
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.semtoken import (
    SemTokenEmbedding,
    SemTokenFingerprinter,
    SemTokenNodePostprocessor,
)

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.testing import FakeEncoder

QUERY = "Who discovered X-rays, and when?"
BUDGET = 40


def fresh(
    cache: FingerprintCache | None = None, bow: FakeEncoder | None = None
) -> SemTokenCompressor:
    cache = FingerprintCache() if cache is None else cache  # an empty cache is falsy (len 0)
    return SemTokenCompressor(encoder=bow or FakeEncoder(), cache=cache)


def corpus(documents: list[Document]) -> list[Document]:
    """The shared documents, longer: each splits into several nodes."""
    return [
        Document(text=" ".join([d.text] * 3), metadata=dict(d.metadata), id_=f"doc-{i}")
        for i, d in enumerate(documents)
    ]


def texts(nodes: Any) -> set[str]:
    return {n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes}


def splitter() -> SentenceSplitter:
    return SentenceSplitter(chunk_size=64, chunk_overlap=8)


def test_fingerprints_every_node_and_returns_them_unchanged(documents) -> None:
    core = fresh()
    nodes = splitter()(corpus(documents))
    before = [n.model_dump() for n in nodes]
    out = SemTokenFingerprinter(core)(nodes)
    assert out is nodes and [n.model_dump() for n in nodes] == before  # nothing touched
    assert len(core.cache) == len(texts(nodes)) > len(documents)  # type: ignore[arg-type]
    hits = core.cache.hits  # type: ignore[union-attr]
    SemTokenFingerprinter(core)(nodes)  # a second ingestion of the same chunks computes nothing
    assert core.cache.hits == hits + len(nodes)  # type: ignore[union-attr]


def test_pipeline_store_and_cache_reloaded_from_disk_give_zero_misses(documents, tmp_path) -> None:
    bow = FakeEncoder()
    ingest = fresh(FingerprintCache(tmp_path / "fp"), bow)
    pipeline = IngestionPipeline(
        transformations=[
            splitter(),
            SemTokenFingerprinter(ingest, save=True),
            SemTokenEmbedding(compressor=ingest),
        ]
    )
    nodes = pipeline.run(documents=corpus(documents))
    index = VectorStoreIndex(nodes, embed_model=SemTokenEmbedding(compressor=ingest))
    index.storage_context.persist(persist_dir=str(tmp_path / "index"))

    # Query time, as another process would: the index and a read-only cache from disk.
    cache = FingerprintCache(tmp_path / "fp", read_only=True)
    query = SemTokenCompressor(encoder=bow, cache=cache)
    loaded = load_index_from_storage(
        StorageContext.from_defaults(persist_dir=str(tmp_path / "index")),
        embed_model=SemTokenEmbedding(compressor=query),
    )
    retrieved = loaded.as_retriever(similarity_top_k=6).retrieve(QUERY)
    assert len(retrieved) == 6
    post = SemTokenNodePostprocessor(max_tokens=BUDGET, compressor=query)
    out = post.postprocess_nodes(retrieved, query_str=QUERY)
    assert cache.misses == 0 and cache.hits == len(retrieved)
    cold = SemTokenNodePostprocessor(max_tokens=BUDGET, compressor=fresh(bow=bow))
    want = cold.postprocess_nodes(retrieved, query_str=QUERY)
    assert [(n.node.get_content(), n.score) for n in out] == [
        (n.node.get_content(), n.score) for n in want
    ]


def test_metadata_added_or_dropped_after_ingestion_still_hits(documents) -> None:
    core = fresh()
    nodes = splitter()(corpus(documents))
    SemTokenFingerprinter(core)(nodes)
    cache = core.cache
    assert cache is not None
    changed = [
        NodeWithScore(
            node=TextNode(
                text=n.get_content(metadata_mode=MetadataMode.NONE),
                metadata={"title": n.metadata["title"], "retrieved_by": "bm25", "page": 4},
            ),
            score=0.5,
        )
        for n in nodes
    ]  # "source" dropped, other keys added, new node ids and relationships
    misses = cache.misses
    SemTokenNodePostprocessor(max_tokens=BUDGET, compressor=core).postprocess_nodes(
        changed, QueryBundle(QUERY)
    )
    assert cache.misses == misses
    # the title is part of the key (it is the encoder's context): dropping it misses
    no_title = [NodeWithScore(node=TextNode(text=n.node.get_content()), score=0.5) for n in changed]
    SemTokenNodePostprocessor(max_tokens=BUDGET, compressor=core).postprocess_nodes(
        no_title, QueryBundle(QUERY)
    )
    assert cache.misses == misses + len(no_title)


def test_embed_gives_the_index_its_vectors_from_the_same_pass(documents) -> None:
    bow = FakeEncoder()
    core = fresh(bow=bow)
    fingerprinter = SemTokenFingerprinter(core, embed=True)
    pipeline = IngestionPipeline(transformations=[splitter(), fingerprinter])
    nodes = pipeline.run(documents=corpus(documents))
    assert all(n.embedding is not None for n in nodes)
    fps = core.fingerprints([(n.get_content(), {"title": n.metadata["title"]}) for n in nodes])
    for n, fp in zip(nodes, fps):
        assert np.allclose(n.embedding, fp.doc_vector)  # type: ignore[arg-type]
    encoded = len(bow.texts)
    index = VectorStoreIndex(nodes, embed_model=SemTokenEmbedding(compressor=core))
    assert len(bow.texts) == encoded  # the index embedded nothing again
    top = index.as_retriever(similarity_top_k=1).retrieve(QUERY)[0]
    q = core.encoder.encode_query([QUERY])[0]
    assert top.score == pytest.approx(max(float(q @ fp.doc_vector) for fp in fps), abs=1e-6)
    # the metadata view LlamaIndex would embed ("title: ...\n\ntext") was never encoded
    embed_views = {n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes}
    assert not embed_views & set(bow.texts)


def test_embed_keeps_an_embedding_already_set_and_copies_the_rest() -> None:
    nodes = [TextNode(text="Ada wrote it.", embedding=[1.0, 0.0]), TextNode(text="Bob read it.")]
    out = SemTokenFingerprinter(fresh(), embed=True)(nodes)
    assert out[0] is nodes[0] and out[1] is not nodes[1]
    assert nodes[1].embedding is None and out[1].embedding is not None
    assert out[1].node_id == nodes[1].node_id


async def test_acall_and_arun_work_off_the_event_loop(documents) -> None:
    bow = FakeEncoder()
    core = fresh(bow=bow)
    loop_thread = threading.get_ident()
    pipeline = IngestionPipeline(transformations=[splitter(), SemTokenFingerprinter(core)])
    bow.threads.clear()  # building it probed the encoder once (its identity), here
    nodes = await pipeline.arun(documents=corpus(documents))
    assert len(core.cache) == len(texts(nodes))  # type: ignore[arg-type]
    assert bow.threads and loop_thread not in bow.threads
    again = await SemTokenFingerprinter(core).acall(nodes)
    assert list(again) == list(nodes)


def test_empty_and_image_nodes_pass_through_unstored() -> None:
    core = fresh()
    nodes = [TextNode(text=""), TextNode(text="   "), TextNode(text="Ada wrote it.")]
    assert SemTokenFingerprinter(core)(nodes) == nodes
    assert len(core.cache) == 1  # type: ignore[arg-type]


def test_persist_and_save(tmp_path) -> None:
    core = fresh(FingerprintCache(tmp_path / "fp"))
    fingerprinter = SemTokenFingerprinter(core)
    fingerprinter([TextNode(text="Ada wrote it. Bob read it.")])
    assert FingerprintCache.saved_namespace(tmp_path / "fp") is None  # not saved yet
    assert fingerprinter.persist() > 0
    assert FingerprintCache.saved_namespace(tmp_path / "fp") == core.namespace
    saving = SemTokenFingerprinter(core, save=True)
    saving([TextNode(text="Paris is in France.")])
    assert len(FingerprintCache(tmp_path / "fp", read_only=True)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compressor": "core"}, "compressor must be a SemTokenCompressor"),
        ({"save": True}, "save=True needs a cache with a folder"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, Any], message: str) -> None:
    args = {"compressor": fresh(), **kwargs}
    with pytest.raises((TypeError, ValueError), match=message):
        SemTokenFingerprinter(**args)


def test_needs_a_writable_cache(tmp_path) -> None:
    for cache in (None, FingerprintCache(tmp_path / "fp", read_only=True)):
        core = SemTokenCompressor(encoder=FakeEncoder())
        core.cache = cache
        with pytest.raises(ValueError, match="writable cache"):
            SemTokenFingerprinter(core)
    with pytest.raises(ValueError, match="persist needs a cache with a folder"):
        SemTokenFingerprinter(fresh()).persist()


def test_serialises_its_knobs() -> None:
    f = SemTokenFingerprinter(fresh(), batch_size=8, embed=True)
    data = f.to_dict()
    assert data["class_name"] == "SemTokenFingerprinter"
    assert (data["batch_size"], data["embed"], data["save"]) == (8, True, False)


def test_asyncio_run_from_sync_code(documents) -> None:
    core = fresh()
    nodes = splitter()(corpus(documents))
    out = asyncio.run(SemTokenFingerprinter(core).acall(nodes))
    assert list(out) == list(nodes) and len(core.cache) == len(texts(nodes))  # type: ignore[arg-type]


def test_settings_that_disagree_with_the_cache_raise_naming_both(documents, tmp_path) -> None:
    nodes = splitter()(corpus(documents))
    ingest = fresh(FingerprintCache(tmp_path / "fp"))
    SemTokenFingerprinter(ingest, save=True)(nodes)
    sentence = SemTokenConfig(granularity="sentence")
    differs = r"granularity: 'adaptive' \(cache\) vs 'sentence' \(compressor\)"
    writer = SemTokenCompressor(
        sentence, encoder=FakeEncoder(), cache=FingerprintCache(tmp_path / "fp")
    )
    with pytest.raises(ValueError, match=differs):  # ingestion never writes over other settings
        SemTokenFingerprinter(writer)(nodes)
    ro = FingerprintCache(tmp_path / "fp", read_only=True)
    post = SemTokenNodePostprocessor(
        max_tokens=BUDGET, compressor=SemTokenCompressor(sentence, encoder=FakeEncoder(), cache=ro)
    )
    retrieved = [NodeWithScore(node=n, score=0.5) for n in nodes]
    with pytest.raises(ValueError, match=differs):  # nor does a query miss on every node
        post.postprocess_nodes(retrieved, query_str=QUERY)
    same = SemTokenNodePostprocessor(max_tokens=BUDGET, compressor=fresh(ro))
    same.postprocess_nodes(retrieved, query_str=QUERY)
    assert ro.misses == 0 and ro.hits == len(retrieved)


@pytest.mark.slow
def test_docstring_example_runs() -> None:
    import doctest

    from llama_index.postprocessor.semtoken import ingestion

    result = doctest.testmod(ingestion, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --- issue 25, item 8: a persisted pipeline cache never replays the fingerprinter --------------


def _run(core: SemTokenCompressor, docs: list[Document], pipeline_dir: Any) -> Any:
    """One ingestion run with a persisted pipeline cache: load it (if saved), run, persist it."""
    pipeline = IngestionPipeline(transformations=[splitter(), SemTokenFingerprinter(core)])
    if (pipeline_dir / "llama_cache").exists():
        pipeline.load(str(pipeline_dir))
    nodes = pipeline.run(documents=docs)
    pipeline.persist(str(pipeline_dir))
    return nodes


def test_a_persisted_pipeline_cache_fills_a_new_folder_or_namespace(documents, tmp_path) -> None:
    # was: the second pipeline replayed the first run's output from its cache, the fingerprinter
    # never ran, and the new compressor's cache held 0 of its nodes (every query missed)
    docs = corpus(documents)
    first = fresh(FingerprintCache(tmp_path / "a"))
    nodes = _run(first, docs, tmp_path / "pipeline")
    want = len(texts(nodes))
    assert len(first.cache) == want  # type: ignore[arg-type]
    first.cache.save()  # type: ignore[union-attr]

    for cache in (FingerprintCache(tmp_path / "b"), FingerprintCache()):  # new folder, in memory
        other = fresh(cache)
        _run(other, docs, tmp_path / "pipeline")
        assert len(cache) == want, cache

    clause = SemTokenConfig(granularity="clause")  # same folder name, other settings
    third = SemTokenCompressor(
        clause, encoder=FakeEncoder(), cache=FingerprintCache(tmp_path / "c")
    )
    _run(third, docs, tmp_path / "pipeline")
    assert len(third.cache) == want  # type: ignore[arg-type]


def test_the_same_folder_and_settings_still_replay(documents, tmp_path) -> None:
    docs = corpus(documents)
    first = fresh(FingerprintCache(tmp_path / "fp"))
    _run(first, docs, tmp_path / "pipeline")
    first.cache.save()  # type: ignore[union-attr]
    again = FingerprintCache(tmp_path / "fp")  # another process, the same saved folder
    _run(fresh(again), docs, tmp_path / "pipeline")
    assert (again.hits, again.misses) == (0, 0)  # replayed: the fingerprinter did not run
    assert len(again) == len(first.cache)  # type: ignore[arg-type]
