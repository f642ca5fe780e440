"""The layout the README's code map promises: every module on a floor, imports only downwards and
never in a circle (lazy and ``TYPE_CHECKING`` imports included), a small top level, short modules
(the core and the benchmark harness), a short ``compress``, pure stages, only the CLI prints."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "semtoken_rag"
MAX_LINES = 400
MAX_TOP_LEVEL = 12
MAX_COMPRESS_LINES = 50


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, source: str | None = None) -> set[str]:
    """Modules a file imports anywhere in it (inside functions and ``if TYPE_CHECKING:`` too),
    relative imports resolved: ``from X import a`` counts ``X.a`` when that is a module, and
    ``X`` unless every name it takes is a submodule (``from . import store``)."""
    known = {module_name(p) for p in modules()}
    tree = ast.parse(path.read_text("utf-8") if source is None else source)
    parts = path.relative_to(ROOT).with_suffix("").parts
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(parts[: len(parts) - node.level]) if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            subs = {f"{module}.{a.name}" for a in node.names}
            out |= subs & known
            if not subs <= known:
                out.add(module)
    return out


def graph() -> dict[str, set[str]]:
    """The import graph of ``semtoken_rag``: module -> the package's modules it imports."""
    names = {module_name(p): p for p in modules()}
    return {n: {m for m in imported(p) if m in names and m != n} for n, p in names.items()}


def code_map() -> dict[str, int]:
    """Floor of each module and package the README's code map names (``semtoken_rag.x``)."""
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("Where things live, floor by floor", 1)[1].split("```", 2)[1]
    floors: dict[str, int] = {}
    floor, package = -1, ""
    lines = block.splitlines()
    for line in lines[lines.index("semtoken_rag/") + 1 :]:
        if m := re.match(r"floor (\d+)", line):
            floor = int(m.group(1))
        rest = line[9:]
        if rest[:1].strip():  # a new entry: a package or top-level modules
            m = re.match(r"([a-z_]+)/", rest)
            package = m.group(1) if m else ""
            if package:
                floors[f"semtoken_rag.{package}"] = floor
        for name in re.findall(r"(?<![\w/.])([a-z_]+)\.py\b", rest):
            dotted = f"semtoken_rag.{package}.{name}" if package else f"semtoken_rag.{name}"
            floors[dotted.removesuffix(".__init__")] = floor
    floors["semtoken_rag"] = floors.pop("semtoken_rag.__init__", floors.get("semtoken_rag", -1))
    return floors


def floor_of(module: str, floors: dict[str, int]) -> int:
    """A module's floor: its own, else its package's."""
    while module not in floors:
        module = module.rsplit(".", 1)[0]
    return floors[module]


def test_the_code_map_names_every_module_and_only_modules_that_exist() -> None:
    floors = code_map()
    named_files = {n for n in floors if n.count(".") >= 1 or n == "semtoken_rag"}
    existing = {module_name(p) for p in modules()}
    packages = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert not named_files - existing, (
        f"the code map names missing modules: {named_files - existing}"
    )
    unnamed = {n for n in existing - packages if n not in floors and not n.endswith(".__main__")}
    assert not unnamed, f"the code map does not name: {sorted(unnamed)}"


def test_no_module_imports_one_on_a_higher_floor() -> None:
    floors = code_map()
    upward = [
        f"{a} (floor {floor_of(a, floors)}) imports {b} (floor {floor_of(b, floors)})"
        for a, deps in graph().items()
        for b in deps
        if floor_of(b, floors) > floor_of(a, floors)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle_counting_lazy_and_type_checking_imports() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                circle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_import_graph_sees_lazy_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..compressor import SemTokenCompressor\n"
        "def f():\n    from ..warm import warm_cache\n"
        "from . import turns\n"
    )
    found = imported(PACKAGE / "chat" / "history.py", source)
    assert {"semtoken_rag.compressor", "semtoken_rag.warm", "semtoken_rag.chat.turns"} <= found
    assert "semtoken_rag.chat" not in found  # `from . import turns` takes only the submodule


def test_the_top_level_holds_few_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def test_no_module_of_the_core_or_the_benchmark_harness_is_longer_than_the_limit() -> None:
    files = [*modules(), *(ROOT / "benchmarks").rglob("*.py")]
    long = {
        str(p.relative_to(ROOT)): n
        for p in files
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by stage: {long}"


def test_compress_reads_one_line_per_stage() -> None:
    tree = ast.parse((PACKAGE / "compressor.py").read_text("utf-8"))
    (fn,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "compress"]
    lines = fn.end_lineno - fn.lineno + 1  # type: ignore[operator]
    assert lines <= MAX_COMPRESS_LINES, f"compress is {lines} lines (docstring included)"


def test_pipeline_stages_never_touch_the_cache_the_encoders_or_stdout() -> None:
    for path in (PACKAGE / "pipeline").glob("*.py"):
        names = imported(path)
        assert not any(n.startswith("semtoken_rag.cache") for n in names), path.name
        assert not any(n.startswith("semtoken_rag.encoders") for n in names), path.name
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


def test_one_fake_encoder_in_the_tree() -> None:
    # the bag-of-words fake lives in semtoken_rag/testing.py; tests everywhere import it
    fakes = [
        str(p.relative_to(ROOT))
        for folder in ("tests", "integrations", "benchmarks", "semtoken_rag")
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"zlib\.crc32\(.*\) % dim", p.read_text("utf-8"))
    ]
    assert fakes == ["semtoken_rag/testing.py"], fakes


def test_no_two_files_of_the_benchmarks_share_a_name() -> None:
    names = [
        p.name
        for p in (ROOT / "benchmarks").rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    ]
    assert sorted(names) == sorted(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_the_benchmarks_readme_lists_every_module() -> None:
    readme = (ROOT / "benchmarks" / "README.md").read_text("utf-8")
    missing = [
        str(p.relative_to(ROOT / "benchmarks"))
        for p in (ROOT / "benchmarks").rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
        and f"`{p.name}`" not in readme
        and f"`{p.stem}`" not in readme
    ]
    assert not missing, f"benchmarks/README.md does not list {missing}"
