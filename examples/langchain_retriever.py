"""Compress what a LangChain retriever returns, offline, with semtoken-rag.

Runs top to bottom with no network: MiniLM embeddings (bundled with semtoken-rag) feed an
``InMemoryVectorStore``; a ``ContextualCompressionRetriever`` keeps only the best spans of the
retrieved documents within a token budget; an LCEL chain shows the prompt shrinking.

Install: ``pip install -e . -e 'integrations/langchain[test]'`` (langchain-classic provides
``ContextualCompressionRetriever``). Run: ``python examples/langchain_retriever.py``.
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from langchain_classic.retrievers import ContextualCompressionRetriever  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.prompt_values import PromptValue  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.runnables import Runnable, RunnablePassthrough  # noqa: E402
from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402
from langchain_semtoken import SemTokenDocumentCompressor  # noqa: E402

from semtoken_rag import SemTokenCompressor  # noqa: E402

DOCS = [
    Document(
        "Python is a programming language. It was created by Guido van Rossum and first "
        "released in 1991. Python emphasises code readability with significant indentation.",
        id="python",
        metadata={"title": "Python", "source": "python.txt"},
    ),
    Document(
        "Rust is a systems programming language focused on memory safety. Graydon Hoare started "
        "it at Mozilla in 2006. Its compiler enforces ownership and borrowing rules.",
        id="rust",
        metadata={"title": "Rust", "source": "rust.txt"},
    ),
    Document(
        "ABC was a teaching language developed at CWI in Amsterdam. Guido van Rossum worked on "
        "ABC before he designed Python. ABC influenced Python's syntax and data types.",
        id="abc",
        metadata={"title": "ABC (programming language)", "source": "abc.txt"},
    ),
    Document(
        "Paris is the capital of France. The Eiffel Tower was completed in 1889 for the World's "
        "Fair. The Louvre is the most visited museum in the world.",
        id="paris",
        metadata={"title": "Paris", "source": "paris.txt"},
    ),
]
QUERY = "Who created Python, and what language influenced it?"


class MiniLMEmbeddings(Embeddings):
    """LangChain embeddings over the core's bundled MiniLM: one model for search and compression."""

    def __init__(self, core: SemTokenCompressor) -> None:
        self.encoder = core.encoder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encoder.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def join(docs: list[Document]) -> str:
    """The context block of the prompt."""
    return "\n\n".join(d.page_content for d in docs)


def main() -> None:
    core = SemTokenCompressor()  # shared: one model and one cache for every chain below
    store = InMemoryVectorStore(MiniLMEmbeddings(core))
    store.add_documents(DOCS)
    retriever = store.as_retriever(search_kwargs={"k": 3})

    compressor = SemTokenDocumentCompressor(compressor=core, max_tokens=40)
    compressed = ContextualCompressionRetriever(
        base_compressor=compressor, base_retriever=retriever
    )

    print(f"Query: {QUERY}\n")
    for doc in compressed.invoke(QUERY):
        info = doc.metadata["semtoken"]
        print(
            f"[{doc.id}] relevance {info['relevance_score']:.2f}, "
            f"{info['original_tokens']} -> {info['kept_tokens']} tokens"
        )
        print(f"    {doc.page_content}")
        for span in info["spans"]:
            print(f"    span [{span['start']}:{span['end']}] score {span['score']:.2f}")

    texts = [d.page_content for d in asyncio.run(compressed.ainvoke(QUERY))]
    same = texts == [d.page_content for d in compressed.invoke(QUERY)]
    print(f"\nainvoke keeps the same text (same as invoke: {same})")

    prompt = ChatPromptTemplate.from_template(
        "Answer from the context.\n\n{context}\n\nQ: {question}"
    )

    def chain(r: Runnable[str, list[Document]]) -> Runnable[str, PromptValue]:
        return {"context": r | join, "question": RunnablePassthrough()} | prompt

    before = chain(retriever).invoke(QUERY).to_string()
    after = chain(compressed).invoke(QUERY).to_string()
    n_before, n_after = core.count_tokens(before), core.count_tokens(after)
    print(f"\nPrompt tokens: {n_before} -> {n_after} ({n_before / n_after:.1f}x smaller)\n")
    print(after)


if __name__ == "__main__":
    main()
