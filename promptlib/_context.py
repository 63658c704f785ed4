"""What the code sending a request knows that the request itself does not say.

An evaluation sends the same request several times for its repeats; a recording must
still tell them apart, or every repeat would replay the first answer.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["repeat_index"]

# The repeat (0, 1, 2, ...) of the sample being sent; set by the evaluation runner.
repeat_index: ContextVar[int] = ContextVar("promptlib_repeat_index", default=0)
