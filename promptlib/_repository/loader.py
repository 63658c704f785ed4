"""Loading one template file into a :class:`~promptlib.Template`.

Loading never executes code from the file: the front matter is read with YAML's safe
loader, the body is compiled in the sandbox, and an output model named in the file is
imported only from modules the user allowed.
"""

from __future__ import annotations

import difflib
import importlib
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptlib._errors import TemplateError, UnusedInputWarning
from promptlib._repository.body import parse_body
from promptlib._repository.frontmatter import SourceFile, read_source
from promptlib._repository.inputs_spec import build_input_model
from promptlib._repository.semver import Version
from promptlib._repository.tools_spec import build_tools
from promptlib._shown import short_repr
from promptlib._templates.limits import Limits, current_limits, use_limits
from promptlib._templates.template import Template

__all__ = ["EXTENSION", "ModelResolver", "TemplateFile", "load_file", "valid_name"]

EXTENSION = ".prompt"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_KEYS = (
    "name",
    "version",
    "description",
    "model",
    "params",
    "inputs",
    "output",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "examples",
    "tests",
    "unused_inputs",
)


def valid_name(name: str) -> bool:
    """Template names are lowercase: letters, digits, '.', '_' and '-'."""
    return bool(_NAME.fullmatch(name))


@dataclass(frozen=True)
class ModelResolver:
    """Which Python output models a template file may name (``output: {model: ...}``).

    Attributes:
        models: models by reference (``"app.schemas:Triage"``) or by class name.
        modules: module prefixes (e.g. ``"app"``) from which a referenced model may be
            imported, or single models (``"app.schemas:Triage"``). Nothing is imported
            unless listed here.
        paths: folders searched first for those modules (a project's root, where its
            package may not be installed).
    """

    models: Mapping[str, type[Any]] = field(default_factory=dict)
    modules: Sequence[str] = ()
    paths: Sequence[str] = ()

    def resolve(
        self, reference: str, source: SourceFile, where: tuple[Any, ...] = ("output", "model")
    ) -> type[Any]:
        """The model class ``reference`` names, if the file may use it; errors point at
        the front-matter key ``where``."""
        from pydantic import BaseModel

        what = "output model" if where[0] == "output" else "tool model"

        if reference in self.models:
            return self.models[reference]
        module_name, _, class_name = reference.partition(":")
        if class_name and class_name in self.models:
            return self.models[class_name]
        if not class_name or not module_name:
            raise source.error(
                f"{what} {reference!r} must be written 'package.module:ClassName'",
                *where,
            )
        allowed = any(
            reference == m or module_name == m or module_name.startswith(f"{m}.")
            for m in self.modules
        )
        if not allowed:
            top = module_name.split(".")[0]
            raise source.error(
                f"{what} {reference!r} may not be imported: template files only name "
                f'models you allow. Add output_models = ["{top}"] under [tool.promptlib] in '
                "pyproject.toml (for the promptlib command, promptlib test and pytest; in Python "
                "promptlib.settings.project_settings().registry() applies it), or pass "
                f"Registry(..., model_modules=['{top}']) or "
                f"Registry(..., models={{'{class_name}': {class_name}}})",
                *where,
            )
        try:
            model = getattr(_import(module_name, self.paths), class_name)
        except (ImportError, AttributeError) as exc:
            raise source.error(
                f"{what} {reference!r} could not be loaded: {exc}. Install your project "
                "(pip install -e .) or run from its folder",
                *where,
            ) from exc
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise source.error(f"{what} {reference!r} is not a pydantic model class", *where)
        return model


def _import(name: str, paths: Sequence[str]) -> Any:
    """Import ``name``, also from ``paths`` (put ahead of sys.path while importing)."""
    missing = [p for p in paths if p not in sys.path]
    sys.path[:0] = missing
    try:
        return importlib.import_module(name)
    finally:
        for p in missing:
            if p in sys.path:
                sys.path.remove(p)


@dataclass(frozen=True)
class TemplateFile:
    """One version of one template, loaded from its file.

    Attributes:
        path: the file.
        template: the compiled template; its prompts carry ``meta.source``.
        tests: the test cases declared in the front matter, as data.
        text: the file's text, as read.
    """

    path: Path
    template: Template[Any, Any]
    tests: tuple[Mapping[str, Any], ...]
    text: str

    @property
    def ref(self) -> str:
        return self.template.label


