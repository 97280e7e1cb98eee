"""Compiling contracts and loading their artifacts."""

from settlekit.build.artifacts import Artifact, ArtifactNotFoundError, ArtifactStore
from settlekit.build.forge import BuildReport, CompileError, CompilerMessage, build

__all__ = [
    "Artifact",
    "ArtifactNotFoundError",
    "ArtifactStore",
    "BuildReport",
    "CompileError",
    "CompilerMessage",
    "build",
]
