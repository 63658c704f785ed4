"""Reading a text file someone else wrote: a regular file, of bounded size, UTF-8.

Opening a FIFO (or a device) named like a data file would block or never end, so the file
is opened without waiting and refused unless it is a regular file; a file over the size
limit is refused before it is read. A UTF-8 byte order mark is accepted and dropped.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileProblem", "read_bounded_text"]


@dataclass
class FileProblem(Exception):
    """Why a file could not be read: ``kind`` is ``unreadable``, ``not_regular``,
    ``too_large`` or ``not_utf8``; ``line`` is 1-based, when known."""

    kind: str
    message: str
    line: int | None = None


def read_bounded_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of ``path``, a regular file of at most ``max_bytes`` bytes.

    Raises:
        FileProblem: the file cannot be opened, is not a regular file, is too large, or is
            not UTF-8.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise FileProblem("unreadable", f"cannot read the file: {exc.strerror}") from exc
    info = os.fstat(descriptor)
    too_large = f"the file is larger than {max_bytes:,} bytes"
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        os.close(descriptor)  # refused unread
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem("not_regular", "not a regular file (a pipe, device or socket)")
        raise FileProblem("too_large", too_large)
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(max_bytes + 1)  # the file may have grown since
    if len(data) > max_bytes:
        raise FileProblem("too_large", too_large)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileProblem(
            "not_utf8",
            f"the file is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
            line,
        ) from exc