def load_file(
    path: Path, root: Path, resolver: ModelResolver | None = None, limits: Limits | None = None
) -> TemplateFile:
    """Load ``root/<name>/<version>.prompt`` under ``limits`` (default: those in force).

    Raises:
        TemplateError: any problem in the file, naming the file, the line and the fix.
    """
    limits = limits or current_limits()
    try:
        with use_limits(limits):
            return _load(path, root, resolver, limits)
    except (RecursionError, MemoryError) as exc:
        raise TemplateError(
            f"the file could not be loaded ({type(exc).__name__}): something in it nests too "
            "deeply or expands too much",
            location=str(path),
        ) from exc
    except (TypeError, ValueError) as exc:  # a value of a type no check foresaw
        raise TemplateError(
            f"the file could not be loaded ({type(exc).__name__}: {exc}). A front-matter "
            "value may have a type YAML guessed (a date, a timestamp): quote it.",
            location=str(path),
        ) from exc


def _load(path: Path, root: Path, resolver: ModelResolver | None, limits: Limits) -> TemplateFile:
    source = read_source(path, limits)
    meta = source.meta
    _check_keys(source)
    _check_values(source, source.meta, (), limits)
    name, version = _identity(source, path, root)
    _check_examples(source)
    inputs = build_input_model(source, name)
    resolver = resolver or ModelResolver()
    output = _output(source, resolver)
    tools = build_tools(source, resolver.resolve)
    blocks = parse_body(source)
    tests = meta.get("tests") or []
    if not isinstance(tests, list) or not all(isinstance(t, dict) for t in tests):
        raise source.error("'tests' must be a list of test cases (mappings)", "tests")
    unused = meta.get("unused_inputs", "warn")
    if unused not in ("warn", "error", "ignore"):
        raise source.error("'unused_inputs' must be warn, error or ignore", "unused_inputs")
    try:
        template: Template[Any, Any] = Template(
            blocks,
            name=name,
            version=version,
            inputs=inputs,
            output=output,
            description=_text(source, "description"),
            model=_optional_text(source, "model"),
            params=meta.get("params"),
            unused_inputs="ignore",  # checked below, against the file's own lines
            source=_relative(path, root),
            partials=root,
            tools=tools,
            tool_choice=meta.get("tool_choice"),
            parallel_tool_calls=meta.get("parallel_tool_calls"),
        )
    except TemplateError as exc:
        if exc.location:
            raise
        key = "params" if "parameter" in exc.reason else None
        for name in ("parallel_tool_calls", "tool_choice", "tools"):
            if name in exc.reason or (name == "tools" and "tool" in exc.reason):
                key = name if name in source.meta else key
                break
        raise source.error(exc.reason, *((key,) if key else ())) from exc
    template._declare_inputs(meta.get("inputs") or {})
    _check_unused(source, template, unused)
    return TemplateFile(path, template, tuple(tests), source.text)


def _check_unused(source: SourceFile, template: Template[Any, Any], policy: str) -> None:
    """Inputs the front matter declares and no block uses: warned about (or refused) at
    the line that declares the first of them."""
    unused = template._unused()
    if not unused or policy == "ignore":
        return
    message = (
        f"input {', '.join(map(repr, unused))} is declared under inputs: but used by no "
        "block. Use it, remove it, or set unused_inputs: ignore in the front matter."
    )
    if policy == "error":
        raise source.error(message, "inputs", unused[0])
    line = source.line_of("inputs", unused[0]) or 1
    warnings.warn_explicit(
        f"template {template.label!r}: {message}", UnusedInputWarning, str(source.path), line
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve().parent).as_posix()
    except ValueError:
        return str(path)


def _check_keys(source: SourceFile) -> None:
    for key in source.meta:
        if key not in _KEYS:
            hint = difflib.get_close_matches(str(key), _KEYS, n=1)
            fix = f"; did you mean {hint[0]!r}?" if hint else ""
            raise source.error(
                f"unknown front-matter key {key!r}{fix} (known: {', '.join(_KEYS)})", key
            )


def _check_values(
    source: SourceFile, value: Any, path: tuple[str | int, ...], limits: Limits
) -> None:
    """Refuse front-matter values a prompt, a hash or JSON cannot carry, with their line."""
    import math

    problem = None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                problem = f'the key {key!r} is not text; quote it ("{key}")'
                break
            _check_values(source, item, (*path, key), limits)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(source, item, (*path, index), limits)
    elif isinstance(value, str):
        if not value.isascii() and any("\ud800" <= char <= "\udfff" for char in value):
            problem = "the text holds a lone surrogate (\\ud800-\\udfff): not valid Unicode"
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if value.bit_length() > limits.int_bits:
            problem = f"a number of more than {limits.int_digits:,} digits"
    elif isinstance(value, float):
        if not math.isfinite(value):
            problem = f"{value} is not a number a prompt (or JSON) can carry"
    elif isinstance(value, (bytes, set)):
        problem = (
            f"a YAML {'!!binary' if isinstance(value, bytes) else '!!set'} value; use text "
            "or a list"
        )
    if problem is not None:
        where = ".".join(map(str, path)) or "the front matter"
        raise source.error(f"{where}: {problem}", *path)


