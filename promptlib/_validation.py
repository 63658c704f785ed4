"""Turning a pydantic ValidationError into the ``field: problem`` lines our messages use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


def problems(exc: ValidationError, root: str = "(root)") -> list[tuple[str, str]]:
    """One ``(dotted field path, message)`` pair per error."""
    return [
        (".".join(str(part) for part in err["loc"]) or root, err["msg"]) for err in exc.errors()
    ]


def summary(exc: ValidationError) -> str:
    """The problems on one line: ``a.b: Field required; c: Input should be …``."""
    return "; ".join(f"{field}: {message}" for field, message in problems(exc))


_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def schema_violations(schema: dict[str, Any], value: Any) -> list[str]:
    """``path: message`` for every way ``value`` breaks the JSON ``schema`` (none: valid)."""
    # Building a validator costs far more than validating: keep one per schema object
    # (a template's schema is the same object for every prompt it renders).
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        from jsonschema import Draft202012Validator

        if len(_VALIDATORS) > 256:
            _VALIDATORS.clear()
        cached = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    validator = cached[1]
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
