"""Security (issue 8): nothing read from disk can run code, no remote code is trusted, cache files
are never followed outside the cache folder, and the integrations keep ids and metadata."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import cases

from semtoken_rag import FingerprintCache, SemTokenCompressor
from semtoken_rag.cache import store as cache_store
from semtoken_rag.encoders import TransformerEncoder
from semtoken_rag.pipeline.layout import reflow
from semtoken_rag.testing import PARIS, XRAYS, bag_of_words

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["semtoken_rag", "integrations", "benchmarks", "examples"]
DOCS = [XRAYS, PARIS]

# What may run code when a file is read, or runs a string as code.
FORBIDDEN = {
    "pickle": re.compile(r"\b(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\s*\.\s*loads?\b"),
    "import pickle": re.compile(r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|shelve)\b", re.M),
    "eval/exec": re.compile(r"(?<![\w.])(eval|exec)\s*\("),
    "torch.load": re.compile(r"\btorch\s*\.\s*load\s*\("),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "trust_remote_code": re.compile(r"trust_remote_code\s*=\s*True"),
    "yaml.load": re.compile(r"\byaml\s*\.\s*(unsafe_)?load\s*\((?![^)]*SafeLoader)"),
}


def shipped_and_tooling_sources() -> list[Path]:
    files = []
    for top in SOURCES:
        files.extend(p for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)
    return sorted(files)


def test_no_code_runs_from_files_anywhere_in_the_source_tree() -> None:
    files = shipped_and_tooling_sources()
    assert len(files) > 20
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for name, pattern in FORBIDDEN.items():
            found += [f"{path.relative_to(ROOT)}: {name}" for _ in pattern.finditer(text)]
    assert found == []


def test_every_np_load_refuses_pickles() -> None:
    for path in shipped_and_tooling_sources():
        for call in re.findall(r"np\.load\([^)]*\)", path.read_text(encoding="utf-8")):
            assert "allow_pickle=False" in call, f"{path}: {call}"


def test_the_scanner_catches_what_it_looks_for() -> None:
    bad = [
        "import pickle",
        "x = pickle.loads(b)",
        "eval('1')",
        "exec(code)",
        "torch.load(f)",
        "np.load(f, allow_pickle=True)",
        "AutoModel.from_pretrained(p, trust_remote_code=True)",
        "yaml.load(s)",
    ]
    for line in bad:
        assert any(p.search(line) for p in FORBIDDEN.values()), line
    fine = ["model.eval()", "np.load(f, allow_pickle=False)", "yaml.load(s, Loader=SafeLoader)"]
    for line in fine:
        assert not any(p.search(line) for p in FORBIDDEN.values()), line


def test_models_are_loaded_without_trust_remote_code(monkeypatch, tmp_path) -> None:
    import sentence_transformers

    seen: list[dict[str, Any]] = []

    class Spy:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.append(kwargs)

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Spy)
    for name in (str(tmp_path), "someone/remote-model"):
        TransformerEncoder(name, device="cpu").load()
    assert len(seen) == 2
    assert all(not kw.get("trust_remote_code", False) for kw in seen)


# --- cache folders: nothing followed outside the given folder ---------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "fp"
    c = SemTokenCompressor(encoder=bag_of_words, cache=FingerprintCache(path))
    c.compress("Who discovered X-rays?", DOCS, budget=30)
    c.cache.save()
    return path


def manifest(path: Path) -> dict[str, Any]:
    return json.loads((path / "manifest.json").read_text())


def reseal(path: Path, body: dict[str, Any]) -> None:
    body["checksum"] = cache_store._checksum(body)
    (path / "manifest.json").write_text(json.dumps(body))


@pytest.mark.parametrize(
    "name", ["../outside.faiss", "/etc/passwd", "..", "sub/../../x.faiss", "", "."]
)
def test_manifest_names_cannot_point_outside_the_folder(saved: Path, caplog, name: str) -> None:
    outside = saved.parent / "outside.faiss"
    outside.write_bytes((saved / manifest(saved)["files"]["index"]["name"]).read_bytes())
    body = manifest(saved)
    body["files"]["index"]["name"] = name
    reseal(saved, body)
    with caplog.at_level(logging.WARNING):
        cache = FingerprintCache(saved)
    assert len(cache) == 0 and "unreadable" in caplog.text


@pytest.mark.parametrize("role", ["index", "meta"])
def test_symlinked_data_file_pointing_outside_is_not_followed(
    saved: Path, tmp_path: Path, caplog, role: str
) -> None:
    # A second folder whose manifest is valid but whose data file is a link to another folder's.
    other = tmp_path / "other"
    other.mkdir()
    body = manifest(saved)
    for r in ("index", "meta"):
        name = body["files"][r]["name"]
        if r == role:
            os.symlink(saved / name, other / name)
        else:
            (other / name).write_bytes((saved / name).read_bytes())
    (other / "manifest.json").write_text(json.dumps(body))
    with caplog.at_level(logging.WARNING):
        cache = FingerprintCache(other)
    assert len(cache) == 0 and "link" in caplog.text


def test_symlinked_manifest_is_not_followed(saved: Path, tmp_path: Path, caplog) -> None:
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(saved / "manifest.json", other / "manifest.json")
    with caplog.at_level(logging.WARNING):
        cache = FingerprintCache(other)
    assert len(cache) == 0 and "link" in caplog.text


def test_links_planted_in_the_folder_are_never_written_through(saved: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (saved / ".lock").unlink(missing_ok=True)
    os.symlink(victim, saved / ".lock")
    cache = FingerprintCache(saved, read_only=True)  # shared lock: must not open the link
    assert len(cache) == len(DOCS)
    with pytest.raises(OSError):
        FingerprintCache(saved).save(force=True)  # exclusive lock through a link: refused
    assert victim.read_text() == "precious"


def test_writability_probe_never_follows_a_planted_link(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "fp"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for tid in range(4):  # plant links under every name the probe could predictably use
        os.symlink(victim, folder / f".probe-{os.getpid()}-{tid}")
    monkeypatch.setattr("threading.get_ident", lambda: 1)
    FingerprintCache(folder)
    assert victim.read_text() == "precious"


# --- ids and metadata survive both integrations -----------------------------------------------

scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
metadata = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in ("semtoken", "retrieval_score")),
    st.recursive(scalar, lambda c: st.lists(c, max_size=3), max_leaves=5),
    max_size=5,
)
text = st.lists(
    st.sampled_from(["Röntgen won.", "X-rays, 1895.", "Paris!", "東京。", "a b c", "\n"]),
    min_size=1,
    max_size=12,
).map(" ".join)


@cases(25)
@given(items=st.lists(st.tuples(text, metadata), min_size=1, max_size=5), budget=st.integers(1, 60))
def test_langchain_keeps_ids_and_metadata(items, budget) -> None:
    from langchain_core.documents import Document
    from langchain_semtoken import SemTokenDocumentCompressor

    docs = [Document(t, metadata=m, id=f"id-{i}") for i, (t, m) in enumerate(items)]
    before = copy.deepcopy(docs)
    lc = SemTokenDocumentCompressor(
        max_tokens=budget, compressor=SemTokenCompressor(encoder=bag_of_words)
    )
    out = lc.compress_documents(docs, "Who won in 1895?")
    assert docs == before
    by_id = {d.id: d for d in docs}
    assert [d.id for d in out] == [d.id for d in docs if d.id in {o.id for o in out}]
    for o in out:
        meta = dict(o.metadata)
        info = meta.pop("semtoken")
        assert meta.pop("relevance_score") == info["relevance_score"]  # top level, as rerankers
        assert meta == {k: v for k, v in by_id[o.id].metadata.items() if k != "relevance_score"}
        source = by_id[o.id].page_content
        for span in o.metadata["semtoken"]["spans"]:
            exact = source[span["start"] : span["end"]]
            # a wrapped paragraph's kept text is reflowed (SemTokenConfig.reflow): same words
            assert exact in o.page_content or reflow(exact) in o.page_content


@cases(25)
@given(items=st.lists(st.tuples(text, metadata), min_size=1, max_size=5), budget=st.integers(1, 60))
def test_llama_index_keeps_ids_and_metadata(items, budget) -> None:
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
    from llama_index.postprocessor.semtoken import SemTokenNodePostprocessor

    nodes = [
        NodeWithScore(node=TextNode(id_=f"node-{i}", text=t, metadata=m), score=0.5)
        for i, (t, m) in enumerate(items)
    ]
    before = [copy.deepcopy(n.model_dump()) for n in nodes]
    post = SemTokenNodePostprocessor(
        max_tokens=budget, compressor=SemTokenCompressor(encoder=bag_of_words)
    )
    out = post.postprocess_nodes(nodes, QueryBundle("Who won in 1895?"))
    assert [copy.deepcopy(n.model_dump()) for n in nodes] == before
    by_id = {n.node.node_id: n.node for n in nodes}
    order = [n.node.node_id for n in nodes]
    ids = [o.node.node_id for o in out]
    assert ids == sorted(ids, key=order.index)
    for o in out:
        if not by_id[o.node.node_id].text.strip():
            assert o in nodes  # nothing to compress: passed through as it came
            continue
        meta = dict(o.node.metadata)
        meta.pop("semtoken")
        meta.pop("retrieval_score", None)
        assert meta == by_id[o.node.node_id].metadata