def _check_examples(source: SourceFile) -> None:
    """Refuse ``examples`` that are not a list of {input, output} mappings, or whose
    inputs name inputs the template does not declare."""
    examples = source.meta.get("examples")
    if examples is None:
        return
    if not isinstance(examples, list):
        raise source.error(
            f"'examples' must be a list of {{input: ..., output: ...}}, got "
            f"{type(examples).__name__} {short_repr(examples)}",
            "examples",
        )
    declared = source.meta.get("inputs") or {}
    names = set(declared) if isinstance(declared, dict) else set()
    for index, item in enumerate(examples):
        if not isinstance(item, dict) or "input" not in item or "output" not in item:
            raise source.error(
                f"example {index + 1} needs 'input' and 'output' (and optionally 'reasoning')",
                "examples",
                index,
            )
        given = item["input"]
        if not isinstance(given, dict):
            continue
        for key in given:
            if key not in names:
                hint = difflib.get_close_matches(str(key), sorted(names), n=1)
                fix = f"; did you mean {hint[0]!r}?" if hint else ""
                known = ", ".join(sorted(names)) or "none"
                raise source.error(
                    f"example {index + 1}: input {short_repr(key)} is not declared in "
                    f"'inputs'{fix} (declared: {known})",
                    "examples",
                    index,
                    "input",
                    key,
                )


def _text(source: SourceFile, key: str) -> str:
    value = source.meta.get(key, "")
    if not isinstance(value, str):
        raise source.error(f"{key!r} must be text", key)
    return value.strip()


def _optional_text(source: SourceFile, key: str) -> str | None:
    return _text(source, key) or None


def _identity(source: SourceFile, path: Path, root: Path) -> tuple[str, str]:
    expected_name = path.parent.name
    expected_version = path.name[: -len(EXTENSION)]
    name, version = source.meta.get("name"), source.meta.get("version")
    if not isinstance(name, str) or not name:
        raise source.error(
            f"missing 'name': add 'name: {expected_name}' to the front matter", line=2
        )
    if not _is_semver(expected_version):
        raise source.error(
            f"the file name {path.name!r} is not <version>{EXTENSION} with a semantic version "
            "MAJOR.MINOR.PATCH in plain ASCII digits (e.g. 1.0.0.prompt, 1.1.0-rc.1.prompt); "
            "rename the file",
            line=1,
        )
    if not isinstance(version, str):
        shown = "missing" if version is None else f"read by YAML as {version!r}"
        raise source.error(
            f"'version' must be a quoted string holding a semantic version MAJOR.MINOR.PATCH "
            f'such as "{expected_version}" ({shown}); quote it so YAML keeps it as text',
            "version",
        )
    if not valid_name(name):
        raise source.error(
            f"template name {name!r} must be lowercase letters, digits, '.', '_' or '-'", "name"
        )
    if not _is_semver(version):
        raise source.error(
            f"version {version!r} is not a semantic version: use MAJOR.MINOR.PATCH in plain "
            "ASCII digits, e.g. '1.0.0' or '1.1.0-rc.1', without spaces",
            "version",
        )
    if name != expected_name:
        raise source.error(
            f"name {name!r} does not match the file's folder {expected_name!r}: a template's "
            f"versions live in <templates>/<name>/<version>{EXTENSION}. Rename the folder or "
            "fix the name.",
            "name",
        )
    if version != expected_version:
        raise source.error(
            f"version {version!r} does not match the file name {path.name!r}: rename the file "
            f"to {version}{EXTENSION} or fix the version",
            "version",
        )
    return name, version


def _is_semver(text: str) -> bool:
    try:
        Version.parse(text)
    except ValueError:
        return False
    return True


def _output(source: SourceFile, resolver: ModelResolver) -> Any:
    output = source.meta.get("output")
    if output is None:
        return None
    if not isinstance(output, dict):
        raise source.error(
            "'output' must be a JSON schema (a mapping with type: object) or "
            "{model: package.module:ClassName}",
            "output",
        )
    if set(output) == {"model"}:
        return resolver.resolve(str(output["model"]), source)
    from promptlib._validation import schema_problem

    problem = schema_problem(output)
    if problem is not None:
        message, path = problem
        raise source.error(f"'output' {message}", "output", *path)
    if output.get("type") != "object":
        raise source.error(
            "'output' must describe a JSON object (type: object), as providers' structured "
            "output requires; wrap other values in a property",
            "output",
        )
    return output


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", TemplateFile)
