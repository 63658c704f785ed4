"""Front-matter ``tools:`` → :class:`~promptlib.Tool` values.

```yaml
tools:
  - name: get_weather
    description: The current weather in a city.
    parameters:
      type: object
      properties: {city: {type: string}}
      required: [city]
  - model: app.tools:LookupOrder     # a pydantic model, allowed like output models
    strict: true
tool_choice: auto                    # auto | none | required | a tool's name
```
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from promptlib._errors import PromptFormatError
from promptlib._tools import Tool

if TYPE_CHECKING:
    from promptlib._repository.frontmatter import SourceFile

# The loader's model resolver: (reference, file, front-matter key) -> the model class.
Resolve = Callable[[str, "SourceFile", tuple[Any, ...]], type[Any]]

__all__ = ["build_tools"]

_KEYS = ("name", "description", "parameters", "strict", "model")


def build_tools(source: SourceFile, resolve: Resolve) -> tuple[Tool, ...]:
    """The tools the file declares.

    Raises:
        TemplateError: a tool is malformed (names the file, line and the fix).
    """
    declared = source.meta.get("tools")
    if declared is None:
        return ()
    if not isinstance(declared, list):
        raise source.error(
            "'tools' must be a list of tools: {name, description, parameters} or "
            "{model: package.module:ClassName}",
            "tools",
        )
    return tuple(_tool(source, resolve, index, item) for index, item in enumerate(declared))


def _tool(source: SourceFile, resolve: Resolve, index: int, item: Any) -> Tool:
    if not isinstance(item, dict):
        raise source.error(
            f"tool {index + 1} must be a mapping with name and parameters, or with model",
            "tools",
            index,
        )
    for key in item:
        if key not in _KEYS:
            raise source.error(
                f"tool {index + 1} has an unknown key {key!r} (known: {', '.join(_KEYS)})",
                "tools",
                index,
                key,
            )
    strict = item.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise source.error(f"tool {index + 1}: strict must be true or false", "tools", index)
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        raise source.error(f"tool {index + 1}: description must be text", "tools", index)
    try:
        if "model" in item:
            if "parameters" in item:
                raise PromptFormatError(
                    "give either model (its fields are the parameters) or parameters, not both"
                )
            model = resolve(str(item["model"]), source, ("tools", index, "model"))
            return Tool.from_model(
                model, name=item.get("name"), description=description, strict=strict
            )
        if "name" not in item:
            raise PromptFormatError("needs a name (or a model)")
        parameters = item.get("parameters")
        if parameters is not None:
            from promptlib._validation import schema_problem

            problem = schema_problem(parameters) if isinstance(parameters, dict) else None
            if problem is not None:
                raise source.error(
                    f"tool {index + 1}: parameters {problem[0]}",
                    "tools",
                    index,
                    "parameters",
                    *problem[1],
                )
        return Tool(
            name=item["name"],
            parameters=item.get("parameters", {"type": "object", "properties": {}}),
            description=description,
            strict=strict,
        )
    except PromptFormatError as exc:
        raise source.error(f"tool {index + 1}: {exc}", "tools", index) from exc
