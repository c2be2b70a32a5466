"""The house's layout: the core's stages import only the stages below them (module-level and late
imports alike), and the README's layout section names every core module, package and page folder."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .conftest import ROOT

# bottom to top: a stage may import itself and the stages before it, never one after it
STAGES = [
    "errors",
    "types",
    "config",
    "files",
    "scale",
    "schema",
    "models",
    "access",
    "llm",
    "corpus",
    "ranking",
    "judging",
    "serve_options",
    "evaluation",
    "judges",
    "teaching",
    "jobs",
    "cli",
    "__init__",
    "__main__",
]
CORE = ROOT / "ranklens"


def _stage(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 2:  # a stage's package; ranklens/__init__ stays
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, imported ranklens module or name) of every import in a file, late ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("ranklens"):
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    is_module = (ROOT / (full.replace(".", "/") + ".py")).exists() or (
                        ROOT / full.replace(".", "/")
                    ).is_dir()
                    out.append((node.lineno, full if is_module else target))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("ranklens")]
    return out


def test_every_core_module_belongs_to_a_stage():
    found = {_stage(_module(p)) for p in CORE.rglob("*.py") if "__pycache__" not in p.parts}
    assert found <= set(STAGES), f"stages missing from STAGES: {sorted(found - set(STAGES))}"


def test_stages_import_only_the_stages_below_them():
    upward = []
    for path in sorted(CORE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        module = _module(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        mine = STAGES.index(_stage(module))
        for line, target in _imports(path, package or "ranklens"):
            theirs = _stage(target)
            if theirs in STAGES and STAGES.index(theirs) > mine:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not upward, "imports that run back up:\n" + "\n".join(upward)


@pytest.fixture(scope="module")
def layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_layout_names_every_core_module(layout):
    words = set(re.findall(r"[A-Za-z_][\w]*", layout))
    missing = []
    for path in sorted(CORE.rglob("*.py")):
        if "__pycache__" in path.parts or path.name in ("__init__.py", "__main__.py"):
            continue
        if path.parent.name == "cli":  # one module per command group: named by the group
            continue
        if path.stem not in words:
            missing.append(str(path.relative_to(ROOT)))
    packages = [p for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    missing += [f"{p.name}/" for p in packages if f"{p.name}/" not in layout]
    assert not missing, f"the README's layout section does not name: {missing}"


def test_the_readme_layout_names_every_page_folder(layout):
    pages = [p for p in (ROOT / "pages").iterdir() if (p / "page.py").exists()]
    assert pages
    assert not [p.name for p in pages if f"{p.name}/" not in layout]


def test_no_core_module_name_is_used_twice():
    """One name, one idea: the CLI's command modules aside (one per command group, named after
    the core module they face), no two core modules share a file name."""
    seen: dict[str, list[str]] = {}
    for path in CORE.rglob("*.py"):
        if "__pycache__" in path.parts or path.name in ("__init__.py", "__main__.py"):
            continue
        if path.parent.name == "cli":
            continue
        seen.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert not {n: p for n, p in seen.items() if len(p) > 1}
