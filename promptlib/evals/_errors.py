"""The exception an evaluation dataset raises when a file or a case is wrong."""

from __future__ import annotations

from promptlib._errors import UsageError

__all__ = ["DatasetError"]


class DatasetError(UsageError):
    """A dataset file or case is invalid; the message names the file and line, the case,
    the field and the fix.

    Attributes:
        path: the dataset file, when the case came from one.
        line: the line (1-based) in that file.
        case_id: the case concerned, when known.
        field: the field concerned, e.g. ``"inputs.ticket"``.
        reason: the message without its location.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        case_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.case_id = case_id
        self.field = field
        self.reason = message
        where = f"{path}:{line}" if path and line else path
        super().__init__(f"{where}: {message}" if where else message)

    @classmethod
    def at(
        cls,
        source: str | None,
        message: str,
        *,
        case_id: str | None = None,
        field: str | None = None,
    ) -> DatasetError:
        """The error for a case read at ``source`` (``"path:line"``, or ``None``)."""
        path, line = split_source(source)
        return cls(message, path=path, line=line, case_id=case_id, field=field)


def split_source(source: str | None) -> tuple[str | None, int | None]:
    """``"path:line"`` as ``(path, line)``; a source without a line number as ``(source, None)``."""
    if not source:
        return None, None
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return source, None


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", DatasetError)
