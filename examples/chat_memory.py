"""Chat memory: keep a growing conversation within a token budget.

Runs offline top to bottom: ``python examples/chat_memory.py``. ``compress_history`` keeps the
system message and the last turns verbatim and compresses older turns for the new question; each
turn keeps its role and its place. Because every turn is its own document in the fingerprint
cache, a turn is encoded once: each new call costs only the turns that are new to the
compressed part. The same works on LangChain messages (``langchain_semtoken.compress_messages``)
and LlamaIndex ``ChatMessage`` lists (``llama_index.postprocessor.semtoken.compress_chat_messages``
and ``SemTokenChatMemory`` for chat engines).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from semtoken_rag import SemTokenCompressor, compress_history  # noqa: E402

CONVERSATION = [
    ("user", "Hi! I'm planning a trip to Japan in April with my partner. We love hiking."),
    (
        "assistant",
        "April is cherry blossom season. Book hotels early. The Kumano Kodo trail "
        "is a beautiful multi-day hike.",
    ),
    ("user", "Our budget is about 3000 dollars for two weeks. My partner is vegetarian."),
    (
        "assistant",
        "That budget works with business hotels and rail passes. Look for shojin "
        "ryori, the vegetarian temple cuisine, in Kyoto and Koyasan.",
    ),
    ("user", "I also get seasick, so no ferries please. We land in Osaka."),
    (
        "assistant",
        "Noted: no ferries. From Osaka, trains reach Kyoto in 15 minutes and Kii-Tanabe, "
        "the Kumano Kodo trailhead, in about two hours.",
    ),
    ("user", "What food options will my partner have on the hike?"),
]
BUDGET = 90  # tokens of all message contents together (role labels not counted)


def main() -> None:
    compressor = SemTokenCompressor()  # share one: its cache makes earlier turns free
    count = compressor.count_tokens
    messages = [{"role": "system", "content": "You are a concise travel assistant."}]
    for role, content in CONVERSATION:
        messages.append({"role": role, "content": content})
        if role != "user":
            continue
        sent = compress_history(messages, budget=BUDGET, compressor=compressor)
        stats = compressor.cache.stats()
        before = sum(count(m["content"]) for m in messages)
        after = sum(count(m["content"]) for m in sent)
        print(
            f"turn {len(messages):>2}: {before:>3} tokens -> {after:>3} (budget {BUDGET}), "
            f"cache hits {stats['hits']}, misses {stats['misses']}"
        )

    print("\nwhat the LLM gets for the last question:")
    for m in sent:
        print(f"  {m['role']:>9}: {m['content']}")
    assert sent[0]["role"] == "system" and sent[-1] == messages[-1]
    assert sum(count(m["content"]) for m in sent) <= BUDGET


if __name__ == "__main__":
    main()
