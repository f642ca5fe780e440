"""SemTokenFingerprinter on the real LangChain path: splitter -> fingerprint + add_documents ->
InMemoryVectorStore (dumped and loaded back) -> retriever -> SemTokenDocumentCompressor reading a
read-only cache loaded from disk."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pydantic import ValidationError
from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.testing import FakeEncoder

from langchain_semtoken import SemTokenDocumentCompressor, SemTokenEmbeddings, SemTokenFingerprinter

QUERY = "Who created the Python programming language?"
BUDGET = 40


def fresh(
    cache: FingerprintCache | None = None, bow: FakeEncoder | None = None
) -> SemTokenCompressor:
    cache = FingerprintCache() if cache is None else cache  # an empty cache is falsy (len 0)
    return SemTokenCompressor(encoder=bow or FakeEncoder(), cache=cache)


def chunks(corpus: list[Document]) -> list[Document]:
    """The corpus split as an ingestion would (each chunk gets a ``start_index``)."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=90, chunk_overlap=0, add_start_index=True)
    return splitter.split_documents(corpus)


def test_transform_fingerprints_and_returns_the_documents_unchanged(corpus) -> None:
    core = fresh()
    docs = chunks(corpus)
    before = [d.model_dump() for d in docs]
    assert SemTokenFingerprinter(compressor=core).transform_documents(docs) is docs
    assert [d.model_dump() for d in docs] == before
    assert len(core.cache) == len({d.page_content for d in docs}) > len(corpus)  # type: ignore[arg-type]
    hits = core.cache.hits  # type: ignore[union-attr]
    SemTokenFingerprinter(compressor=core).transform_documents(docs)  # again: nothing computed
    assert core.cache.hits == hits + len(docs)  # type: ignore[union-attr]


def test_store_and_cache_reloaded_from_disk_give_zero_misses(corpus, tmp_path) -> None:
    bow = FakeEncoder()
    ingest = fresh(FingerprintCache(tmp_path / "fp"), bow)
    store = InMemoryVectorStore(SemTokenEmbeddings(compressor=ingest))
    SemTokenFingerprinter(compressor=ingest, save=True).add_documents(store, chunks(corpus))
    store.dump(str(tmp_path / "store.json"))

    # Query time, as another process would: the store and a read-only cache from disk.
    cache = FingerprintCache(tmp_path / "fp", read_only=True)
    query = SemTokenCompressor(encoder=bow, cache=cache)
    loaded = InMemoryVectorStore.load(
        str(tmp_path / "store.json"), SemTokenEmbeddings(compressor=query)
    )
    retriever = ContextualCompressionRetriever(
        base_compressor=SemTokenDocumentCompressor(compressor=query, max_tokens=BUDGET),
        base_retriever=loaded.as_retriever(search_kwargs={"k": 6}),
    )
    got = retriever.invoke(QUERY)
    assert got and cache.misses == 0 and cache.hits == 6
    retrieved = loaded.as_retriever(search_kwargs={"k": 6}).invoke(QUERY)
    assert all("start_index" in d.metadata for d in retrieved)  # the splitter's metadata came too
    cold = SemTokenDocumentCompressor(compressor=fresh(bow=bow), max_tokens=BUDGET)
    want = cold.compress_documents(retrieved, QUERY)
    assert [(d.id, d.page_content, d.metadata) for d in got] == [
        (d.id, d.page_content, d.metadata) for d in want
    ]


def test_metadata_added_or_dropped_after_ingestion_still_hits(corpus) -> None:
    core = fresh()
    docs = chunks(corpus)
    SemTokenFingerprinter(compressor=core).transform_documents(docs)
    cache = core.cache
    assert cache is not None
    changed = [
        Document(d.page_content, metadata={"title": d.metadata["title"], "retriever": "bm25"})
        for d in docs
    ]  # "source", "tags" and "start_index" dropped, a key added, no ids
    misses = cache.misses
    SemTokenDocumentCompressor(compressor=core, max_tokens=BUDGET).compress_documents(
        changed, QUERY
    )
    assert cache.misses == misses
    # the title is part of the key (it is the encoder's context): dropping it misses
    untitled = [Document(d.page_content) for d in changed]
    SemTokenDocumentCompressor(compressor=core, max_tokens=BUDGET).compress_documents(
        untitled, QUERY
    )
    assert cache.misses == misses + len(untitled)


def test_add_documents_embeds_from_the_fingerprinting_pass(corpus) -> None:
    bow = FakeEncoder()
    core = fresh(bow=bow)
    store = InMemoryVectorStore(SemTokenEmbeddings(compressor=core))
    docs = chunks(corpus)
    ids = SemTokenFingerprinter(compressor=core).add_documents(store, docs)
    assert len(ids) == len(docs)
    for d in docs:  # each chunk encoded whole once: for its fingerprints, not again to embed
        assert bow.texts.count(d.page_content) == 1
    fps = core.fingerprints(docs)
    for i, fp in zip(ids, fps, strict=True):
        assert np.allclose(store.store[i]["vector"], fp.doc_vector)
    # outside add_documents the embeddings encode as before (nothing is left behind)
    assert np.allclose(
        store.embeddings.embed_documents([docs[0].page_content])[0], fps[0].doc_vector
    )
    assert bow.texts.count(docs[0].page_content) == 2


