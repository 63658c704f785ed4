"""The LLM judge: a scorer that asks a model (through a promptlib template) to grade a
reply, and reads its verdict from the template's output."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from promptlib._errors import ConfigurationError, ModelOutputError
from promptlib._tokens.cost import Usage
from promptlib.evals._dataset import Case
from promptlib.evals._scorers import Score, Scorer, _named, _type, as_json, reply_output

if TYPE_CHECKING:
    from promptlib._providers.completion import Completion
    from promptlib._providers.protocol import Provider
    from promptlib._templates.template import Template

__all__ = ["judge"]


_JUDGE_INPUTS = ("inputs", "expected", "output", "text")


class _Judge:
    def __init__(
        self,
        template: Template[Any, Any],
        provider: Provider,
        model: str | None,
        name: str,
        score_field: str | None,
        pass_field: str | None,
        reason_field: str | None,
    ) -> None:
        from promptlib._templates.template import Template

        if not isinstance(template, Template):
            raise ConfigurationError(
                f"judge() takes a promptlib.Template (e.g. Registry(...).get('judge@1.0.0')), "
                f"got {_type(template)}"
            )
        if not callable(getattr(provider, "acomplete", None)):
            raise ConfigurationError(
                f"judge() takes a promptlib.Provider (with acomplete), got {_type(provider)}"
            )
        self.name = _named("judge", None, name)
        self.template = template
        self.provider = provider
        self.model = model
        self.score_field = score_field
        self.pass_field = pass_field
        self.reason_field = reason_field
        fields = template.inputs.model_fields
        for field, info in fields.items():
            if field not in _JUDGE_INPUTS and info.is_required():
                raise ConfigurationError(
                    f"judge template {template.label!r} requires the input {field!r}; a judge's "
                    f"inputs are {', '.join(map(repr, _JUDGE_INPUTS))} (declare only those)"
                )
        self.inputs = [field for field in _JUDGE_INPUTS if field in fields]
        self.as_text = {field for field in self.inputs if fields[field].annotation is str}
        self.optional = {field for field in self.inputs if not fields[field].is_required()}
        if template.output is None:
            raise ConfigurationError(
                f"judge template {template.label!r} has no output schema; give it an output "
                f"model with a {score_field or pass_field!r} field"
            )
        properties = template.output.schema.get("properties", {})
        if score_field is None and pass_field is None:
            raise ConfigurationError("judge() needs score_field= or pass_field=")
        for label, wanted in (("score_field", score_field), ("pass_field", pass_field)):
            if wanted is not None and wanted not in properties:
                raise ConfigurationError(
                    f"judge template {template.label!r}: its output has no field {wanted!r} "
                    f"({label}=); its fields are {', '.join(map(repr, properties)) or 'none'}"
                )
        self.scale = _scale(properties.get(score_field, {})) if score_field else None

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        available = {
            "inputs": dict(case.inputs),
            "expected": as_json(case.expected),
            "output": as_json(reply_output(completion)),
            "text": completion.text,
        }
        values = {}
        for field in self.inputs:
            value = available[field]
            if value is None and field in self.optional:
                continue  # the template's default says what "no expected value" reads as
            if field in self.as_text and not isinstance(value, str):
                value = json.dumps(value, indent=2, ensure_ascii=False)
            values[field] = value
        prompt = self.template.render(**values)
        try:
            reply = await self.provider.acomplete(prompt, self.model)
        except ModelOutputError as exc:
            # The judge answered unusably: tokens were spent all the same.

            usage = getattr(exc, "usage", None)
            return Score(
                self.name,
                None,
                error=f"{type(exc).__name__}: {exc}",
                usage=usage if isinstance(usage, Usage) else None,
            )
        verdict = as_json(reply.output)
        if not isinstance(verdict, Mapping):
            raise TypeError(f"judge {self.name!r}: the reply's output is not an object")
        value, passed = self._value(verdict)
        reason = verdict.get(self.reason_field) if self.reason_field else None
        return Score(
            self.name,
            value,
            passed=passed,
            reason=reason if isinstance(reason, str) else None,
            usage=reply.usage,
            cost=reply.cost.total,
        )

    def _value(self, verdict: Mapping[str, Any]) -> tuple[float, bool | None]:
        passed: bool | None = None
        if self.pass_field is not None:
            passed = verdict.get(self.pass_field)
            if not isinstance(passed, bool):
                raise TypeError(
                    f"judge {self.name!r}: {self.pass_field!r} is {passed!r}, not true or false"
                )
        if self.score_field is None:
            return float(bool(passed)), passed
        raw = verdict.get(self.score_field)
        if isinstance(raw, bool):
            return float(raw), passed if passed is not None else raw
        if not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise TypeError(f"judge {self.name!r}: {self.score_field!r} is {raw!r}, not a number")
        value = float(raw)
        if self.scale is not None:
            low, high = self.scale
            value = (value - low) / (high - low)
        if not 0 <= value <= 1:
            raise ValueError(
                f"judge {self.name!r}: {self.score_field!r} is {raw!r}, outside [0, 1]; declare "
                "the scale on the output field (minimum and maximum, e.g. 1 and 5) so it is "
                "normalised"
            )
        return value, passed


def _scale(schema: Mapping[str, Any]) -> tuple[float, float] | None:
    """The ``(low, high)`` bounds a score field's schema declares, if any besides [0, 1]."""
    low, high = schema.get("minimum"), schema.get("maximum")
    enum = schema.get("enum")
    if (low is None or high is None) and isinstance(enum, list):
        numbers = [v for v in enum if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            low, high = min(numbers), max(numbers)
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or high <= low:
        return None
    if (low, high) == (0, 1):
        return None
    return float(low), float(high)


def judge(
    template: Template[Any, Any],
    provider: Provider,
    *,
    model: str | None = None,
    name: str = "judge",
    score_field: str | None = "score",
    pass_field: str | None = None,
    reason_field: str | None = "reason",
) -> Scorer:
    """An LLM judge: a template that grades the answer, sent through ``provider``.

    The template's input model may declare any of ``inputs`` (the case's inputs, an
    object), ``expected`` (the case's expected value), ``output`` (the answer's output as
    JSON) and ``text`` (the answer's text); only those it declares are rendered, and a field
    typed as text receives JSON text for a non-text value. Its output model holds the
    verdict:

    - ``score_field``: a number in [0, 1]; or on a scale the field declares with
      ``minimum``/``maximum`` (``Field(ge=1, le=5)``) or an ``enum`` of numbers,
      normalised to [0, 1] (1–5: 1 → 0.0, 3 → 0.5, 5 → 1.0); or a bool (1.0 / 0.0, and
      ``passed``). A number outside [0, 1] on an undeclared scale is an error score.
    - ``pass_field``: a bool setting ``passed`` (alone, with ``score_field=None``, it
      also gives the value).
    - ``reason_field``: text kept as the score's ``reason``.

    The judge's own tokens and cost go into the score's ``usage`` and ``cost`` (when its
    reply stays unusable after repairs, the error score still carries the tokens).

    Raises:
        ConfigurationError: the template requires another input, has no output schema, or
            lacks the score or pass field.
    """
    return _Judge(template, provider, model, name, score_field, pass_field, reason_field)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", judge)
