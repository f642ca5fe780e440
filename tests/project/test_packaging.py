"""The three distributions as built: LICENSE inside every wheel and sdist, SPDX licence metadata,
dependency bounds, the llamahub table. ``.ci/wheels`` runs this file on the files it built
(``SEMTOKEN_DIST``); otherwise the distributions are built here (``python -m build``, ~3 s)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LICENSE = (ROOT / "LICENSE").read_bytes()
IMPORT = re.compile(r"^\s*(?:from|import) ([A-Za-z0-9_]+)", re.M)
PACKAGES = {  # source folder -> distribution file stem
    ".": "semtoken_rag",
    "integrations/langchain": "langchain_semtoken",
    "integrations/llama-index": "llama_index_postprocessor_semtoken",
}

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("SEMTOKEN_DIST")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    for folder in PACKAGES:
        done = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), folder],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def one(dist: Path, pattern: str) -> Path:
    (found,) = sorted(dist.glob(pattern))
    return found


def metadata(wheel: Path) -> tuple[dict[str, str], list[str]]:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        msg = Parser().parsestr(z.read(name).decode("utf-8"))
    return dict(msg.items()), msg.get_all("Requires-Dist") or []


def runtime(requires: list[str]) -> dict[str, str]:
    """Runtime requirements (no extras) as {name: specifier}."""
    out = {}
    for r in requires:
        if "extra ==" in r:
            continue
        name, spec = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", r).groups()  # type: ignore[union-attr]
        out[name.lower()] = spec
    return out


@pytest.mark.parametrize("stem", sorted(PACKAGES.values()))
def test_license_inside_every_wheel_and_sdist(dist: Path, stem: str) -> None:
    wheel = one(dist, f"{stem}-*.whl")
    with zipfile.ZipFile(wheel) as z:  # what `unzip -l` lists
        licenses = [n for n in z.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert len(licenses) == 1, z.namelist()
        assert z.read(licenses[0]) == LICENSE
    sdist = one(dist, f"{stem}-*.tar.gz")
    with tarfile.open(sdist) as t:
        (member,) = [
            m for m in t.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE")
        ]
        assert t.extractfile(member).read() == LICENSE  # type: ignore[union-attr]
    meta, _ = metadata(wheel)
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert not any(v.startswith("License ::") for k, v in meta.items() if k == "Classifier")


def test_adapter_license_files_are_the_repositorys() -> None:
    for folder in ("integrations/langchain", "integrations/llama-index"):
        assert (ROOT / folder / "LICENSE").read_bytes() == LICENSE, folder


def test_framework_dependencies_have_upper_bounds(dist: Path) -> None:
    _, lc = metadata(one(dist, "langchain_semtoken-*.whl"))
    _, li = metadata(one(dist, "llama_index_postprocessor_semtoken-*.whl"))
    _, core = metadata(one(dist, "semtoken_rag-*.whl"))
    assert "<2" in runtime(lc)["langchain-core"]
    assert "<0.15" in runtime(li)["llama-index-core"]
    ray = [r for r in core if r.startswith("ray[data]")]
    assert ray and all("<3" in r for r in ray)
    for name in ("langchain-core", "llama-index-core"):  # the core's own extras too
        pinned = [r for r in core if r.startswith(name)]
        assert pinned and all("<" in r.split(";")[0] for r in pinned), pinned


def test_every_third_party_import_of_the_core_is_declared(dist: Path) -> None:
    _, core = metadata(one(dist, "semtoken_rag-*.whl"))
    declared = set(runtime(core))
    optional = {"ray", "pyarrow", "transformers", "onnxruntime"}  # extras; transformers via s-t
    modules = {"faiss": "faiss-cpu", "sentence_transformers": "sentence-transformers"}
    for path in (ROOT / "semtoken_rag").rglob("*.py"):
        for top in IMPORT.findall(path.read_text("utf-8")):
            if top in sys.stdlib_module_names or top in optional or top == "semtoken_rag":
                continue
            dist_name = modules.get(top, top.replace("_", "-"))
            assert dist_name in declared, f"{path.name} imports {top}, not declared"


def test_llamahub_table_names_every_public_class() -> None:
    import inspect

    import llama_index.postprocessor.semtoken as package

    conf = tomllib.loads((ROOT / "integrations/llama-index/pyproject.toml").read_text("utf-8"))
    hub = conf["tool"]["llamahub"]
    assert hub["import_path"] == "llama_index.postprocessor.semtoken"
    classes = {n for n in package.__all__ if inspect.isclass(getattr(package, n))}
    assert set(hub["class_authors"]) == classes
    for folder in ("integrations/langchain", "integrations/llama-index"):
        groups = tomllib.loads((ROOT / folder / "pyproject.toml").read_text("utf-8"))
        assert "dev" in groups["dependency-groups"], folder
