"""The one Jinja environment promptlib renders with, and compiling text in it.

Template text is code written by many hands, so it runs in Jinja's
:class:`~jinja2.sandbox.SandboxedEnvironment` with :class:`~jinja2.StrictUndefined`, under
the limits in force, and is checked before anything renders (see
:mod:`promptlib._templates.checks`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import (
    BaseLoader,
    StrictUndefined,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
)
from jinja2 import Template as JinjaTemplate
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from promptlib._errors import TemplateError, TemplateRenderError, TemplateSecurityError
from promptlib._shown import short_repr
from promptlib._templates.checks import (
    DELIMIT_FILTER,
    KEPT_GLOBALS,
    Checks,
    Partials,
    parse_text,
    plain_interpolation,
)
from promptlib._templates.delimiters import delimit
from promptlib._templates.limits import DEFAULT_LIMITS, LimitExceeded, Limits, enter, leave
from promptlib._templates.origin import Origin
from promptlib._templates.sandbox import BoundedEnvironment, finalize

__all__ = [
    "RESERVED_NAMES",
    "JinjaText",
    "Origin",
    "compile_text",
    "environment",
    "make_environment",
]

RESERVED_NAMES: frozenset[str] = frozenset(
    {
        # Jinja's default globals (some removed here, but names a reader knows as Jinja's)
        "range", "dict", "namespace", "lipsum", "cycler", "joiner",
        # names Jinja binds itself inside templates, loops, macros and call blocks
        "self", "loop", "caller", "varargs", "kwargs", "super", "context", "environment",
        # literals and operators of the expression language
        "true", "false", "none", "True", "False", "None",
        "and", "or", "not", "in", "is", "if", "else", "elif", "recursive", "with", "without",
    }
)  # fmt: skip
"""Names an input may not have: in a template they mean something else than the input."""


def _tojson(value: Any, indent: int | None = None) -> str:
    # Jinja's own tojson escapes <, > and & for HTML; a prompt wants the JSON as it is.
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 16):
        raise TemplateError(f"tojson(indent={short_repr(indent)}): use a whole number from 0 to 16")
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def make_environment(loader: BaseLoader | None = None) -> SandboxedEnvironment:
    """A sandboxed, strict, bounded environment; ``loader`` serves ``{% include %}``."""
    env = BoundedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        finalize=finalize,
    )
    env.globals = {k: env.globals[k] for k in KEPT_GLOBALS}
    env.filters[DELIMIT_FILTER] = delimit
    env.filters["tojson"] = _tojson
    env.guard_filters()
    return env


@cache
def environment() -> SandboxedEnvironment:
    """The shared environment of templates defined in Python (built on first use)."""
    return make_environment()


@dataclass(frozen=True)
class JinjaText:
    """A compiled piece of template text.

    Attributes:
        source: the text as written.
        variables: the input variables it reads, each with the first line that reads it.
    """

    source: str
    variables: Mapping[str, int]
    origin: Origin
    _template: JinjaTemplate
    # For text that only interpolates plain variables: the literal pieces around them.
    _interpolation: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    _limits: Limits = DEFAULT_LIMITS
    _max_chars: int = DEFAULT_LIMITS.output_chars  # _limits.output_chars, for the fast path

    @property
    def is_static(self) -> bool:
        """True when the text reads no inputs, so it can be rendered once and reused."""
        return not self.variables

    def render(self, values: Mapping[str, Any]) -> str:
        """Render with ``values``; Jinja failures become promptlib errors naming the line.

        The render runs under the text's :class:`~promptlib._templates.limits.Limits`.
        """
        if self._interpolation is not None:
            # Same output as Jinja (which prints str(value)), without building a context.
            # A missing name falls through to Jinja, which reports it properly.
            literals, names = self._interpolation
            parts = [literals[0]]
            try:
                for name, literal in zip(names, literals[1:], strict=True):
                    parts += (str(values[name]), literal)
            except KeyError:
                pass
            else:
                text = "".join(parts)
                if len(text) > self._max_chars:
                    raise self.origin.error(_too_long(self._limits), None, TemplateSecurityError)
                return text
        token = enter(self._limits)
        try:
            return self._render(values)
        except SecurityError as exc:
            raise self._error(
                f"the sandbox refused: {exc}. Templates may not reach Python internals.",
                exc,
                TemplateSecurityError,
            ) from exc
        except UndefinedError as exc:
            raise self._error(
                f"{exc}. Check the attribute or key name against the input model, or guard "
                "it with '{% if … is defined %}'.",
                exc,
                TemplateRenderError,
            ) from exc
        except TemplateError as exc:
            cls = TemplateSecurityError if isinstance(exc, LimitExceeded) else type(exc)
            if exc.template is not None and not isinstance(exc, LimitExceeded):
                raise
            raise self._error(exc.reason, exc, cls) from exc
        except RecursionError as exc:
            raise self._error(
                "the text nests or recurses too deeply (a macro calling itself?); make it "
                "shallower",
                exc,
                TemplateSecurityError,
            ) from exc
        except MemoryError as exc:
            raise self._error(
                "rendering ran out of memory. Build less text, or lower Limits(output_chars=...).",
                exc,
                TemplateSecurityError,
            ) from exc
        except Exception as exc:  # TypeError, ValueError, Jinja's own, ...: the text failed
            raise self._error(
                f"rendering failed: {type(exc).__name__}: {exc}",
                exc,
                TemplateRenderError,
            ) from exc
        finally:
            leave(token)

    def _error(
        self, message: str, exc: BaseException, cls: type[TemplateError] = TemplateError
    ) -> TemplateError:
        """The error for ``exc`` raised while rendering, located in the partial that raised
        it when one did (and where that partial was included)."""
        line, partial = _template_line(exc), _partial_site(exc)
        if partial is None:
            return self.origin.error(message, line, cls)
        file, partial_line = partial
        return cls(
            f"{message} (in a partial, included at {self.origin.where(line)})",
            template=self.origin.template,
            location=f"{file}:{partial_line}",
            line=partial_line,
        )

    def _render(self, values: Mapping[str, Any]) -> str:
        # Jinja's render, with the output counted as it is produced.
        template = self._template
        limit = self._limits.output_chars
        try:
            parts: list[str] = []
            size = 0
            for part in template.root_render_func(template.new_context(dict(values))):
                size += len(part)
                if size > limit:
                    raise LimitExceeded(_too_long(self._limits))
                parts.append(part)
            return "".join(parts)
        except Exception:
            template.environment.handle_exception()  # rewrites the traceback to template lines
            raise  # pragma: no cover - handle_exception always raises


def _too_long(limits: Limits) -> str:
    return (
        f"the text renders to more than {limits.output_chars:,} characters. Render less, or "
        "raise Limits(output_chars=...)."
    )


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so that template frames carry the template's own line.
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _partial_site(exc: BaseException) -> tuple[str, int] | None:
    """The file and line of the innermost template frame, when it is a partial's."""
    site = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name == "<template>":
            site = None
        elif not name.startswith("<") and not name.endswith((".py", ".pyc")):
            site = (name, tb.tb_lineno)  # Jinja's frame for a line of an included file
        tb = tb.tb_next
    return site


