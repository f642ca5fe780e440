"""The public names of the core, pinned: removing or renaming one is a breaking change."""

from __future__ import annotations

import semtoken_rag


def test_all_is_pinned() -> None:
    assert sorted(semtoken_rag.__all__) == sorted(
        [
            "CompressionResult",
            "Document",
            "FingerprintCache",
            "SemToken",
            "SemTokenCompressor",
            "SemTokenConfig",
            "Span",
            "__version__",
            "compress_history",
            "warm_cache",
        ]
    )
    for name in semtoken_rag.__all__:
        assert hasattr(semtoken_rag, name), name
