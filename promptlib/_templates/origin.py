"""Where a piece of template text comes from, for error messages."""

from __future__ import annotations

from dataclasses import dataclass

from promptlib._errors import TemplateError

__all__ = ["Origin"]


@dataclass(frozen=True)
class Origin:
    """Where a piece of template text comes from, for error messages.

    Attributes:
        template: ``name@version``.
        block: e.g. ``"block 2 (System)"``.
        file: the template file, when the text comes from one.
        line_offset: the file line on which the text starts, minus one.
    """

    template: str
    block: str
    file: str | None = None
    line_offset: int = 0

    def where(self, line: int | None) -> str:
        if self.file is not None:
            return (
                f"{self.file}:{line + self.line_offset}" if line else f"{self.file}, {self.block}"
            )
        return f"{self.block}, line {line}" if line else self.block

    def error(
        self, message: str, line: int | None = None, cls: type[TemplateError] = TemplateError
    ) -> TemplateError:
        return cls(
            message,
            template=self.template,
            location=self.where(line),
            line=line + self.line_offset if line else None,
        )
