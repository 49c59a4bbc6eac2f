"""The arrows between the package's folders run one way: read from the source with ``ast``, so that
an import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import openlfr

PACKAGE = Path(openlfr.__file__).parent


def imported(path: Path, source: str) -> set[str]:
    """Every module the source of ``path`` (relative to the package) imports, relative imports resolved."""
    package = ["openlfr", *path.parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def reaches(module: str, target: str) -> bool:
    return module == target or module.startswith(f"{target}.")


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("review", ("openlfr.deploy",)),
        ("store", ("openlfr.deploy", "openlfr.review")),
        ("gallery", ("openlfr.cli", "openlfr.api", "openlfr.deploy", "openlfr.review")),
        ("footage", ("openlfr.cli", "openlfr.api", "openlfr.deploy", "openlfr.review")),
        ("live", ("openlfr.cli", "openlfr.api", "openlfr.deploy", "openlfr.store")),
        ("cluster", ("openlfr.cli", "openlfr.api", "openlfr.deploy", "openlfr.store", "openlfr.review")),
    ],
)
def test_a_folder_does_not_import_the_steps_above_it(folder: str, forbidden: tuple[str, ...]) -> None:
    files = sorted((PACKAGE / folder).rglob("*.py"))
    assert files, f"no source under {folder}/"
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in files
        for module in sorted(imported(path.relative_to(PACKAGE), path.read_text(encoding="utf-8")))
        if any(reaches(module, target) for target in forbidden)
    ]
    assert wrong == []


def test_only_the_cli_and_the_entry_point_import_the_cli() -> None:
    """The CLI is thin over the library: nothing of the library, evaluation included, reaches back into it."""
    entry_points = {Path("__main__.py")}
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "cli" and path.relative_to(PACKAGE) not in entry_points
        for module in sorted(imported(path.relative_to(PACKAGE), path.read_text(encoding="utf-8")))
        if reaches(module, "openlfr.cli")
    ]
    assert wrong == []


@pytest.mark.parametrize("folder", ["scripts", "bench"])
def test_scripts_and_benchmarks_use_no_private_name_of_the_package(folder: str) -> None:
    """They run on the public library (a private function may change under them without notice)."""
    root = PACKAGE.parents[1] / folder
    if not root.is_dir():
        pytest.skip(f"no {folder}/ beside the package (an installed copy)")
    wrong = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("openlfr"):
                wrong += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert wrong == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from openlfr.deploy.views import DeploymentView", "openlfr.deploy.views"),
        ("import openlfr.deploy.lifecycle", "openlfr.deploy.lifecycle"),
        ("from ..deploy import views", "openlfr.deploy.views"),
        ("from .. import deploy", "openlfr.deploy"),
        ("def later():\n    from openlfr.deploy import live", "openlfr.deploy.live"),
    ],
)
def test_the_check_sees_every_form_of_import(source: str, found: str) -> None:
    assert any(reaches(m, "openlfr.deploy") for m in imported(Path("review/alerts.py"), source))
    assert found in imported(Path("review/alerts.py"), source)


def test_a_relative_import_within_the_folder_is_not_mistaken_for_one_above() -> None:
    assert imported(Path("review/alerts.py"), "from . import adjudication") == {
        "openlfr.review",
        "openlfr.review.adjudication",
    }
