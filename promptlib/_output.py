"""What a prompt expects back, and how a model's reply is turned into that.

Two independent pieces of a :class:`~promptlib.Prompt` describe its expected reply:

* :class:`OutputSpec`: a JSON schema (from a pydantic model or given raw) the answer must match.
* :class:`ReasoningSpec`: the reply reasons first and marks its final answer
  (chain-of-thought); only the final answer is parsed, the reasoning is kept apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Literal

from promptlib._errors import OutputParseError
from promptlib._hashing import canonical_json
from promptlib._validation import schema_violations

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "OutputSpec",
    "Reasoned",
    "ReasoningSpec",
    "parse_json_answer",
    "schema_name",
]

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


@lru_cache(maxsize=256)
def schema_name(name: str) -> str:
    """An output schema's name as the providers accept it (for OpenAI's ``json_schema``
    and Anthropic's answer tool): letters, digits, '_' and '-', at most 64."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "output"


@dataclass(frozen=True)
class OutputSpec:
    """A JSON schema the model's answer must match.

    Attributes:
        name: the schema's name (the pydantic model's class name, or given).
        schema: the JSON schema, as a JSON object.
        strict: whether adapters should ask the provider to enforce the schema exactly.
        schema_first: check an answer against ``schema`` before the output model parses
            it, so that a model class looser than the schema accepts no answer the schema
            refuses (a file template typed with ``registry.get(ref, output=...)``). Not
            part of the request or its hash.
        contract_model: with ``schema_first``, the pydantic model of the file's own
            output, whose validators an answer must also pass.
    """

    name: str
    schema: dict[str, Any]
    strict: bool = True
    schema_first: bool = field(default=False, compare=False, repr=False)
    contract_model: type[Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "strict": self.strict}

    @cached_property
    def _json(self) -> str:
        """Canonical JSON of ``to_dict()``, made once: every prompt's hash includes it."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True)
class Reasoned:
    """A reply split into its reasoning and its final answer."""

    reasoning: str
    answer: str


@dataclass(frozen=True)
class ReasoningSpec:
    """How a chain-of-thought reply marks its reasoning and its final answer.

    With ``style="tags"`` the model reasons inside ``<reasoning_tag>`` and answers inside
    ``<answer_tag>``; with ``style="prefix"`` the final answer follows a line that starts
    with ``answer_prefix`` (e.g. ``"Final answer:"``).
    """

    style: Literal["tags", "prefix"] = "tags"
    reasoning_tag: str = "thinking"
    answer_tag: str = "answer"
    answer_prefix: str = "Final answer:"

    def to_dict(self) -> dict[str, Any]:
        return {
            "style": self.style,
            "reasoning_tag": self.reasoning_tag,
            "answer_tag": self.answer_tag,
            "answer_prefix": self.answer_prefix,
        }

    def split(self, text: str) -> Reasoned:
        """Split a reply into reasoning and final answer.

        The *last* marked answer wins, so an answer quoted inside the reasoning does not.

        Raises:
            OutputParseError: the reply has no final answer.
        """
        if self.style == "tags":
            return self._split_tags(text)
        return self._split_prefix(text)

    def _split_tags(self, text: str) -> Reasoned:
        opener, closer = f"<{self.answer_tag}>", f"</{self.answer_tag}>"
        start = text.rfind(opener)
        if start < 0:
            raise OutputParseError(
                f"the reply has no final answer: expected the answer inside {opener}…{closer} "
                "after the reasoning. The model may have run out of output tokens; raise "
                "max_tokens, or make the instruction more explicit.",
                text=text,
            )
        body_start = start + len(opener)
        end = text.find(closer, body_start)
        answer = text[body_start:] if end < 0 else text[body_start:end]
        reasoning = text[:start]
        r_open, r_close = f"<{self.reasoning_tag}>", f"</{self.reasoning_tag}>"
        r_start = reasoning.find(r_open)
        if r_start >= 0:
            r_end = reasoning.rfind(r_close)
            reasoning = reasoning[r_start + len(r_open) : r_end if r_end > r_start else None]
        return Reasoned(reasoning=reasoning.strip(), answer=answer.strip())

    def _split_prefix(self, text: str) -> Reasoned:
        pattern = re.compile(rf"^[ \t]*{re.escape(self.answer_prefix)}", re.MULTILINE)
        matches = list(pattern.finditer(text))
        if not matches:
            raise OutputParseError(
                f"the reply has no final answer: expected a line starting with "
                f"{self.answer_prefix!r} after the reasoning. The model may have run out of "
                "output tokens; raise max_tokens, or make the instruction more explicit.",
                text=text,
            )
        last = matches[-1]
        return Reasoned(reasoning=text[: last.start()].strip(), answer=text[last.end() :].strip())


def parse_json_answer(
    text: str, spec: OutputSpec, model: type[BaseModel] | None, *, whole_reply: str | None = None
) -> Any:
    """Parse ``text`` as the JSON answer described by ``spec``.

    A surrounding Markdown code fence is tolerated. With a pydantic ``model`` the result is
    a validated instance; with only a raw schema it is the decoded JSON object.

    Raises:
        OutputParseError: the text is not JSON, or does not validate against the model.
    """
    reply = text if whole_reply is None else whole_reply
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group("body").strip()
    if model is not None:
        from pydantic import ValidationError

        from promptlib._validation import summary

        if spec.schema_first:
            _decoded_object(candidate, spec, reply)
        contract = spec.contract_model
        try:
            if contract is not None and contract is not model:
                contract.model_validate_json(candidate)
            return model.model_validate_json(candidate)
        except ValidationError as exc:
            raise OutputParseError(
                f"the answer does not match the output schema {spec.name!r}: {summary(exc)}",
                text=reply,
            ) from exc
    return _decoded_object(candidate, spec, reply)


def _decoded_object(candidate: str, spec: OutputSpec, reply: str) -> dict[str, Any]:
    """``candidate`` as a JSON object valid under ``spec.schema``."""
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise OutputParseError(
            f"the answer is not valid JSON for schema {spec.name!r}: {exc.msg} at line "
            f"{exc.lineno} column {exc.colno}",
            text=reply,
        ) from exc
    if not isinstance(value, dict):
        raise OutputParseError(
            f"the answer for schema {spec.name!r} must be a JSON object, got "
            f"{type(value).__name__}",
            text=reply,
        )
    violations = schema_violations(spec.schema, value)
    if violations:
        raise OutputParseError(
            f"the answer does not match the output schema {spec.name!r}: " + "; ".join(violations),
            text=reply,
        )
    return value


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", OutputSpec, Reasoned, ReasoningSpec)
