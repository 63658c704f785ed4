"""Reading a template file or partial (see :mod:`promptlib._files`), with errors that name
the template file and what to do."""

from __future__ import annotations

from pathlib import Path

from promptlib._errors import TemplateError
from promptlib._files import FileProblem, read_bounded_text

__all__ = ["read_text_file"]


def read_text_file(path: Path, max_bytes: int) -> str:
    """The text of ``path``.

    Raises:
        TemplateError: the file is not a regular file, is larger than ``max_bytes``, cannot
            be read, or is not UTF-8 (names the file).
    """
    try:
        return read_bounded_text(path, max_bytes)
    except FileProblem as problem:
        advice = {
            "not_regular": ": templates and partials are plain text files. Remove it or rename it.",
            "too_large": ", the limit for template files. Split it, or raise "
            "Limits(file_bytes=...).",
        }.get(problem.kind, "")
        location = f"{path}:{problem.line}" if problem.line else str(path)
        raise TemplateError(
            problem.message + advice, location=location, line=problem.line
        ) from problem
