"""Values shown in error messages: short, and safe to produce for any value."""

from __future__ import annotations

import reprlib
from decimal import Decimal
from typing import Any

__all__ = ["plain_amount", "short_repr"]

# Beyond this many bits an int is described, not printed: int -> str is quadratic, and
# Python refuses it past 4300 digits (a bare ValueError in place of our message).
_LONGEST_INT_BITS = 256


class _Short(reprlib.Repr):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.maxstring = self.maxother = self.maxlong = limit
        self.maxlevel = 3

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > _LONGEST_INT_BITS:
            digits = int(x.bit_length() * 0.30103) + 1
            kind = "a negative integer" if x < 0 else "an integer"
            return f"<{kind} of about {digits} digits>"
        return super().repr_int(x, level)

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            return super().repr_instance(x, level)
        except Exception:  # a __repr__ that fails: the type says enough
            return f"<{type(x).__name__}>"


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters; never raises, never prints a
    huge integer or a whole large container."""
    try:
        text = _Short(limit).repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit + 5 else text[: limit - 3] + "..."


def plain_amount(amount: Decimal | float) -> str:
    """An amount of money as plain digits (a Decimal's ``str`` may be ``0E-8``, a float's
    ``:g`` ``2e-05``)."""
    return format(Decimal(str(amount)).normalize(), "f")