def test_a_store_embedding_with_another_encoder_embeds_itself(corpus) -> None:
    bow, other = FakeEncoder(), FakeEncoder()
    core = fresh(bow=bow)
    store = InMemoryVectorStore(SemTokenEmbeddings(encoder=other))
    docs = chunks(corpus)
    SemTokenFingerprinter(compressor=core).add_documents(store, docs)
    assert all(bow.texts.count(d.page_content) == 1 for d in docs)
    assert all(other.texts.count(d.page_content) == 1 for d in docs)


def test_faiss_store_gets_the_same_single_pass(corpus) -> None:
    faiss = pytest.importorskip("faiss")
    from langchain_community.docstore.in_memory import InMemoryDocstore
    from langchain_community.vectorstores import FAISS

    bow = FakeEncoder()
    core = fresh(bow=bow)
    store = FAISS(
        embedding_function=SemTokenEmbeddings(compressor=core),
        index=faiss.IndexFlatIP(32),
        docstore=InMemoryDocstore(),
        index_to_docstore_id={},
    )
    docs = chunks(corpus)
    SemTokenFingerprinter(compressor=core).add_documents(store, docs)
    assert all(bow.texts.count(d.page_content) == 1 for d in docs)
    found = store.similarity_search(QUERY, k=3)
    misses = core.cache.misses  # type: ignore[union-attr]
    SemTokenDocumentCompressor(compressor=core, max_tokens=BUDGET).compress_documents(found, QUERY)
    assert core.cache.misses == misses  # type: ignore[union-attr]


async def test_async_paths_run_off_the_event_loop(corpus) -> None:
    bow = FakeEncoder()
    core = fresh(bow=bow)
    loop_thread = threading.get_ident()
    fingerprinter = SemTokenFingerprinter(compressor=core)
    docs = chunks(corpus)
    assert await fingerprinter.atransform_documents(docs) is docs
    store = InMemoryVectorStore(SemTokenEmbeddings(compressor=core))
    encoded = len(bow.texts)
    ids = await fingerprinter.aadd_documents(store, docs)
    assert len(ids) == len(docs) and len(bow.texts) == encoded  # all cached, all handed over
    assert bow.threads and loop_thread not in bow.threads


def test_asyncio_run_from_sync_code(corpus) -> None:
    core = fresh()
    store = InMemoryVectorStore(SemTokenEmbeddings(compressor=core))
    ids = asyncio.run(SemTokenFingerprinter(compressor=core).aadd_documents(store, chunks(corpus)))
    assert len(ids) == len(store.store)


def test_empty_documents_pass_through_unstored() -> None:
    core = fresh()
    docs = [Document(""), Document("  "), Document("Ada wrote it.")]
    assert SemTokenFingerprinter(compressor=core).transform_documents(docs) is docs
    assert len(core.cache) == 1  # type: ignore[arg-type]


def test_persist_and_save(tmp_path) -> None:
    core = fresh(FingerprintCache(tmp_path / "fp"))
    fingerprinter = SemTokenFingerprinter(compressor=core)
    fingerprinter.transform_documents([Document("Ada wrote it. Bob read it.")])
    assert FingerprintCache.saved_namespace(tmp_path / "fp") is None  # not saved yet
    assert fingerprinter.persist() > 0
    assert FingerprintCache.saved_namespace(tmp_path / "fp") == core.namespace
    SemTokenFingerprinter(compressor=core, save=True).transform_documents([Document("Paris.")])
    assert len(FingerprintCache(tmp_path / "fp", read_only=True)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"save": True}, "save=True needs a cache with a folder"),
        ({"batch_size": 0}, "batch_size"),
        ({"cache": "x"}, "cache"),
        ({"compressor": "core"}, "compressor"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SemTokenFingerprinter(**{"compressor": fresh(), **kwargs})


def test_needs_a_writable_cache(tmp_path) -> None:
    for cache in (None, FingerprintCache(tmp_path / "fp", read_only=True)):
        core = SemTokenCompressor(encoder=FakeEncoder())
        core.cache = cache
        with pytest.raises(ValidationError, match="writable cache"):
            SemTokenFingerprinter(compressor=core)
    with pytest.raises(ValueError, match="persist needs a cache with a folder"):
        SemTokenFingerprinter(compressor=fresh()).persist()


def test_settings_that_disagree_with_the_cache_raise_naming_both(corpus, tmp_path) -> None:
    docs = chunks(corpus)
    ingest = fresh(FingerprintCache(tmp_path / "fp"))
    SemTokenFingerprinter(compressor=ingest, save=True).transform_documents(docs)
    sentence = SemTokenConfig(granularity="sentence")
    differs = r"granularity: 'adaptive' \(cache\) vs 'sentence' \(compressor\)"
    writer = SemTokenCompressor(
        sentence, encoder=FakeEncoder(), cache=FingerprintCache(tmp_path / "fp")
    )
    with pytest.raises(ValueError, match=differs):  # ingestion never writes over other settings
        SemTokenFingerprinter(compressor=writer).transform_documents(docs)
    ro = FingerprintCache(tmp_path / "fp", read_only=True)
    query = SemTokenCompressor(sentence, encoder=FakeEncoder(), cache=ro)
    with pytest.raises(ValueError, match=differs):  # nor does a query miss on every document
        SemTokenDocumentCompressor(compressor=query, max_tokens=BUDGET).compress_documents(
            docs, QUERY
        )
    same = SemTokenDocumentCompressor(compressor=fresh(ro), max_tokens=BUDGET)
    same.compress_documents(docs, QUERY)
    assert ro.misses == 0 and ro.hits == len(docs)


@pytest.mark.slow
def test_docstring_example_runs() -> None:
    import doctest

    from langchain_semtoken import ingestion

    result = doctest.testmod(ingestion, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
