"""``settlekit init``: a new project that uses settlekit from the installed package.

The project holds foundry.toml (whose ``libs`` names the folder of the installed ``settlekit`` package, so forge's
vyper resolves ``from settlekit.vyper import ...``), settlekit.toml (a network, a deployment plan, watch rules), an
example Vault built from settlekit's modules, forge tests in Vyper, pytest tests on the plugin's fixtures, and a
Makefile and README with the quick start. The files come from ``template/`` (suffix ``.tmpl`` dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from settlekit.exceptions import UsageError
from settlekit.vyper import search_path

TEMPLATE_DIR = Path(__file__).resolve().parent / "template"
LIB_PLACEHOLDER = "@@SETTLEKIT_LIB@@"
_RENAMED = {"gitignore": ".gitignore"}


@dataclass(frozen=True)
class InitReport:
    """What ``init`` wrote: the project root, its files (relative, sorted) and the Vyper search path it set."""

    root: Path
    files: list[str]
    vyper_lib: str


def template_files() -> list[Path]:
    """The template files, relative to :data:`TEMPLATE_DIR`."""
    return sorted(p.relative_to(TEMPLATE_DIR) for p in TEMPLATE_DIR.rglob("*.tmpl") if p.is_file())


def vyper_lib_for(root: Path, lib: Path | None = None) -> str:
    """The ``libs`` entry for a project at ``root``: relative when the package lives inside the project (its own
    .venv), absolute otherwise."""
    lib = (lib or search_path()).resolve()
    try:
        return lib.relative_to(root.resolve()).as_posix()
    except ValueError:
        return lib.as_posix()


def init_project(target: Path) -> InitReport:
    """Write a new project into ``target`` (created if missing); refuse a folder that already has files."""
    target = target.expanduser()
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder", hint="give `settlekit init` a new or empty folder")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(
            f"{target} is not empty; init writes a new project and never overwrites files",
            hint=f"run `settlekit init NEW_FOLDER`, or empty {target} first",
        )
    target.mkdir(parents=True, exist_ok=True)
    lib = vyper_lib_for(target)
    written: list[str] = []
    for relative in template_files():
        text = (TEMPLATE_DIR / relative).read_text().replace(LIB_PLACEHOLDER, lib)
        name = relative.with_suffix("")
        name = name.with_name(_RENAMED.get(name.name, name.name))
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text)
        written.append(name.as_posix())
    (target / ".settlekit").mkdir(exist_ok=True)
    return InitReport(root=target.resolve(), files=sorted(written), vyper_lib=lib)


__all__ = ["InitReport", "init_project", "template_files", "vyper_lib_for"]
