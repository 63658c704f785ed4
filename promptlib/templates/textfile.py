"""Reading a template file or partial: a regular file, of bounded size, UTF-8 text.

Opening a FIFO (or a device) named like a template would block or never end, so the file
is opened without waiting and refused unless it is a regular file. A UTF-8 byte order mark
is accepted and dropped.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from promptlib.errors import TemplateError

__all__ = ["read_text_file"]


def read_text_file(path: Path, max_bytes: int) -> str:
    """The text of ``path``.

    Raises:
        TemplateError: the file is not a regular file, is larger than ``max_bytes``, cannot
            be read, or is not UTF-8 (names the file).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise TemplateError(f"cannot read the file: {exc.strerror}", location=str(path)) from exc
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise TemplateError(
                "not a regular file (a pipe, device or socket): templates and partials are "
                "plain text files. Remove it or rename it.",
                location=str(path),
            )
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TemplateError(
            f"the file is larger than {max_bytes:,} bytes, the limit for template files. "
            "Split it, or raise Limits(file_bytes=...).",
            location=str(path),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TemplateError(
            f"the file is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
            location=f"{path}:{line}",
            line=line,
        ) from exc
