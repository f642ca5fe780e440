"""What a cache's namespace says, for errors: which settings differ between the fingerprints a
cache holds and the compressor asking for them (encoder, token counter, granularity,
``max_span_tokens``, window; :func:`~semtoken_rag.pipeline.fingerprint.namespace`)."""

from __future__ import annotations

import json
from typing import Any


def settings_mismatch(
    held: str, wanted: str, held_as: str = "cache", wanted_as: str = "compressor"
) -> str:
    """Each setting that differs between two namespaces with both values, then both settings in
    full (a namespace that is not the JSON of settings is shown as it is).

    Example:
        >>> a = '{"encoder": "st:a", "window": 440}'
        >>> settings_mismatch(a, '{"encoder": "st:a", "window": 0}')[:53]
        'window: 440 (cache) vs 0 (compressor); cache settings'
    """
    a, b = _settings(held), _settings(wanted)
    if a is None or b is None:
        return f"{held_as} settings {held[:300]!r}; {wanted_as} settings {wanted[:300]!r}"
    diff = [
        f"{k}: {a.get(k)!r} ({held_as}) vs {b.get(k)!r} ({wanted_as})"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
    return f"{'; '.join(diff)}; {held_as} settings: {_full(a)}; {wanted_as} settings: {_full(b)}"


def refuse_other(held: str | None, wanted: str, where: str) -> None:
    """Raise ``ValueError`` when a cache at ``where`` holding ``held`` is asked for ``wanted``.

    Example:
        >>> refuse_other('{"encoder": "st:a"}', '{"encoder": "st:b"}', "'fp'")
        Traceback (most recent call last):
        ...
        ValueError: fingerprint cache 'fp' holds fingerprints of other settings: encoder: ...
    """
    if held is not None and held != wanted:
        raise ValueError(
            f"fingerprint cache {where} holds fingerprints of other settings: "
            f"{settings_mismatch(held, wanted)}"
        )


def _settings(namespace: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(namespace)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _full(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={settings[k]!r}" for k in sorted(settings))
