"""An evaluation's progress on one terminal line."""

from __future__ import annotations

import sys
import time
from decimal import Decimal

__all__ = ["Progress"]


class Progress:
    """done/total, errors, spend and ETA on one terminal line; silent when not a terminal."""

    def __init__(self, total: int, done: int, show: bool) -> None:
        self.total: int = total
        self.done: int = done
        self.errors: int = 0
        self.show: bool = show
        self.started: float = time.monotonic()
        self.first: int = done
        self.last: float = 0.0
        self._draw(Decimal(0))

    def advance(self, error: bool, spent: Decimal) -> None:
        self.done += 1
        self.errors += error
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done == self.total:
            self.last = now
            self._draw(spent)

    def _draw(self, spent: Decimal) -> None:
        if not self.show:
            return
        rate = (self.done - self.first) / max(time.monotonic() - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = "?" if left is None else time.strftime("%H:%M:%S", time.gmtime(left))
        import shutil

        columns = shutil.get_terminal_size((80, 24)).columns
        width = max(0, min(24, columns - 56))
        filled = int(width * self.done / self.total) if self.total else width
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  "
            f"errors {self.errors}  ${spent:.4f}  ETA {eta} "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.show:
            sys.stderr.write("\n")
