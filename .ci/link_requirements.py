"""Link the installed distributions a wheel requires (recursively) into one folder.

Usage: python .ci/link_requirements.py WHEEL FOLDER. Run with the project venv's Python: every
requirement of WHEEL (its Requires-Dist without extras, environment markers evaluated) and
theirs are looked up there and their top-level files symlinked into FOLDER, which a fresh venv
then reads through a .pth file (see .ci/wheels). A requirement that is not installed fails.
"""

from __future__ import annotations

import os
import sys
import zipfile
from email.parser import Parser
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

OURS = {"semtoken-rag", "langchain-semtoken", "llama-index-postprocessor-semtoken"}


def wanted(req: Requirement, extras: tuple[str, ...]) -> bool:
    return req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras)


def main(wheel: str, folder: str) -> int:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        requires = Parser().parsestr(z.read(name).decode("utf-8")).get_all("Requires-Dist") or []
    todo = [(Requirement(r), ("",)) for r in requires]
    seen: dict[str, metadata.Distribution] = {}
    while todo:
        req, extras = todo.pop()
        if not wanted(req, extras):
            continue
        key = canonicalize_name(req.name)
        if key in OURS:
            continue
        dist = metadata.distribution(req.name)  # PackageNotFoundError: not installed
        if key in seen and not req.extras:
            continue
        seen[key] = dist
        todo += [(Requirement(r), ("", *req.extras)) for r in dist.requires or []]
    os.makedirs(folder, exist_ok=True)
    linked = 0
    for dist in seen.values():
        site = str(dist.locate_file(""))
        tops = {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] != ".."}
        for top in sorted(tops):
            if top == "__pycache__" or top.endswith(".pth") or top.startswith("__editable__"):
                continue
            source, target = os.path.join(site, top), os.path.join(folder, top)
            if os.path.exists(source) and not os.path.lexists(target):
                os.symlink(source, target)
                linked += 1
    print(f"linked {len(seen)} distributions ({linked} entries) into {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
