"""Writing untrusted text to a terminal: control characters shown, never acted on."""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

# What a terminal would act on rather than show: C0 controls but newline and tab (ESC, BEL,
# backspace, carriage return), DEL, C1 controls, and the bidirectional overrides.
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str, *, json_text: bool = False) -> str:
    """``text`` with the control characters a terminal would act on shown as escapes.

    ``\x1b`` style, or ``\u001b`` style in JSON (where it stays valid JSON).
    """

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 and not json_text else f"\\u{code:04x}"

    return _TERMINAL_CONTROL.sub(escape, text)
