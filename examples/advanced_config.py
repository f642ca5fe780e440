"""Advanced configuration: the conservative and aggressive presets, and the clustering choices.

Runs offline top to bottom: ``python examples/advanced_config.py``. One encoder is loaded and
shared by every compressor (``encoder=base.encoder``), so trying settings costs no reload.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from semtoken_rag import SemTokenCompressor, SemTokenConfig  # noqa: E402

QUERY = "What did Marie Curie win the Nobel Prize for?"
DOCUMENTS = [
    "Marie Curie was the first woman to win a Nobel Prize. She shared the 1903 Nobel Prize in "
    "Physics for research on radiation. In 1911 she won a second Nobel Prize, in Chemistry, for "
    "discovering polonium and radium.",
    # A near-duplicate of the first document: redundancy merging keeps such content once.
    "Marie Curie was the first woman to be awarded a Nobel Prize. In 1903 she shared the Nobel "
    "Prize in Physics for her research on radiation. She won the 1911 Nobel Prize in Chemistry "
    "for the discovery of polonium and radium.",
    "Curie was born in Warsaw in 1867. She moved to Paris in 1891 to study physics and "
    "mathematics at the Sorbonne, where she met Pierre Curie.",
    "The Eiffel Tower was completed in 1889. It was the tallest man-made structure in the "
    "world for 41 years.",
]


def main() -> None:
    base = SemTokenCompressor()  # loads the bundled MiniLM once
    configs = {
        "default": SemTokenConfig(),
        "conservative": SemTokenConfig.conservative(),  # keeps 75 %, sentence spans
        "aggressive": SemTokenConfig.aggressive(),  # keeps 25 %, clause spans, merges paraphrases
        "aggressive, 30 %": SemTokenConfig.aggressive(
            compression_ratio=0.3
        ),  # presets take overrides
    }
    for clustering in ("greedy", "agglomerative", "dbscan"):
        configs[f"clustering={clustering}"] = SemTokenConfig(clustering=clustering)
    configs["no merging (ablation)"] = SemTokenConfig(use_merging=False)

    print(f"{'config':<24} {'kept':>5} {'of':>5} {'spans':>5}  first span")
    for name, config in configs.items():
        c = SemTokenCompressor(config, encoder=base.encoder, token_counter=base.token_counter)
        r = c.compress(QUERY, DOCUMENTS)  # no budget: config.compression_ratio applies
        print(
            f"{name:<24} {r.kept_tokens:>5} {r.original_tokens:>5} {len(r.spans):>5}  "
            f"{r.spans[0].text[:50] if r.spans else ''}"
        )

    # Configs are frozen and validated: errors name the field.
    try:
        SemTokenConfig(clustering="kmeans")  # type: ignore[arg-type]
    except ValueError as e:
        print("rejected:", e)
    print("aggressive settings:", SemTokenConfig.aggressive().replace(separator=" … ").to_dict())


if __name__ == "__main__":
    main()
