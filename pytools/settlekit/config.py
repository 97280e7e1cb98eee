"""settlekit.toml as typed models: every value is checked for its type and range before any command uses it.

:func:`load_config` reads the file and validates it against :class:`SettlekitConfig`; a wrong value is reported as
one :class:`~settlekit.exceptions.ConfigError` naming its exact key path, e.g.
``watch.rules[2].window_blocks: expected integer, got "fifty"``. Validation is strict (TOML has real types: a
quoted ``"3"`` is not the integer 3). The readers of each section (``deploy/plan.py``, ``watch/rules.py``,
``watch/guardian.py``, ``watch/metrics.py``) keep their own checks of meaning (addresses, references, orderings)
and read the same raw tables; these models only guarantee the shapes they rely on. Sections and keys these models
do not know are allowed where the readers ignore them (networks, steps, rules), and refused where the readers
refuse them (``[watch.reorg]``, ``[watch.metrics]``, ``[watch.guardian]``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from settlekit.exceptions import ConfigError

CONFIG_FILE = "settlekit.toml"


class _Open(BaseModel):
    """A table whose unknown keys are left to its reader (strict types for the keys it has)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class _Closed(BaseModel):
    """A table whose reader refuses unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class NetworkModel(_Open):
    """``[networks.NAME]``."""

    rpc_url: str | None = None
    rpc_url_env: str | None = None
    chain_id: int | None = Field(default=None, gt=0)
    local: bool | None = None
    confirmations: int | None = Field(default=None, ge=0)
    roles: dict[str, str] = {}
    local_chain_ids: list[int] = []

    @field_validator("rpc_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {json.dumps(value)}")
        return value


class StepModel(_Open):
    """``[[deployments.NAME.steps]]``: a deploy step (artifact) or a call step (target and function)."""

    id: str
    artifact: str | None = None
    args: list[Any] = []
    mock: bool = False
    existing: dict[str, str] = {}
    roles: list[str] = []
    blueprint: bool = False
    target: str | None = None
    function: str | None = None


class DeploymentModel(_Open):
    """``[deployments.NAME]``."""

    steps: list[StepModel] = []


class RuleModel(_Open):
    """``[[watch.rules]]`` (docs/watch.md)."""

    name: str = Field(min_length=1)
    kind: Literal["event", "window_sum", "dust", "lag"]
    severity: Literal["info", "warning", "critical"] = "warning"
    event: str | None = None
    argument: str | None = Field(default=None, alias="field")
    window_blocks: int | None = Field(default=None, gt=0)
    threshold: int | None = Field(default=None, ge=0)
    max_seconds: int | None = Field(default=None, gt=0)
    where: dict[str, Any] = {}


class ReorgModel(_Closed):
    """``[watch.reorg]``."""

    warning_depth: int = Field(default=1, ge=1)
    critical_depth: int = Field(default=8, ge=1)


class MetricsModel(_Closed):
    """``[watch.metrics]``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)


class GuardianModel(_Closed):
    """``[watch.guardian]``."""

    enabled: bool = False
    contracts: list[str] = []
    level: int = Field(default=1, ge=1, le=3)
    dry_run: bool = False
    ignore_rules: list[str] = []
    account: str | None = None
    key_env: str | None = None
    timeout: float = Field(default=60.0, gt=0)


class WatchModel(_Open):
    """``[watch]``."""

    rules: list[RuleModel] = []
    reorg: ReorgModel = ReorgModel()
    metrics: MetricsModel = MetricsModel()
    guardian: GuardianModel = GuardianModel()


class FuzzWorldModel(_Closed):
    """``[fuzz.worlds.NAME]``: the class of one differential world (docs/differential-worlds.md)."""

    world: str = Field(min_length=1)

    @field_validator("world")
    @classmethod
    def _target(cls, value: str) -> str:
        location, _, name = value.rpartition(":")
        if not location or not name.isidentifier():
            raise ValueError(f'expected "path/to/file.py:ClassName" or "package.module:ClassName", got "{value}"')
        return value


class FuzzModel(_Open):
    """``[fuzz]``: the differential worlds the project declares, by name."""

    worlds: dict[str, FuzzWorldModel] = {}

    @field_validator("worlds")
    @classmethod
    def _names(cls, worlds: dict[str, FuzzWorldModel]) -> dict[str, FuzzWorldModel]:
        for name in worlds:
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                raise ValueError(f'world name "{name}" must be lower-case letters, digits, "_" and "-"')
        return worlds


class SettlekitConfig(_Open):
    """The whole of settlekit.toml."""

    networks: dict[str, NetworkModel] = {}
    deployments: dict[str, DeploymentModel] = {}
    watch: WatchModel = WatchModel()
    fuzz: FuzzModel = FuzzModel()


def key_path(location: tuple[str | int, ...]) -> str:
    """``("watch", "rules", 2, "window_blocks")`` -> ``watch.rules[2].window_blocks``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(top level)"


_EXPECTED = {
    "int_type": "expected integer",
    "int_from_float": "expected integer",
    "float_type": "expected number",
    "string_type": "expected string",
    "bool_type": "expected true or false",
    "list_type": "expected array",
    "dict_type": "expected table",
    "model_type": "expected table",
    "model_attributes_type": "expected table",
    "missing": "required key missing",
    "extra_forbidden": "unknown key",
}


def _shown(value: Any) -> str:
    """A value as TOML would show it (strings quoted, booleans lower case); tables and arrays by kind."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def describe(error: Mapping[str, Any]) -> str:  # a pydantic ErrorDetails
    """One pydantic error as ``key.path: expected X, got Y``."""
    where = key_path(tuple(error["loc"]))
    kind = error["type"]
    if kind == "missing":
        return f"{where}: required key missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{where}: {message}"
    if kind in _EXPECTED:
        return f"{where}: {_EXPECTED[kind]}, got {_shown(error['input'])}"
    bounds = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}
    if kind in bounds:
        symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[bounds[kind]]
        limit = error.get("ctx", {}).get(bounds[kind])
        return f"{where}: expected a number {symbol} {limit}, got {_shown(error['input'])}"
    if kind == "string_too_short":
        return f"{where}: expected a non-empty string, got {_shown(error['input'])}"
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", '"')
        return f"{where}: expected one of {expected}, got {_shown(error['input'])}"
    return f"{where}: {error['msg'].lower()}, got {_shown(error['input'])}"


def validate_config(data: dict[str, Any], path: Path) -> SettlekitConfig:
    """Check the parsed TOML ``data`` of ``path``; the first wrong value raises :class:`ConfigError`."""
    try:
        return SettlekitConfig.model_validate(data)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(
            f"{path.name}: {describe(errors[0])}{more}",
            hint=f"correct the value in {path} (format: docs/deploy.md for networks and deployments, "
            "docs/watch.md for [watch], docs/differential-worlds.md for [fuzz.worlds])",
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; a missing, unreadable or malformed file raises :class:`ConfigError`."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"no {path.name} at {path}", hint=f"create {path} (see docs/deploy.md)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}", hint="check the file's permissions and encoding") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}", hint="fix the syntax at the place shown") from None


def load_config(path: Path) -> tuple[dict[str, Any], SettlekitConfig]:
    """The raw tables of ``path`` (what the section readers take) and their validated model."""
    data = read_toml(path)
    return data, validate_config(data, path)
