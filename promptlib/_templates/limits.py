"""How much work a template may do: the limits every definition, load and render runs under.

Template text is code written by many hands, and some of it runs when the template is
defined (text that reads no inputs is rendered right away). Whatever it does, it ends
within these limits, or with a :class:`~promptlib.TemplateSecurityError` naming the
template, the line and the limit.

The defaults suit any prompt a model can read. To change them, define (or load) the
templates inside :func:`use_limits`; a template keeps the limits it was defined under::

    with use_limits(Limits(seconds=5, steps=5_000_000)):
        registry = Registry("templates")
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from promptlib._errors import TemplateError, TemplateSecurityError
from promptlib._shown import short_repr

__all__ = [
    "DEFAULT_LIMITS",
    "Budget",
    "LimitExceeded",
    "Limits",
    "budget",
    "current_limits",
    "enter",
    "leave",
    "use_limits",
]


@dataclass(frozen=True)
class Limits:
    """The bounds a template runs under; see :func:`use_limits`.

    Attributes:
        output_chars: characters one piece of template text may render, and the size of
            any string or list one operation inside it may build.
        allocated: characters and items all operations of one render may build together
            (strings, lists, operator and filter results).
        steps: loop iterations, calls and includes of one render.
        seconds: wall-clock time of one render (checked between steps).
        depth: nesting of calls (macros calling macros, recursive loops).
        int_digits: decimal digits of an integer, computed or given as an input.
        includes: ``{% include %}`` expansions of one template, counted through partials.
        file_bytes: size of a template file or partial.
        yaml_nodes: values in a file's front matter, each alias counted as often as it is
            used.
        yaml_depth: nesting of the front matter.
    """

    output_chars: int = 2_000_000
    allocated: int = 50_000_000
    steps: int = 1_000_000
    seconds: float = 2.0
    depth: int = 40
    int_digits: int = 4300
    includes: int = 256
    file_bytes: int = 1_000_000
    yaml_nodes: int = 100_000
    yaml_depth: int = 64

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise TemplateError(f"Limits({name}={short_repr(value)}): use a positive number")

    @property
    def int_bits(self) -> int:
        """``int_digits`` as bits (an integer of more bits may have more digits)."""
        return self.int_digits * 3322 // 1000  # log2(10) ≈ 3.3219


DEFAULT_LIMITS = Limits()


class LimitExceeded(TemplateSecurityError):
    """A limit was reached; :class:`~promptlib._templates.environment.JinjaText` adds where."""


class Budget:
    """What one render has used so far."""

    __slots__ = ("allocated", "deadline", "depth", "limits", "steps")

    def __init__(self, limits: Limits) -> None:
        self.limits: Limits = limits
        self.steps: int = 0
        self.allocated: int = 0
        self.depth: int = 0
        self.deadline: float = time.monotonic() + limits.seconds

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise LimitExceeded(
                f"the text ran more than {self.limits.steps:,} steps (loop iterations, calls "
                "and includes). Loop over less, or raise Limits(steps=...)."
            )
        if not self.steps & 255:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                f"rendering took longer than {self.limits.seconds:g} s. Simplify the text, or "
                "raise Limits(seconds=...)."
            )

    def allocate(self, size: int, what: str) -> None:
        """Account for ``size`` characters or items about to be built by ``what``."""
        if size > self.limits.output_chars:
            raise LimitExceeded(
                f"{what} would build {size:,} characters or items, more than the limit of "
                f"{self.limits.output_chars:,}. Build less, or raise Limits(output_chars=...)."
            )
        self.allocated += size
        if self.allocated > self.limits.allocated:
            raise LimitExceeded(
                f"the text built more than {self.limits.allocated:,} characters or items in "
                "all. Build less, or raise Limits(allocated=...)."
            )


_CURRENT: ContextVar[Budget | None] = ContextVar("promptlib_budget", default=None)


def budget() -> Budget:
    """The budget of the render in progress; outside one (constant folding), a fresh one."""
    return _CURRENT.get() or Budget(DEFAULT_LIMITS)


def enter(limits: Limits) -> Token[Budget | None] | None:
    """Start a render's budget, unless a render is running (a nested one shares its budget).

    Pass what it returns to :func:`leave` when the render ends.
    """
    if _CURRENT.get() is not None:
        return None
    return _CURRENT.set(Budget(limits))


def leave(token: Token[Budget | None] | None) -> None:
    if token is not None:
        _CURRENT.reset(token)


_CONFIGURED: ContextVar[Limits] = ContextVar("promptlib_limits", default=DEFAULT_LIMITS)


def current_limits() -> Limits:
    """The limits templates defined now get: the defaults, or those of :func:`use_limits`."""
    return _CONFIGURED.get()


@contextmanager
def use_limits(limits: Limits) -> Iterator[Limits]:
    """Define and load templates under ``limits`` inside the ``with`` block.

    Templates keep the limits they were defined under, for every render; a
    :class:`~promptlib.Registry` keeps those in force when it was created, for every file
    it loads.
    """
    if not isinstance(limits, Limits):
        raise TemplateError(f"use_limits() takes a Limits(...), got {short_repr(limits)}")
    token = _CONFIGURED.set(limits)
    try:
        yield limits
    finally:
        _CONFIGURED.reset(token)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Limits, use_limits)
