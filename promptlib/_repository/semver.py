"""Semantic versions (https://semver.org), parsed and ordered by the specification."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

__all__ = ["Version"]

_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,  # digits are 0-9 only: no fullwidth or other scripts' digits
)
_LONGEST = 256


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A semantic version such as ``1.2.0`` or ``2.0.0-rc.1``.

    Ordering follows semver: pre-releases sort before their release, build metadata is
    ignored.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``text``; raise ``ValueError`` with the expected form if it is not semver."""
        valid = isinstance(text, str) and len(text) <= _LONGEST
        match = _SEMVER.fullmatch(text) if valid else None
        if not match:
            raise ValueError(
                f"{text!r} is not a semantic version: use MAJOR.MINOR.PATCH, e.g. '1.0.0' "
                "or '1.1.0-rc.1'"
            )
        major, minor, patch, pre, build = match.groups()
        return cls(
            int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or ""
        )

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after all of its pre-releases; numeric identifiers sort before
        # alphanumeric ones, numerically among themselves.
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text + (f"+{self.build}" if self.build else "")


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Version)
