"""The README's code, run exactly as printed: each block is read from README.md at test time (so
the two cannot drift), its placeholders (``documents``, ``llm``) filled by fixtures."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the README section whose heading starts with ``heading`` (up to
    the next heading of any level)."""
    text = README.read_text(encoding="utf-8")
    sections = re.split(r"^#{2,3} ", text, flags=re.MULTILINE)
    found = [s for s in sections if s.startswith(heading)]
    assert len(found) == 1, f"README has {len(found)} sections starting with {heading!r}"
    blocks = re.findall(r"^```python\n(.*?)^```", found[0], flags=re.MULTILINE | re.DOTALL)
    assert blocks, f"no python block under {heading!r}"
    return blocks


def run_block(code: str, **names: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme", **names}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def demo_passages() -> list[dict[str, str]]:
    """The bundled demo's 8 Wikipedia passages: realistic distractors (about 1,000 tokens)."""
    path = resources.files("semtoken_rag") / "data" / "demo.json"
    return json.loads(path.read_text("utf-8"))["documents"]


def test_block_reader_finds_each_section() -> None:
    assert len(python_blocks("Use it")) == 2  # the example, then min_relevance on its result
    assert "SemTokenEmbeddings" in python_blocks("LangChain")[0]
    assert "as_query_engine" in python_blocks("LlamaIndex")[0]


@pytest.mark.slow
def test_use_it(capsys) -> None:
    code, relevant = python_blocks("Use it")
    ns = run_block(code)
    result = ns["result"]
    budget = int(re.search(r"budget=(\d+)", code)[1])  # type: ignore[index]
    stated = re.search(r"at most (\d+) of (\d+)", code)
    assert stated, "the block states what it keeps"
    assert result.original_tokens == int(stated[2]) and budget == int(stated[1])
    assert 0 < result.kept_tokens <= budget < result.original_tokens  # something is compressed
    assert "Röntgen" in result.documents()[0]
    assert capsys.readouterr().out  # it prints what it shows
    # the min_relevance line, run on the same names: only what is relevant, the answer kept
    exec(compile(relevant, str(README), "exec"), ns)
    floor = float(re.search(r"min_relevance=([0-9.]+)", relevant)[1])  # type: ignore[index]
    kept = ns["result"]
    assert "Röntgen" in kept.documents()[0] and all(s.score >= floor for s in kept.spans)
    assert "Paris" not in kept.text  # the off-topic document scores below the floor


@pytest.mark.slow
def test_use_it_with_the_ratio_it_names_keeps_the_answer(capsys) -> None:
    # issue 24: with ratio=0.25 (17 tokens) the 23-token answer sentence does not fit; its best
    # piece is kept before any lower-ranked whole sentence ("He gave the prize money to his
    # university." and "Paris is the capital of France." were kept instead)
    code = python_blocks("Use it")[0]
    assert "# or ratio=0.25" in code
    code = re.sub(r"budget=\d+,", "ratio=0.25,", code)
    result = run_block(code)["result"]
    assert result.kept_tokens <= result.budget == 17
    assert "Röntgen" in result.documents()[0] and "Paris" not in result.documents()[1]


@pytest.mark.slow
def test_langchain_snippet() -> None:
    from langchain_core.documents import Document

    documents = [
        Document(
            "Python is a programming language. It was created by Guido van Rossum and first "
            "released in 1991. Python emphasises code readability.",
            id="python",
            metadata={"title": "Python"},
        ),
        *(
            Document(d["text"], id=f"wiki{i}", metadata={"title": d["title"]})
            for i, d in enumerate(demo_passages())
        ),
    ]
    (code,) = python_blocks("LangChain")
    ns = run_block(code, documents=documents)
    docs = ns["docs"]
    core = ns["compressor"].core
    assert ns["embeddings"]._encoder is core.encoder  # one model for retrieval and compression
    assert sum(core.count_tokens(d.page_content) for d in docs) <= 512
    assert sum(core.count_tokens(d.page_content) for d in documents) > 512  # it had to compress
    assert "Guido van Rossum" in " ".join(d.page_content for d in docs)
    assert all(
        d.metadata["relevance_score"] == d.metadata["semtoken"]["relevance_score"] for d in docs
    )


@pytest.mark.slow
def test_llamaindex_snippet(capsys) -> None:
    from llama_index.core import Document
    from llama_index.core.llms import MockLLM

    documents = [
        Document(
            text="Wilhelm Röntgen discovered X-rays in 1895 while experimenting with cathode "
            "tubes. He called them X-rays because their nature was unknown.",
            metadata={"title": "Wilhelm Röntgen"},
        ),
        *(Document(text=d["text"], metadata={"title": d["title"]}) for d in demo_passages()),
    ]
    (code,) = python_blocks("LlamaIndex")
    ns = run_block(code, documents=documents, llm=MockLLM())
    sources = ns["response"].source_nodes
    core = ns["semtoken"].compressor
    assert ns["embed"]._encoder is core.encoder
    kept = [s.node.get_content() for s in sources]
    assert sum(core.count_tokens(t) for t in kept) <= 256
    assert sum(core.count_tokens(d.text) for d in documents) > 256
    assert any("Röntgen" in t for t in kept)
    out = capsys.readouterr().out
    assert out.count("\n") == len(sources) and "'start'" in out


def bash_blocks(heading: str) -> list[str]:
    """The ```bash blocks of the README section whose heading starts with ``heading``."""
    text = README.read_text(encoding="utf-8")
    found = [s for s in re.split(r"^#{2,3} ", text, flags=re.MULTILINE) if s.startswith(heading)]
    assert len(found) == 1, f"README has {len(found)} sections starting with {heading!r}"
    return re.findall(r"^```bash\n(.*?)^```", found[0], flags=re.MULTILINE | re.DOTALL)


def test_install_blocks_start_with_the_cpu_torch_line() -> None:
    """Issue 26: the printed install lines pulled CUDA torch (a 6.3 GB venv, 15 nvidia-* wheels);
    every block that installs with pip starts with CPU-only torch at the constraints' version, and
    the text says what skipping it costs."""
    pin = re.search(r"^torch==(\S+)$", (README.parent / "constraints-cpu.txt").read_text(), re.M)
    assert pin
    cpu = f"pip install torch=={pin[1]} --index-url https://download.pytorch.org/whl/cpu"
    blocks = [b for b in bash_blocks("Install") + bash_blocks("Quickstart") if "pip install" in b]
    assert len(blocks) == 2
    for block in blocks:
        assert block.splitlines()[0].startswith(cpu), block.splitlines()[0]
    install = README.read_text(encoding="utf-8").split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "6.3 GB" in install and "15\n  `nvidia-*` wheels" in install
