"""Which worlds a project fuzzes: ``[fuzz.worlds.NAME]`` tables of settlekit.toml, loaded into world classes.

A world is named by ``world = "path/to/file.py:ClassName"`` (a file, relative to the project root) or
``world = "package.module:ClassName"`` (importable with the project root on ``sys.path``). The class is called as
``ClassName(context, variant)`` with a :class:`WorldContext` (the project's artifacts and storage layouts) and an
integer variant, and must offer ``generate``, ``execute`` and ``check_invariants`` (:class:`.world.World`).
settlekit's own settlement and margin worlds are declared the same way in this repository's settlekit.toml.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from settlekit.build import ArtifactStore
from settlekit.config import CONFIG_FILE, load_config
from settlekit.exceptions import SettlekitError

from .layout import Layout, storage_layout

DOCS = "docs/differential-worlds.md"
_REQUIRED = ("generate", "execute", "check_invariants")


@dataclass
class WorldContext:
    """What a world needs from its project: the root, the built artifacts and the contracts' storage layouts."""

    project_root: Path
    store: ArtifactStore
    _layouts: dict[str, Layout] = field(default_factory=dict, repr=False)

    def layout(self, name: str) -> Layout:
        """The storage slots of contract ``name`` by variable (computed with vyper once per process)."""
        if name not in self._layouts:
            self._layouts[name] = storage_layout(self.project_root, self.store, name)
        return self._layouts[name]

    def layouts(self, *names: str) -> dict[str, Layout]:
        return {name: self.layout(name) for name in names}


def declared_worlds(project_root: Path) -> dict[str, str]:
    """``{name: "target:Class"}`` from the project's settlekit.toml (empty without the file or the table)."""
    path = project_root / CONFIG_FILE
    if not path.is_file():
        return {}
    _, config = load_config(path)
    return {name: entry.world for name, entry in config.fuzz.worlds.items()}


def required_worlds(project_root: Path, hint: str = "or run `settlekit fuzz --engine forge`") -> dict[str, str]:
    """The declared worlds; a project that declares none cannot run the differential engine (``hint`` says what
    the caller can do instead)."""
    declared = declared_worlds(project_root)
    if not declared:
        raise SettlekitError(
            f"{project_root / CONFIG_FILE} declares no differential worlds",
            hint=f'add [fuzz.worlds.NAME] world = "tests/worlds/my_world.py:MyWorld" (see {DOCS}), {hint}',
        )
    return declared


def _refuse(name: str, target: str, problem: str, hint: str | None = None) -> SettlekitError:
    return SettlekitError(
        f"differential world {name!r} ({target}): {problem}",
        hint=hint or f"fix [fuzz.worlds.{name}] in {CONFIG_FILE} or the world's code (see {DOCS})",
    )


def _where(error: BaseException, origin: str) -> str:
    """`` (file.py line N)`` for the innermost frame of ``error`` in ``origin``, else ``""``."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == origin]
    if isinstance(error, SyntaxError) and error.filename == origin:
        return f" ({Path(origin).name} line {error.lineno})"
    return f" ({Path(origin).name} line {frames[-1].lineno})" if frames else ""


def _import_file(name: str, target: str, path: Path) -> ModuleType:
    if not path.is_file():
        raise _refuse(name, target, f"no file {path}", f"create {path}, or correct the path in [fuzz.worlds.{name}]")
    module_name = f"settlekit_world_{name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise _refuse(name, target, f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:  # a world's model may sit next to it and be imported by name
        sys.path.insert(0, folder)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise _refuse(
            name, target, f"importing it failed: {type(error).__name__}: {error}{_where(error, str(path))}"
        ) from None
    return module


def _import_module(name: str, target: str, module_path: str, root: Path) -> ModuleType:
    if str(root) not in sys.path:
        sys.path.append(str(root))
    try:
        return importlib.import_module(module_path)
    except ModuleNotFoundError as error:
        raise _refuse(name, target, f"no module {error.name!r}") from None
    except Exception as error:
        origin = getattr(sys.modules.get(module_path), "__file__", "") or ""
        raise _refuse(
            name, target, f"importing it failed: {type(error).__name__}: {error}{_where(error, origin)}"
        ) from None


@cache
def world_class(project_root: Path, name: str) -> Any:
    """The class of world ``name`` declared by the project at ``project_root`` (imported once per process)."""
    worlds = declared_worlds(project_root)
    if name not in worlds:
        known = ", ".join(sorted(worlds)) or "none"
        raise SettlekitError(
            f"no differential world {name!r} in {project_root / CONFIG_FILE} (declared: {known})",
            hint=f'declare it as [fuzz.worlds.{name}] world = "path/to/world.py:ClassName" (see {DOCS})',
        )
    target = worlds[name]
    location, _, class_name = target.rpartition(":")
    if not location or not class_name.isidentifier():
        raise _refuse(name, target, 'expected "path/to/file.py:ClassName" or "package.module:ClassName"')
    if location.endswith(".py"):
        module = _import_file(name, target, (project_root / location).resolve())
    else:
        module = _import_module(name, target, location, project_root)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise _refuse(name, target, f"{location} has no class {class_name}")
    missing = [method for method in _REQUIRED if not callable(getattr(cls, method, None))]
    if missing:
        raise _refuse(
            name,
            target,
            f"{class_name} has no {', '.join(missing)}",
            f"subclass settlekit.fuzz.differential.ActionWorld, or write the World methods (see {DOCS})",
        )
    return cls


__all__ = ["WorldContext", "declared_worlds", "required_worlds", "world_class"]