def compile_text(
    source: str,
    origin: Origin,
    *,
    declared: Collection[str],
    untrusted: Collection[str] = (),
    allow_untrusted: bool = True,
    extra_names: Collection[str] = (),
    env: SandboxedEnvironment | None = None,
    includes: dict[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> JinjaText:
    """Parse, check and compile template text.

    Args:
        source: the Jinja text.
        origin: where it comes from, for error messages.
        declared: the input variables the text may read.
        untrusted: those of ``declared`` that must only be printed through ``delimit``.
        allow_untrusted: False where untrusted input may not appear at all (the system role).
        extra_names: further names the text may read (e.g. a few-shot example's fields).
        env: the environment; one with a loader allows ``{% include %}``.
        includes: filled with the source of every partial the text includes, by name.
        limits: the bounds its renders run under (and its expansion of includes).

    Raises:
        TemplateError: bad syntax, an undeclared variable, untrusted input misused, or an
            include that is missing, dynamic, or part of a cycle.
        TemplateSecurityError: access to a private attribute, or an include outside the root.
    """
    env = env or environment()
    checks = Checks(set(declared), set(extra_names), set(untrusted), allow_untrusted, env)
    try:
        tree = parse_text(env, source, origin)
        variables = checks.run(tree, origin)
        partials = Partials(env, checks, limits)
        for name, line in partials.variables(tree, origin, ()).items():
            variables.setdefault(name, line)
        compiled = _compile(env, tree, origin)
    except RecursionError as exc:
        raise origin.error(
            "the text nests too deeply (brackets, blocks or includes inside one another); "
            "flatten it",
            None,
            TemplateSecurityError,
        ) from exc
    if includes is not None:
        includes.update(partials.sources)
    return JinjaText(
        source=source,
        variables={k: v for k, v in variables.items() if k in checks.declared},
        origin=origin,
        _template=compiled,
        _interpolation=plain_interpolation(tree),
        _limits=limits,
        _max_chars=limits.output_chars,
    )


def _compile(env: SandboxedEnvironment, tree: nodes.Template, origin: Origin) -> JinjaTemplate:
    try:
        return env.from_string(tree)
    except TemplateSyntaxError as exc:  # also Jinja's assertion errors
        raise origin.error(f"invalid template: {exc.message}", exc.lineno) from exc
    except (SyntaxError, MemoryError) as exc:  # Python's compiler gave up on the nesting
        raise origin.error(
            f"the text is too complex to compile ({type(exc).__name__}); flatten it",
            None,
            TemplateSecurityError,
        ) from exc
