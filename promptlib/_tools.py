"""Tools a prompt offers the model: function tools, and providers' own (server) tools.

Declare a function tool from a pydantic model (:meth:`Tool.from_model`), from a typed
Python function (:meth:`Tool.from_function`), or from a JSON schema. A :class:`Prompt`
carries its tools with ``tool_choice``; the adapters send them natively, and
:attr:`Completion.tool_calls` holds the calls the model made, parsed into the tool's model.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Self

from promptlib._errors import ConfigurationError, PromptFormatError
from promptlib._hashing import canonical_json
from promptlib._parts import check_json, check_tool_name
from promptlib._pickling import GENERATED, Picklable

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["CHOICES", "NativeTool", "Tool", "ToolChoice", "check_tool_choice"]

ToolChoice = str
"""``"auto"`` (the model decides), ``"none"``, ``"required"`` (some tool), or a tool's name."""
CHOICES = ("auto", "none", "required")


@dataclass(frozen=True)
class Tool(Picklable):
    """A function the model may ask to call.

    Attributes:
        name: 1 to 64 letters, digits, ``_`` or ``-`` (not ``auto``, ``none`` or
            ``required``, which name tool choices).
        description: what the tool does and when to use it; the model reads it.
        parameters: the JSON schema of the arguments (an object schema).
        strict: ask the provider to hold the arguments to the schema exactly (OpenAI
            ``strict``, Anthropic ``strict``); ``None`` sends no flag.
        model: the pydantic model the arguments validate into (not serialized).
    """

    name: str
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({"type": "object", "properties": {}})
    )
    description: str | None = None
    strict: bool | None = None
    model: type[Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_tool_name(self.name, "Tool")
        if self.name in CHOICES:
            raise PromptFormatError(
                f"Tool name {self.name!r} is a tool_choice value; name the tool after what it "
                "does, e.g. 'get_weather'"
            )
        if not isinstance(self.parameters, Mapping) or self.parameters.get("type") != "object":
            raise PromptFormatError(
                f"Tool {self.name!r}: parameters= must be a JSON schema of type 'object' (the "
                "arguments are named); wrap a single value in a model with one field"
            )
        if self.description is not None and not isinstance(self.description, str):
            raise PromptFormatError(f"Tool {self.name!r}: description= must be text")
        if self.strict is not None and not isinstance(self.strict, bool):
            raise PromptFormatError(f"Tool {self.name!r}: strict= must be True, False or None")
        parameters = dict(self.parameters)
        _check_schema(parameters, self.name)
        object.__setattr__(self, "parameters", MappingProxyType(parameters))

    @classmethod
    def from_model(
        cls,
        model: type[BaseModel],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> Self:
        """A tool whose arguments are ``model``'s fields; its docstring describes it."""
        from pydantic import BaseModel

        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise PromptFormatError(
                f"Tool.from_model({model!r}): pass a pydantic model class (its fields are the "
                "arguments), or use Tool.from_function / Tool(name=..., parameters=...)"
            )
        schema = model.model_json_schema()
        ref = schema.get("$ref")
        if isinstance(ref, str) and "type" not in schema:  # a recursive model: its own $def
            schema = {**schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {}), **schema}
            schema.pop("$ref")
        docstring = schema.pop("description", None)
        doc = description if description is not None else docstring
        schema.pop("title", None)
        return cls(
            name=name or _snake(model.__name__),
            parameters=schema,
            description=doc,
            strict=strict,
            model=model,
        )

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> Self:
        """A tool whose arguments are ``function``'s typed parameters; its docstring's
        first paragraph describes it.

        Raises:
            PromptFormatError: a parameter has no type annotation, or takes ``*args``.
        """
        from pydantic import PydanticUserError, create_model

        where = getattr(function, "__qualname__", None) or type(function).__name__
        try:
            signature = inspect.signature(function, eval_str=True)
        except (NameError, TypeError, ValueError) as exc:
            raise PromptFormatError(f"Tool.from_function({where}): {exc}") from exc
        fields: dict[str, Any] = {}
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise PromptFormatError(
                    f"Tool.from_function({where}): *{parameter.name} cannot be a tool "
                    "argument; name each argument"
                )
            if parameter.annotation is parameter.empty:
                raise PromptFormatError(
                    f"Tool.from_function({where}): parameter {parameter.name!r} needs a "
                    "type annotation (the model is told each argument's type)"
                )
            if parameter.name.startswith("_") or parameter.name.startswith("model_"):
                raise PromptFormatError(
                    f"Tool.from_function({where}): parameter {parameter.name!r} cannot be a "
                    "tool argument (names starting with '_' or 'model_' are pydantic's); "
                    "rename it"
                )
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[parameter.name] = (parameter.annotation, default)
        name_of = getattr(function, "__name__", None) or _snake(type(function).__name__)
        try:
            model = create_model(
                _camel(name_of),
                __module__=getattr(function, "__module__", None) or "__main__",
                **fields,
            )
            model.model_json_schema()
            setattr(model, GENERATED, True)
        except (PydanticUserError, TypeError, ValueError) as exc:
            raise PromptFormatError(
                f"Tool.from_function({where}): its arguments cannot be described as a JSON "
                f"schema ({type(exc).__name__}: {str(exc).splitlines()[0]}); use types "
                "pydantic can describe, or Tool.from_model"
            ) from exc
        doc = inspect.getdoc(function) or ""
        summary = doc.split("\n\n", 1)[0].strip() or None
        return cls.from_model(
            model,
            name=name or name_of,
            description=description if description is not None else summary,
            strict=strict,
        )

    @cached_property
    def _json(self) -> str:
        return canonical_json(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "function",
            "name": self.name,
            "parameters": dict(self.parameters),
        }
        if self.description is not None:
            out["description"] = self.description
        if self.strict is not None:
            out["strict"] = self.strict
        return out


@dataclass(frozen=True)
class NativeTool(Picklable):
    """A tool in one provider's own wire form, sent to that provider verbatim: Anthropic's
    server tools (web search, code execution) or a tool with fields promptlib does not
    model. Other providers refuse a prompt that offers one; its token counts are estimates.
    """

    provider: Literal["openai", "anthropic"]
    definition: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.provider not in ("openai", "anthropic"):
            raise PromptFormatError(
                f"NativeTool provider {self.provider!r}: use 'openai' or 'anthropic'"
            )
        if not isinstance(self.definition, Mapping) or not isinstance(
            self.definition.get("name", self.definition.get("type")), str
        ):
            raise PromptFormatError(
                "a NativeTool's definition is the provider's JSON object, with its 'name' or 'type'"
            )
        check_json(self.definition, "a NativeTool's definition")
        object.__setattr__(self, "definition", MappingProxyType(dict(self.definition)))

    @property
    def name(self) -> str:
        """The tool's name (an OpenAI function's name; its type when it has none)."""
        for key in ("function", "custom"):  # OpenAI's function and custom tools
            inner = self.definition.get(key)
            if isinstance(inner, Mapping) and isinstance(inner.get("name"), str):
                return str(inner["name"])
        return str(self.definition.get("name", self.definition.get("type")))

    @cached_property
    def _json(self) -> str:
        return canonical_json(self.to_dict())

    def sent_to(self, provider: str, label: str) -> dict[str, Any]:
        """The definition, for ``provider`` (``label``: its name in messages); another
        provider's tool is a clear error."""
        if self.provider != provider:
            raise ConfigurationError(
                f"tool {self.name!r} is an {self.provider} tool; {label} cannot run it: "
                "offer it only to that provider, or declare a function Tool"
            )
        return dict(self.definition)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "native", "provider": self.provider, "definition": dict(self.definition)}


