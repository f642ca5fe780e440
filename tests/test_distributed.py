"""Ray Data: warm_dataset / compress_dataset on a local cluster (started once for the module)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor
from semtoken_rag.encoders import CallableEncoder
from semtoken_rag.testing import bag_of_words

# Ray's deprecated call forms (``**ray_remote_args``, ``concurrency=``) warn from our call site:
# make any such warning a failure, so the API used stays the one Ray documents now.
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:semtoken_rag")

HERE = Path(__file__).resolve().parent
DEMO = json.loads((HERE.parent / "semtoken_rag" / "data" / "demo.json").read_text("utf-8"))
QUERIES = ["who got the first nobel prize in physics", "when was the award given", "", "Eton?"]


class DieOnce:
    """``bag_of_words``, but the process exits the first time it sees ``trigger`` (a marker file
    records that it happened, so the restarted actor's retry succeeds)."""

    def __init__(self, marker: str, trigger: str) -> None:
        self.marker, self.trigger = marker, trigger

    def __call__(self, texts: list[str]) -> np.ndarray:
        if any(self.trigger in t for t in texts) and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return bag_of_words(texts)


def encoder() -> CallableEncoder:
    return CallableEncoder(bag_of_words, name="bow")


def records() -> list[dict[str, str]]:
    """~25 documents of 2 sentences from the bundled demo data, one duplicate, one blank."""
    out = []
    for d in DEMO["documents"]:
        sentences = [s.strip() + "." for s in d["text"].split(". ") if s.strip()]
        for k in range(0, len(sentences), 2):
            out.append({"text": " ".join(sentences[k : k + 2]), "title": d["title"]})
    out = out[:40]
    return [*out, dict(out[3]), {"text": "  ", "title": ""}]


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    path = os.pathsep.join([str(HERE), *(p for p in sys.path if p)])
    env = {"PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["TOKENIZERS_PARALLELISM"] = "false"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=150 * 2**20,
        runtime_env={"env_vars": env},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def dataset(ray, rows: list[dict], blocks: int = 4):
    return ray.data.from_items(rows, override_num_blocks=blocks)


def single_process_cache(rows: list[dict], enc=None) -> FingerprintCache:
    c = SemTokenCompressor(encoder=enc or encoder(), cache=FingerprintCache())
    c.warm([(r["text"], {"title": r["title"]} if r["title"] else {}) for r in rows])
    return c.cache  # type: ignore[return-value]


def assert_same_cache(got: FingerprintCache, want: FingerprintCache) -> None:
    assert sorted(got.keys()) == sorted(want.keys())
    assert got.namespace == want.namespace
    keys = want.keys()  # FingerprintCache is not iterable
    for key in keys:
        a, b = got.get(key), want.get(key)
        assert a is not None and b is not None
        for name in ("starts", "ends", "sentence", "tokens"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        for name in ("vectors", "entropies", "doc_vector"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-6)


def test_missing_ray_names_an_extra_that_exists(monkeypatch):
    from semtoken_rag import distributed

    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(ImportError, match=r"pip install 'semtoken-rag\[ray\]'"):
        distributed.warm_dataset(None, "unused")
    with pytest.raises(ImportError, match=r"semtoken-rag\[ray\]"):
        distributed.compress_dataset(None, "q", "docs", budget=10)
    import tomllib

    pyproject = tomllib.loads((HERE.parent / "pyproject.toml").read_text("utf-8"))
    assert "ray" in pyproject["project"]["optional-dependencies"]


def test_warm_dataset_equals_single_process_and_shards_round_trip(cluster, tmp_path):
    from semtoken_rag.distributed import merge_shards, warm_dataset

    rows = records()
    want = single_process_cache(rows)
    path = tmp_path / "cache"
    counts = warm_dataset(
        dataset(cluster, rows),
        path,
        title_column="title",
        encoder=encoder(),
        batch_size=6,
        concurrency=2,
        keep_shards=True,
    )
    assert counts["documents"] == len(rows) - 1  # the blank row is skipped
    assert counts["cache_documents"] == len(want) == len(rows) - 2  # the duplicate is kept once
    assert counts["tokens"] > 0 and counts["tokens_per_second"] > 0
    assert_same_cache(FingerprintCache(path, read_only=True), want)

    shards = sorted(p for p in (tmp_path / "cache.shards").iterdir() if p.is_dir())
    assert len(shards) == counts["shards"] >= 2
    parts = [FingerprintCache(p, read_only=True) for p in shards]
    assert sum(len(p) for p in parts) >= len(want)  # a duplicate may sit in two shards
    again = merge_shards(shards, tmp_path / "merged")
    merge_shards(shards[:2], tmp_path / "merged")  # merging a shard twice adds nothing
    assert_same_cache(FingerprintCache(tmp_path / "merged", read_only=True), want)
    assert len(again) == len(want)

    # idempotent: warming the same data again computes nothing and changes nothing
    counts = warm_dataset(dataset(cluster, rows, 2), path, title_column="title", encoder=encoder())
    assert counts["cache_documents"] == len(want)
    assert not (tmp_path / "cache.shards").exists()
    assert_same_cache(FingerprintCache(path, read_only=True), want)


def test_actor_killed_mid_job_is_retried_without_duplicates_or_gaps(cluster, tmp_path):
    from semtoken_rag.distributed import warm_dataset

    rows = records()
    marker = tmp_path / "died"
    killer = CallableEncoder(DieOnce(str(marker), rows[len(rows) // 2]["text"][:40]), name="bow")
    counts = warm_dataset(
        dataset(cluster, rows),
        tmp_path / "cache",
        title_column="title",
        encoder=killer,
        batch_size=5,
        concurrency=2,  # Ray Data's actor pools restart dead actors by default
    )
    assert marker.exists()  # an actor really died mid-batch
    want = single_process_cache(rows)
    got = FingerprintCache(tmp_path / "cache", read_only=True)
    assert len(got.keys()) == len(set(got.keys())) == len(want)
    assert_same_cache(got, want)
    assert counts["documents"] == len(rows) - 1


def compress_rows() -> list[dict]:
    docs = [r for r in records() if r["text"].strip()]
    return [
        {
            "id": k,
            "query": QUERIES[k % len(QUERIES)],
            "documents": [{"text": d["text"], "title": d["title"]} for d in docs[k : k + 5]],
        }
        for k in range(12)
    ]


def assert_rows_equal(out: list[dict], rows: list[dict], compressor, **kw) -> None:
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    for got, row in zip(out, rows):
        want = compressor.compress(row["query"] or None, row["documents"], **kw)
        assert got["compressed_documents"] == want.documents()
        assert got["compressed_text"] == want.text
        assert (got["kept_tokens"], got["original_tokens"]) == (
            want.kept_tokens,
            want.original_tokens,
        )
        spans = want.to_dict()["spans"]
        assert [(s["doc_index"], s["start"], s["end"], s["text"]) for s in got["spans"]] == [
            (s["doc_index"], s["start"], s["end"], s["text"]) for s in spans
        ]
        assert [s["score"] for s in got["spans"]] == pytest.approx(
            [s["score"] for s in spans], abs=1e-6
        )


def test_compress_dataset_equals_single_process(cluster, tmp_path):
    from semtoken_rag.distributed import compress_dataset, warm_dataset

    rows = compress_rows()
    ds = dataset(cluster, rows, 3)
    out = compress_dataset(ds, "query", "documents", budget=60, encoder=encoder(), concurrency=2)
    got = sorted(out.take_all(), key=lambda r: r["id"])
    assert_rows_equal(got, rows, SemTokenCompressor(encoder=encoder()), budget=60)

    # through a cache made by warm_dataset (loaded read-only by each actor)
    flat = [d for r in rows for d in r["documents"]]
    warm_dataset(dataset(cluster, flat, 2), tmp_path / "c", title_column="title", encoder=encoder())
    out = compress_dataset(
        ds,
        "query",
        "documents",
        ratio=0.3,
        encoder=encoder(),
        cache_path=tmp_path / "c",
        memory=64 * 2**20,  # a named remote parameter, passed through to the actors
    )
    got = sorted(out.take_all(), key=lambda r: r["id"])
    assert_rows_equal(got, rows, SemTokenCompressor(encoder=encoder()), ratio=0.3)


@pytest.mark.slow
def test_compress_dataset_with_the_real_model_equals_single_process(cluster, compressor):
    from semtoken_rag.distributed import compress_dataset

    docs = DEMO["documents"]
    rows = [
        {"id": k, "query": q, "documents": docs[k : k + 4]}
        for k, q in enumerate([DEMO["query"], "Who won the Jnanpith Award first?"])
    ]
    out = compress_dataset(dataset(cluster, rows, 1), "query", "documents", budget=80)
    got = sorted(out.take_all(), key=lambda r: r["id"])
    assert_rows_equal(got, rows, compressor, budget=80)


def test_arguments_are_checked_on_the_driver(cluster, tmp_path):
    from semtoken_rag.distributed import compress_dataset, warm_dataset

    ds = dataset(cluster, compress_rows(), 1)
    with pytest.raises(ValueError, match="documents_column"):
        compress_dataset(ds, "query", "docs", budget=10)
    with pytest.raises(ValueError, match="either budget or ratio"):
        compress_dataset(ds, "query", "documents", budget=10, ratio=0.5)
    with pytest.raises(ValueError, match="cache_path"):
        compress_dataset(ds, "query", "documents", budget=10, cache_path=tmp_path / "none")
    with pytest.raises(ValueError, match="output columns"):
        compress_dataset(ds.rename_columns({"id": "spans"}), "query", "documents", budget=10)
    with pytest.raises(ValueError, match="text_column"):
        warm_dataset(ds, tmp_path / "c")
    with pytest.raises(ValueError, match="concurrency"):
        warm_dataset(ds, tmp_path / "c", text_column="query", concurrency=0)
