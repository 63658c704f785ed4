"""What blocks compile to: segments of message text, and the context they compile in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from promptlib._messages import ImagePart, Message, Role
from promptlib._output import OutputSpec, ReasoningSpec
from promptlib._templates.environment import Origin
from promptlib._templates.inputs import InputSchema
from promptlib._templates.limits import DEFAULT_LIMITS, Limits

__all__ = ["BuildContext", "ImageSource", "Segment", "TextSource"]

TextSource = str | Callable[[Mapping[str, Any]], str]
ImageSource = ImagePart | Callable[[Mapping[str, Any]], ImagePart | None]


@dataclass(frozen=True)
class Segment:
    """A piece of one message, produced by one block.

    Adjacent segments of the same role merge into one message (joined by a blank line),
    unless either is ``atomic`` (a few-shot turn is a message of its own). A ``str`` text
    is static: rendered once, at definition time.
    """

    role: Role
    kind: str
    label: str
    text: TextSource
    images: tuple[ImageSource, ...] = ()
    atomic: bool = False
    priority: int = 0
    # Whole messages from the inputs (conversation history), instead of text.
    turns: Callable[[Mapping[str, Any]], tuple[Message, ...]] | None = None

    @property
    def is_static(self) -> bool:
        return (
            self.turns is None
            and isinstance(self.text, str)
            and all(isinstance(i, ImagePart) for i in self.images)
        )


@dataclass
class BuildContext:
    """What blocks may know about the template they are compiled into."""

    template: str
    inputs: InputSchema[Any]
    output: OutputSpec | None
    output_model: type[Any] | None
    reasoning: ReasoningSpec | None
    file: str | None = None
    env: SandboxedEnvironment | None = None
    limits: Limits = DEFAULT_LIMITS
    used: set[str] = field(default_factory=set)
    includes: dict[str, str] = field(default_factory=dict)

    def origin(self, index: int, block: object) -> Origin:
        return Origin(
            template=self.template,
            block=f"block {index + 1} ({type(block).__name__})",
            file=self.file,
            line_offset=getattr(block, "_line_offset", 0),
        )
