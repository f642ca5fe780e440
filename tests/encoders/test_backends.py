"""Int8 encoder backends (issue 14): exported once per user and reused, a damaged export rebuilt,
int8 fingerprints that agree with fp32 on real text, batch-independent, and in their own cache
namespace."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_model import save_tiny_bert

from semtoken_rag import SemTokenCompressor, SemTokenConfig
from semtoken_rag.encoders import TransformerEncoder, export
from semtoken_rag.encoders.runtime import OnnxEncoder, OpenVINOEncoder, RuntimeEncoder
from semtoken_rag.types import Document

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

DEMO = json.loads((Path(__file__).parents[2] / "semtoken_rag/data/demo.json").read_text())
CLASSES: dict[str, type[RuntimeEncoder]] = {"onnx": OnnxEncoder}
try:
    import openvino  # noqa: F401

    CLASSES["openvino"] = OpenVINOEncoder
except ImportError:  # pragma: no cover - the test extra installs it
    pass


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer random BERT with the bundled tokenizer: exports in about a second."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def export_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export folder for the real model across this run's tests."""
    return tmp_path_factory.mktemp("exports")


@pytest.mark.parametrize("backend", sorted(CLASSES))
def test_export_is_reused_on_the_second_load(tiny_model: Path, tmp_path: Path, backend: str):
    cls = CLASSES[backend]
    before = export.exports
    first = cls(str(tiny_model), cache_dir=tmp_path)
    v1 = first.encode_query(["who wrote it?"])
    assert export.exports == before + 1
    second = cls(str(tiny_model), cache_dir=tmp_path)
    v2 = second.encode_query(["who wrote it?"])
    assert export.exports == before + 1  # reused, not exported again
    assert second.folder == first.folder and export.verify(second.folder)
    np.testing.assert_array_equal(v1, v2)


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "no manifest", "file gone"])
def test_a_corrupt_or_partial_export_is_detected_and_rebuilt(
    tiny_model: Path, tmp_path: Path, damage: str
) -> None:
    good = OnnxEncoder(str(tiny_model), cache_dir=tmp_path)
    ref = good.encode_query(["who wrote it?"])
    assert good.folder is not None
    model = good.folder / export.MODEL_FILE
    data = model.read_bytes()
    if damage == "truncated":
        model.write_bytes(data[: len(data) // 2])
    elif damage == "one byte changed":  # same size: only the digest tells
        mid = len(data) // 2
        model.write_bytes(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1 :])
    elif damage == "no manifest":
        (good.folder / export.MANIFEST).unlink()
    else:
        (good.folder / "tokenizer.json").unlink()
    assert not export.verify(good.folder)
    before = export.exports
    again = OnnxEncoder(str(tiny_model), cache_dir=tmp_path)
    np.testing.assert_array_equal(again.encode_query(["who wrote it?"]), ref)
    assert export.exports == before + 1
    assert again.folder == good.folder and export.verify(again.folder)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".stale-"))]


def test_the_export_folder_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(export.ENV_CACHE_DIR, str(tmp_path / "mine"))
    assert export.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(export.ENV_CACHE_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert export.cache_dir() == tmp_path / "xdg" / "semtoken-rag"


def test_the_export_key_changes_with_the_model_files_and_backend(tiny_model: Path, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    key = export.export_key(copy, "st:x", "onnx")
    assert key == export.export_key(copy, "st:x", "onnx")
    assert key != export.export_key(copy, "st:x", "openvino")
    assert key != export.export_key(copy, "st:y", "onnx")
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    assert key != export.export_key(copy, "st:x", "onnx")


def test_namespaces_differ_by_backend() -> None:
    spaces = {
        b: SemTokenCompressor(SemTokenConfig(backend=b)).namespace  # type: ignore[arg-type]
        for b in ("torch", "onnx", "openvino")
    }
    assert len(set(spaces.values())) == 3
    assert json.loads(spaces["onnx"])["encoder"] == "st:all-MiniLM-L6-v2+onnx-int8"
    assert json.loads(spaces["torch"])["encoder"] == "st:all-MiniLM-L6-v2"  # old caches still hit


def test_a_gpu_torch_encoder_has_its_own_identity() -> None:
    assert TransformerEncoder(device="cuda").identity == "st:all-MiniLM-L6-v2+cuda-fp16"
    assert TransformerEncoder(device="cpu").identity == "st:all-MiniLM-L6-v2"


def test_a_missing_runtime_names_an_extra_that_exists(monkeypatch, tmp_path) -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    extras = re.findall(
        r"^([a-z-]+) = \[", pyproject.split("[project.optional-dependencies]")[1], re.M
    )
    for backend, module in (("onnx", "onnxruntime"), ("openvino", "openvino")):
        monkeypatch.setitem(sys.modules, module, None)
        cls = OnnxEncoder if backend == "onnx" else OpenVINOEncoder
        with pytest.raises(ImportError, match=rf"semtoken-rag\[{backend}\]"):
            cls(cache_dir=tmp_path).load()
        assert backend in extras


def test_runtime_backends_need_a_model_name() -> None:
    with pytest.raises(TypeError, match="backend='onnx' needs the model as a name"):
        OnnxEncoder(object())  # type: ignore[arg-type]


def _demo_docs() -> list[Document]:
    return [Document(d["text"], title=d.get("title", "")) for d in DEMO["documents"]]


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(CLASSES))
def test_int8_fingerprints_agree_with_fp32_on_real_text(
    torch_compressor: SemTokenCompressor, export_root: Path, backend: str
) -> None:
    docs = _demo_docs()
    fp32 = SemTokenCompressor(encoder=torch_compressor.encoder, cache=None).fingerprints(docs)
    enc = CLASSES[backend](cache_dir=export_root)
    int8 = SemTokenCompressor(encoder=enc, cache=None).fingerprints(docs)
    cos = np.concatenate([(a.vectors * b.vectors).sum(axis=1) for a, b in zip(fp32, int8)])
    assert len(cos) > 30
    assert cos.min() >= 0.98, f"{backend}: span cosine {cos.min():.4f}"
    docs_cos = np.array([a.doc_vector @ b.doc_vector for a, b in zip(fp32, int8)])
    assert docs_cos.min() >= 0.98
    q = ["who got the first nobel prize in physics"]
    assert float(torch_compressor.encoder.encode_query(q)[0] @ enc.encode_query(q)[0]) >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(CLASSES))
def test_int8_fingerprints_do_not_depend_on_the_other_documents(
    export_root: Path, backend: str
) -> None:
    """ONNX Runtime quantises each activation tensor with one scale: in a padded batch a
    document's vectors would depend on its batch neighbours. Each sequence runs alone."""
    short = ["Guitar.", "Who discovered X-rays? Röntgen did, in 1895.", "A b c d e f g h i j k."]
    docs = [Document(t) for t in short] + _demo_docs()  # different lengths: a padded batch
    c = SemTokenCompressor(
        SemTokenConfig(cache_embeddings=False), encoder=CLASSES[backend](cache_dir=export_root)
    )
    together = c.fingerprints(docs)
    for i in range(len(docs)):
        alone = c.fingerprints([docs[i]])[0]
        np.testing.assert_array_equal(alone.vectors, together[i].vectors)
        np.testing.assert_array_equal(alone.doc_vector, together[i].doc_vector)


def test_runtime_backends_run_on_the_cpu_only() -> None:
    with pytest.raises(ValueError, match="device='cuda' needs backend='torch'"):
        SemTokenCompressor(SemTokenConfig(backend="openvino", device="cuda"))
    SemTokenCompressor(SemTokenConfig(backend="onnx", device="cpu"))
