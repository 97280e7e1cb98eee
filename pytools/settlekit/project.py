"""Where a settlekit project lives on disk: its root and the folders every other part reads."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from settlekit.exceptions import ProjectNotFoundError

PROJECT_ENV = "SETTLEKIT_PROJECT"


@dataclass(frozen=True)
class Project:
    """A project root: the folder holding ``foundry.toml`` and ``contracts/``."""

    root: Path

    @property
    def contracts_dir(self) -> Path:
        return self.root / "contracts"

    @property
    def out_dir(self) -> Path:
        """forge's artifact folder (``out`` in foundry.toml)."""
        return self.root / "out"

    @property
    def foundry_toml(self) -> Path:
        return self.root / "foundry.toml"

    @property
    def test_dir(self) -> Path:
        """forge's test folder: ``test`` of the default profile in foundry.toml (forge's default: ``test``)."""
        try:
            config = tomllib.loads(self.foundry_toml.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            config = {}
        return self.root / str(config.get("profile", {}).get("default", {}).get("test", "test"))

    @property
    def node_bin_dir(self) -> Path:
        return self.root / "node_modules" / ".bin"

    @property
    def venv_bin_dir(self) -> Path:
        return self.root / ".venv" / "bin"

    @classmethod
    def discover(cls, start: Path | None = None) -> Project:
        """Find the project from ``$SETTLEKIT_PROJECT``, else from ``start`` (default: cwd) upwards."""
        configured = os.environ.get(PROJECT_ENV)
        if configured:
            root = Path(configured).expanduser().resolve()
            if not (root / "foundry.toml").is_file():
                raise ProjectNotFoundError(
                    f"${PROJECT_ENV} points to {root}, which has no foundry.toml",
                    hint=f"set {PROJECT_ENV} to the settlekit project root, or unset it",
                )
            return cls(root)
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "foundry.toml").is_file() and (candidate / "contracts").is_dir():
                return cls(candidate)
        raise ProjectNotFoundError(
            f"no settlekit project (foundry.toml and contracts/) in {here} or any folder above it",
            hint=f"run the command inside the project, or set {PROJECT_ENV}=/path/to/project",
        )
