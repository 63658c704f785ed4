"""Template files in a repository: loading, the registry, labels, the lock file, diffs."""

from promptlib._repository.diff import diff_versions
from promptlib._repository.loader import ModelResolver, TemplateFile, load_file
from promptlib._repository.registry import CheckProblem, Registry, parse_ref
from promptlib._repository.semver import Version

__all__ = [
    "CheckProblem",
    "ModelResolver",
    "Registry",
    "TemplateFile",
    "Version",
    "diff_versions",
    "load_file",
    "parse_ref",
]
