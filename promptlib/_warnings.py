"""Warnings that point at the user's code, not at promptlib's own frames."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

__all__ = ["warn"]

_PACKAGE = str(Path(__file__).parent) + os.sep  # not promptlib_ext/ beside it


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn``, attributed to the first caller outside promptlib."""
    level, frame = 2, sys._getframe(1)  # level 1 is this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level)
