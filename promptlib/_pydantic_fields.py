"""Public values as pydantic fields: validated as themselves (or read from their JSON
form), dumped as their JSON form, described in JSON schemas as objects. pydantic is
imported only when a model with such a field is built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["json_form"]

T = TypeVar("T", bound=type)


def json_form(
    description: str,
    dump: Callable[[Any], Any],
    load: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Callable[[T], T]:
    """A class decorator: ``dump`` gives the value's JSON form; ``load``, when given,
    reads one back (so a model can be validated from JSON)."""

    def decorate(cls: T) -> T:
        def core_schema(klass: type, source: Any, handler: Any) -> Any:
            from pydantic_core import core_schema

            def validate(value: Any) -> Any:
                if isinstance(value, klass):
                    return value
                if load is not None and isinstance(value, Mapping):
                    from promptlib._errors import PromptlibError

                    try:
                        return load(value)
                    except PromptlibError as exc:  # pydantic reports ValueErrors per field
                        raise ValueError(str(exc)) from None
                wanted = "or its JSON form" if load is not None else "instance"
                raise ValueError(f"expected a promptlib.{klass.__name__} {wanted}")

            return core_schema.no_info_plain_validator_function(
                validate, serialization=core_schema.plain_serializer_function_ser_schema(dump)
            )

        def json_schema(klass: type, schema: Any, handler: Any) -> dict[str, Any]:
            return {"type": "object", "title": klass.__name__, "description": description}

        cls.__get_pydantic_core_schema__ = classmethod(core_schema)  # type: ignore[attr-defined]
        cls.__get_pydantic_json_schema__ = classmethod(json_schema)  # type: ignore[attr-defined]
        return cls

    return decorate
