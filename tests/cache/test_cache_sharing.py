"""One cache folder written at ingestion and read by several compressors and processes at query
time: a read-only cache of other settings raises, naming both settings, instead of missing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.cache.settings import settings_mismatch
from semtoken_rag.encoders import CallableEncoder
from semtoken_rag.testing import PARIS, PYTHON, SAMPLE_QUERY, XRAYS, bag_of_words

DOCS = [(XRAYS, {}), (PARIS, {"title": "Paris"}), (PYTHON, {})]
QUERY = SAMPLE_QUERY


def bow16(texts: list[str]) -> np.ndarray:
    return bag_of_words(texts, dim=16)


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def ingested(tmp_path: Path) -> Path:
    """A cache folder written at ingestion by the default settings over ``bow``."""
    path = tmp_path / "fp"
    core = SemTokenCompressor(
        encoder=CallableEncoder(bag_of_words, name="bow"), cache=FingerprintCache(path)
    )
    assert core.warm(DOCS) == len(DOCS)
    core.cache.save()  # type: ignore[union-attr]
    return path


def reader(path: Path, config: SemTokenConfig | None = None, **kw) -> SemTokenCompressor:
    kw.setdefault("encoder", CallableEncoder(bag_of_words, name="bow"))
    return SemTokenCompressor(config, cache=FingerprintCache(path, read_only=True), **kw)


@pytest.mark.parametrize(
    ("config", "kw", "differs"),
    [
        (
            SemTokenConfig(granularity="sentence"),
            {},
            "granularity: 'adaptive' (cache) vs 'sentence'",
        ),
        (SemTokenConfig(context_window=0), {}, "window: 440 (cache) vs 0 (compressor)"),
        (SemTokenConfig(max_span_tokens=20), {}, "max_span_tokens: 40 (cache) vs 20 (compressor)"),
        (None, {"encoder": CallableEncoder(bow16, name="bow16")}, "encoder: 'callable:bow:32:"),
        (None, {"token_counter": words}, "counter: 'tiktoken:cl100k_base' (cache) vs 'callable:"),
    ],
)
def test_read_only_cache_of_other_settings_raises_naming_both(ingested, config, kw, differs):
    query = reader(ingested, config, **kw)
    with pytest.raises(ValueError, match="other settings") as e:
        query.compress(QUERY, DOCS, budget=12)
    message = str(e.value)
    assert str(ingested) in message and differs in message
    for setting in ("encoder=", "counter=", "granularity=", "max_span_tokens=", "window="):
        assert message.count(setting) == 2  # the cache's value and the compressor's
    assert len(query.cache) == len(DOCS)  # type: ignore[arg-type]  # never reset
    same = SemTokenCompressor(encoder=CallableEncoder(bag_of_words, name="bow"), cache=query.cache)
    same.compress(QUERY, DOCS, budget=12)  # the settings it was written with still hit
    assert query.cache.misses == 0  # type: ignore[union-attr]


def test_a_writable_cache_of_other_settings_still_warns_and_starts_empty(ingested, caplog):
    cache = FingerprintCache(ingested)
    other = SemTokenCompressor(
        SemTokenConfig(granularity="sentence"), encoder=bag_of_words, cache=cache
    )
    with caplog.at_level(logging.WARNING):
        other.compress(QUERY, DOCS, budget=12)
    assert "other settings" in caplog.text and len(cache) == len(DOCS)  # its own, recomputed
    with pytest.raises(ValueError, match="other settings"):
        cache.save()  # the folder is not replaced without force=True


def test_settings_mismatch_of_namespaces_that_are_not_json() -> None:
    assert settings_mismatch("A", "B") == "cache settings 'A'; compressor settings 'B'"


def test_one_folder_serves_several_compressors_and_processes(ingested, tmp_path):
    readers = [reader(ingested) for _ in range(2)]  # two services in one process
    for r in readers:
        r.compress(QUERY, DOCS, budget=12)
        assert (r.cache.hits, r.cache.misses) == (len(DOCS), 0)  # type: ignore[union-attr]
    tests = Path(__file__).resolve().parent
    code = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(tests)!r})
        from semtoken_rag.testing import bag_of_words as bow
        from semtoken_rag import FingerprintCache, SemTokenCompressor
        from semtoken_rag.encoders import CallableEncoder
        docs = json.loads(sys.argv[1])
        cache = FingerprintCache({str(ingested)!r}, read_only=True)
        core = SemTokenCompressor(encoder=CallableEncoder(bow, name="bow"), cache=cache)
        core.compress({QUERY!r}, [tuple(d) for d in docs], budget=12)
        print(json.dumps([cache.hits, cache.misses]))
        """
    )
    before = sorted(os.listdir(ingested))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(DOCS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1]) == [len(DOCS), 0]
    assert sorted(os.listdir(ingested)) == before  # nothing written by the readers


def test_a_cache_too_small_for_the_saved_spans_warns_with_the_size_needed(ingested, caplog):
    spans = FingerprintCache(ingested, read_only=True).stats()["entries"]
    with caplog.at_level(logging.WARNING):
        small = FingerprintCache(ingested, read_only=True, max_entries=2)
    assert len(small) < len(DOCS)
    assert f"{spans} spans > max_entries, evicting on load" in caplog.text
