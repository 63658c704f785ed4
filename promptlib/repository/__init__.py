"""Template files in a repository: loading, the registry, labels, the lock file, diffs."""

from promptlib.repository.diff import diff_versions
from promptlib.repository.loader import ModelResolver, TemplateFile, load_file
from promptlib.repository.registry import CheckProblem, Registry, parse_ref
from promptlib.repository.semver import Version

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
