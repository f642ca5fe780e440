"""semtoken-rag in a LlamaIndex query engine: the LLM gets only the spans that answer the query.

Runs offline: the index embeds with the bundled MiniLM (``SemTokenEmbedding``) and ``MockLLM``
stands in for your LLM. An instrumentation event handler records the exact prompt the LLM
received, with and without the postprocessor.

    pip install -e . -e integrations/llama-index
    python examples/llamaindex_query_engine.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from typing import Any  # noqa: E402

from llama_index.core import Document, VectorStoreIndex  # noqa: E402
from llama_index.core.bridge.pydantic import Field  # noqa: E402
from llama_index.core.instrumentation import get_dispatcher  # noqa: E402
from llama_index.core.instrumentation.event_handlers import BaseEventHandler  # noqa: E402
from llama_index.core.instrumentation.events.llm import LLMCompletionStartEvent  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.postprocessor.semtoken import (  # noqa: E402
    SemTokenEmbedding,
    SemTokenNodePostprocessor,
)

DOCUMENTS = [
    Document(
        text="Wilhelm Röntgen discovered X-rays in 1895 while experimenting with cathode tubes. "
        "He called them X-rays because their nature was unknown. In 1901 he received the first "
        "Nobel Prize in Physics. He donated the prize money to his university.",
        metadata={"title": "Wilhelm Röntgen"},
    ),
    Document(
        text="Marie Curie was the first woman to win a Nobel Prize. She shared the 1903 Nobel "
        "Prize in Physics for research on radiation. In 1911 she won a second Nobel Prize, in "
        "Chemistry, for discovering polonium and radium.",
        metadata={"title": "Marie Curie"},
    ),
    Document(
        text="The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 "
        "metres tall. It was the tallest man-made structure in the world for 41 years.",
        metadata={"title": "Eiffel Tower"},
    ),
    Document(
        text="Medical imaging began with radiography. Doctors soon used X-rays to find bullets "
        "and broken bones. Computed tomography, developed in the 1970s, combines many X-ray "
        "images into cross-sections of the body.",
        metadata={"title": "Medical imaging"},
    ),
]

QUERY = "Who discovered X-rays, and when?"
BUDGET = 48


class PromptRecorder(BaseEventHandler):
    """Remembers every prompt sent to an LLM (LlamaIndex instrumentation)."""

    prompts: list[str] = Field(default_factory=list)

    def handle(self, event: Any, **kwargs: Any) -> None:
        if isinstance(event, LLMCompletionStartEvent):
            self.prompts.append(event.prompt)


def ask(index: VectorStoreIndex, postprocessors: list[Any]) -> tuple[str, list[Any]]:
    """Run ``QUERY`` through a query engine; return the prompt the LLM got and the source nodes."""
    recorder = PromptRecorder()
    get_dispatcher().add_event_handler(recorder)
    engine = index.as_query_engine(
        similarity_top_k=4, node_postprocessors=postprocessors, llm=MockLLM(max_tokens=8)
    )
    response = engine.query(QUERY)
    get_dispatcher().event_handlers.remove(recorder)
    return recorder.prompts[-1], response.source_nodes


def main() -> dict[str, int]:
    """Compare the prompt with and without the postprocessor; return their token counts."""
    semtoken = SemTokenNodePostprocessor(max_tokens=BUDGET)
    embed_model = SemTokenEmbedding(compressor=semtoken.compressor)  # one model for both
    index = VectorStoreIndex.from_documents(DOCUMENTS, embed_model=embed_model)
    count = semtoken.compressor.count_tokens

    full_prompt, _ = ask(index, [])
    prompt, sources = ask(index, [semtoken])

    print(f"query: {QUERY}\n")
    for source in sources:
        info = source.node.metadata["semtoken"]
        print(
            f"[{source.score:.2f}] {source.node.metadata['title']}: "
            f"{info['original_tokens']} -> {info['kept_tokens']} tokens, spans {info['spans']}\n"
            f"    {source.node.get_content()}"
        )
    kept = sum(count(s.node.get_content()) for s in sources)
    numbers = {
        "prompt_tokens_without": count(full_prompt),
        "prompt_tokens_with": count(prompt),
        "context_tokens_kept": kept,
        "budget": BUDGET,
    }
    print(
        f"\nprompt sent to the LLM ({numbers['prompt_tokens_with']} tokens, "
        f"{numbers['prompt_tokens_without']} without semtoken):\n{prompt}"
    )
    return numbers


if __name__ == "__main__":
    main()
