"""A tiny random BERT saved as a sentence-transformers-loadable folder (the bundled tokenizer):
exports in about a second, and different weights for each seed."""

from __future__ import annotations

import shutil
from pathlib import Path

from semtoken_rag.encoders.loading import resolve_model_path


def save_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """Save a 1-layer, 32-wide random BERT (weights drawn from ``seed``) into ``folder``,
    replacing what a previous call saved there."""
    import torch
    from transformers import BertConfig, BertModel

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    BertModel(cfg).save_pretrained(folder)
    bundled = Path(resolve_model_path("all-MiniLM-L6-v2"))
    for name in ("tokenizer.json", "tokenizer_config.json", "sentence_bert_config.json"):
        shutil.copyfile(bundled / name, folder / name)
    return folder
