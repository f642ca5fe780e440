"""The layout the README's code map promises: small modules, pure stages, only the CLI prints."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "semtoken_rag"
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Modules a file imports (relative imports resolved against the package)."""
    tree = ast.parse(path.read_text("utf-8"))
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(parts[: len(parts) - node.level]) if node.level else []
            out.add(".".join([*base, node.module] if node.module else base))
    return out


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        p.name: n for p in modules() if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by stage: {long}"


def test_pipeline_stages_never_touch_the_cache_the_encoder_or_stdout() -> None:
    for path in (PACKAGE / "pipeline").glob("*.py"):
        names = imported(path)
        assert not any(n.startswith("semtoken_rag.cache") for n in names), path.name
        assert "semtoken_rag.compressor" not in names, path.name
        assert "print(" not in path.read_text("utf-8"), path.name


def test_only_the_cli_prints() -> None:
    for path in modules():
        if PACKAGE / "cli" not in path.parents:
            tree = ast.parse(path.read_text("utf-8"))
            calls = [
                n
                for n in ast.walk(tree)
                if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"
            ]
            assert not calls, f"{path.relative_to(PACKAGE)} prints"
