from __future__ import annotations

import pytest

from semtoken_rag import SemTokenConfig


def test_seed_defaults() -> None:
    c = SemTokenConfig()
    assert (c.compression_ratio, c.entropy_threshold, c.context_window) == (0.5, 0.5, 5)
    assert (c.min_cluster_size, c.max_cluster_size, c.batch_size, c.cache_embeddings) == (
        2,
        10,
        32,
        True,
    )
    assert c.encoder_model == "sentence-transformers/all-MiniLM-L6-v2"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("compression_ratio", 0, ValueError),
        ("compression_ratio", 1.2, ValueError),
        ("compression_ratio", float("nan"), ValueError),
        ("compression_ratio", "0.5", TypeError),
        ("similarity_threshold", -0.1, ValueError),
        ("context_window", -1, ValueError),
        ("context_window", 1.5, TypeError),
        ("batch_size", 0, ValueError),
        ("clustering", "kmeans", ValueError),
        ("granularity", "word", ValueError),
        ("fusion", "magic", ValueError),
        ("use_entropy", "yes", TypeError),
        ("encoder_model", "", ValueError),
        ("max_input_tokens", 0, ValueError),
    ],
)
def test_validation_names_the_field(field: str, value: object, error: type) -> None:
    with pytest.raises(error, match=field):
        SemTokenConfig(**{field: value})


def test_min_max_cluster_size() -> None:
    with pytest.raises(ValueError, match="max_cluster_size"):
        SemTokenConfig(min_cluster_size=5, max_cluster_size=2)


def test_presets_and_replace() -> None:
    assert SemTokenConfig.conservative().compression_ratio == 0.75
    assert SemTokenConfig.aggressive(compression_ratio=0.1).compression_ratio == 0.1
    c = SemTokenConfig().replace(context_window=0)
    assert c.context_window == 0
    with pytest.raises(ValueError):
        SemTokenConfig().replace(batch_size=-1)
    assert SemTokenConfig().to_dict()["clustering"] == "greedy"


@pytest.mark.parametrize(
    "weights",
    [
        (-5.0, 0.6, 3.8, 1.4, 3.1, 0.7, -1.5),  # the weights before the document-count prior
        (-5.0, 0.6, 3.8, 1.4, 3.1, 0.7, -1.5, float("nan")),
        [-5.0, 0.6, 3.8, 1.4, 3.1, 0.7, -1.5, -0.75],
    ],
)
def test_calibration_weights_are_checked(weights: object) -> None:
    from semtoken_rag.config import CALIBRATION_FEATURES, Tuning

    assert CALIBRATION_FEATURES[-1] == "documents"
    assert len(Tuning().calibration) == len(CALIBRATION_FEATURES) + 1
    with pytest.raises(ValueError, match="tuning.calibration"):
        Tuning(calibration=weights)  # type: ignore[arg-type]