def _check_schema(parameters: dict[str, Any], name: str) -> None:
    """The parameters must be JSON, and a JSON schema, checked as output schemas are."""
    import json

    try:
        json.dumps(parameters, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise PromptFormatError(
            f"Tool {name!r}: parameters= is not JSON ({type(exc).__name__}: {exc})"
        ) from None
    from promptlib._validation import schema_problem

    problem = schema_problem(parameters)
    if problem is not None:
        raise PromptFormatError(f"Tool {name!r}: parameters {problem[0]}")


def check_tool_choice(choice: object, tools: tuple[Tool | NativeTool, ...]) -> str | None:
    """``choice`` if it names a choice the prompt's tools allow, else a clear error."""
    if choice is None:
        return None
    if not isinstance(choice, str):
        raise PromptFormatError(
            f"tool_choice {choice!r}: use 'auto', 'none', 'required' or a tool's name"
        )
    if not tools:
        raise PromptFormatError(
            f"tool_choice={choice!r} without tools: add tools=, or leave tool_choice unset"
        )
    names = [t.name for t in tools]
    if choice not in CHOICES and choice not in names:
        raise PromptFormatError(
            f"tool_choice {choice!r} names no tool of this prompt ({', '.join(names)}); use "
            "'auto', 'none', 'required' or one of those names"
        )
    return choice


def _snake(name: str) -> str:
    """``LookupOrder`` -> ``lookup_order``; ``HTTPFetch`` -> ``http_fetch``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return words.lower()[:64]


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or "Arguments"


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", NativeTool, Tool)
