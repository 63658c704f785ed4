"""The checks made on template text before anything renders: syntax, access to
``_private`` attributes (the way every known Jinja sandbox escape starts), filters and
tests the environment lacks, variables the input model does not declare, untrusted inputs
printed outside a delimited block, and the partials a text includes."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from jinja2 import TemplateNotFound, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from promptlib._errors import TemplateError, TemplateSecurityError
from promptlib._templates.limits import Limits
from promptlib._templates.origin import Origin

__all__ = [
    "DELIMIT_FILTER",
    "KEPT_GLOBALS",
    "Checks",
    "Partials",
    "parse_text",
    "plain_interpolation",
]

# Globals a prompt has no use for are removed to keep the sandbox's surface small.
KEPT_GLOBALS = ("range", "dict", "namespace")
DELIMIT_FILTER = "delimit"


def parse_text(env: SandboxedEnvironment, source: str, origin: Origin) -> nodes.Template:
    try:
        return env.parse(source)
    except TemplateSyntaxError as exc:
        raise origin.error(f"syntax error: {exc.message}", exc.lineno) from exc


@dataclass(frozen=True)
class Checks:
    declared: set[str]
    extra: set[str]
    untrusted: set[str]
    allow_untrusted: bool
    env: SandboxedEnvironment

    def run(self, tree: nodes.Template, origin: Origin) -> dict[str, int]:
        """Check one parsed text; return the variables it reads, with their first lines."""
        _check_private_access(tree, origin)
        _check_known_filters_and_tests(tree, origin, self.env)
        _check_delimit_printed(tree, origin)
        variables = _read_variables(tree)
        for name, line in variables.items():
            if name not in self.declared and name not in self.extra:
                raise origin.error(_undeclared_message(name, self.declared), line)
        if self.untrusted:
            _check_untrusted(tree, set(self.untrusted), origin, self.allow_untrusted)
        return variables


class Partials:
    """The partials a text includes, each checked once, their expansions counted."""

    def __init__(self, env: SandboxedEnvironment, checks: Checks, limits: Limits) -> None:
        self.env = env
        self.checks = checks
        self.limits = limits
        self.sources: dict[str, str] = {}
        # name -> (variables it and its partials read, includes it expands to, uses delimit)
        self._done: dict[str, tuple[dict[str, int], int, bool]] = {}

    def variables(
        self, tree: nodes.Template, origin: Origin, stack: tuple[str, ...]
    ) -> dict[str, int]:
        """Check every partial ``tree`` includes, recursively; the variables they read."""
        return self._scan(tree, origin, stack)[0]

    def _scan(
        self, tree: nodes.Template, origin: Origin, stack: tuple[str, ...]
    ) -> tuple[dict[str, int], int, bool]:
        variables: dict[str, int] = {}
        count = 0
        delimits = False
        captured = _captured_includes(tree)
        for node in _walk(tree):
            if isinstance(node, (nodes.Extends, nodes.Import, nodes.FromImport)):
                raise origin.error(
                    "only {% include %} is supported for sharing text between templates; "
                    "{% extends %} and {% import %} are not",
                    node.lineno,
                )
            if isinstance(node, nodes.Filter) and node.name == DELIMIT_FILTER:
                delimits = True
            if not isinstance(node, nodes.Include):
                continue
            name = self._name(node, origin, stack)
            if name not in self._done:
                self._done[name] = self._load(name, node, origin, stack)
            found, expansions, uses_delimit = self._done[name]
            if uses_delimit and id(node) in captured:
                raise origin.error(_DELIMIT_CAPTURED, node.lineno)
            delimits = delimits or uses_delimit
            count += 1 + expansions
            if count > self.limits.includes:
                raise origin.error(
                    f"the includes expand to more than {self.limits.includes} partials "
                    "(partials including others several times). Include less, or raise "
                    "Limits(includes=...).",
                    node.lineno,
                    TemplateSecurityError,
                )
            for var, line in found.items():
                variables.setdefault(var, line)
        return variables, count, delimits

    def _name(self, node: nodes.Include, origin: Origin, stack: tuple[str, ...]) -> str:
        if not isinstance(node.template, nodes.Const) or not isinstance(node.template.value, str):
            raise origin.error(
                "an include must name its partial with a literal string, e.g. "
                "{% include 'partials/tone.j2' %}, so it can be checked before rendering",
                node.lineno,
            )
        name: str = node.template.value
        if name in stack:
            cycle = " -> ".join((*stack, name))
            raise origin.error(
                f"include cycle: {cycle}. Remove one of these includes.", node.lineno
            )
        if self.env.loader is None:
            raise origin.error(
                f"{{% include {name!r} %}} needs a templates root: load the template with a "
                "Registry, or compose blocks in Python instead",
                node.lineno,
            )
        return name

    def _load(
        self, name: str, node: nodes.Include, origin: Origin, stack: tuple[str, ...]
    ) -> tuple[dict[str, int], int, bool]:
        assert self.env.loader is not None
        try:
            source, filename, _ = self.env.loader.get_source(self.env, name)
        except TemplateNotFound as exc:
            raise origin.error(
                f"included partial {name!r} does not exist under the templates root", node.lineno
            ) from exc
        except TemplateError as exc:
            reason = exc.reason if name in exc.reason else f"partial {name!r}: {exc.reason}"
            raise origin.error(reason, node.lineno, type(exc)) from exc
        partial_origin = Origin(origin.template, f"partial {name}", filename or name)
        partial = parse_text(self.env, source, partial_origin)
        self.sources[name] = source
        variables = self.checks.run(partial, partial_origin)
        nested, count, delimits = self._scan(partial, partial_origin, (*stack, name))
        for var, line in nested.items():
            variables.setdefault(var, line)
        return variables, count, delimits


def plain_interpolation(tree: nodes.Template) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """``(literals, names)`` when the text is only literal text and ``{{ name }}``, else None."""
    literals, names = [""], []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                literals[-1] += node.data
            elif isinstance(node, nodes.Name) and node.ctx == "load":
                names.append(node.name)
                literals.append("")
            else:
                return None
    return tuple(literals), tuple(names)


def _undeclared_message(name: str, declared: Collection[str]) -> str:
    hint = difflib.get_close_matches(name, list(declared), n=1)
    fix = f"did you mean {hint[0]!r}? " if hint else ""
    fields = ", ".join(sorted(declared)) or "none"
    return (
        f"the text uses variable {name!r}, which the input model does not declare; {fix}"
        f"Declare it as a field of the input model, or fix the name (declared: {fields})."
    )


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def _is_private(name: object) -> bool:
    return isinstance(name, str) and name.startswith("_")


def _check_private_access(tree: nodes.Template, origin: Origin) -> None:
    for node in _walk(tree):
        attr: object = None
        if isinstance(node, nodes.Getattr):
            attr = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            attr = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            first = node.args[0]
            attr = first.value if isinstance(first, nodes.Const) else None
        if _is_private(attr):
            raise origin.error(
                f"access to the private attribute {attr!r} is not allowed: templates may only "
                "read the public fields of their inputs",
                node.lineno,
                TemplateSecurityError,
            )


def _check_known_filters_and_tests(
    tree: nodes.Template, origin: Origin, env: SandboxedEnvironment
) -> None:
    # Jinja defers unknown names inside {% if %} to render time: every branch is checked here.
    for node in _walk(tree):
        if isinstance(node, nodes.Filter):
            kind, name, known = "filter", node.name, env.filters
        elif isinstance(node, nodes.Test):
            kind, name, known = "test", node.name, env.tests
        else:
            continue
        if name not in known:
            public = [k for k in known if not k.startswith("_")]
            hint = difflib.get_close_matches(name, public, n=1)
            fix = f"did you mean {hint[0]!r}? " if hint else ""
            others = (
                "Jinja's built-in filters, delimit or tojson"
                if kind == "filter"
                else ("Jinja's built-in tests")
            )
            raise origin.error(
                f"there is no {kind} named {name!r}; {fix}Use one of {others}.", node.lineno
            )


_DELIMIT_CAPTURED = (
    "a delimited value must be printed as it is, e.g. {{ ticket | delimit('ticket') }}: "
    "slicing it, calling its methods, filtering or formatting it further, keeping it with "
    "{% set %}, or printing it inside a macro, a call block, a {% set %} block or a filter "
    "block (including a partial that delimits) could remove or change its delimiters"
)
# Statements whose output becomes a value the text can then change.
_CAPTURING = (nodes.Macro, nodes.CallBlock, nodes.AssignBlock, nodes.Block)


def _check_delimit_printed(tree: nodes.Template, origin: Origin) -> None:
    """Refuse a ``delimit`` whose result is anything but printed (and not captured)."""

    def visit(node: nodes.Node, printing: bool, captured: bool) -> None:
        if isinstance(node, nodes.Filter) and node.name == DELIMIT_FILTER:
            if not printing or captured:
                raise origin.error(_DELIMIT_CAPTURED, node.lineno)
            printing = False
        elif isinstance(node, nodes.FilterBlock):
            delimits = node.filter.name == DELIMIT_FILTER
            if delimits and captured:
                raise origin.error(_DELIMIT_CAPTURED, node.lineno)
            for child in (*node.filter.args, *node.filter.kwargs):
                visit(child, False, captured)
            for child in node.body:
                visit(child, False, captured or not delimits)
            return
        elif isinstance(node, _CAPTURING):
            captured = True
        if isinstance(node, nodes.CondExpr):
            visit(node.test, False, captured)
            for branch in (node.expr1, node.expr2):
                if branch is not None:
                    visit(branch, printing, captured)
            return
        keep = isinstance(node, (nodes.Output, nodes.Concat, nodes.Add))
        for child in node.iter_child_nodes():
            visit(child, keep and (printing or isinstance(node, nodes.Output)), captured)

    visit(tree, False, False)


def _captured_includes(tree: nodes.Template) -> set[int]:
    """``id()`` of the includes whose output a macro, call or set block captures."""
    found: set[int] = set()

    def visit(node: nodes.Node, captured: bool) -> None:
        if isinstance(node, nodes.Include) and captured:
            found.add(id(node))
        captured = captured or isinstance(node, _CAPTURING)
        if isinstance(node, nodes.FilterBlock) and node.filter.name != DELIMIT_FILTER:
            captured = True
        for child in node.iter_child_nodes():
            visit(child, captured)

    visit(tree, False)
    return found


def _read_variables(tree: nodes.Template) -> dict[str, int]:
    """Names the text reads from its context (not set or looped in it), with first lines."""
    names = meta.find_undeclared_variables(tree) - set(KEPT_GLOBALS)
    lines: dict[str, int] = {}
    for node in _walk(tree):
        if isinstance(node, nodes.Name) and node.name in names and node.ctx == "load":
            lines[node.name] = min(lines.get(node.name, sys.maxsize), node.lineno)
    return {name: lines.get(name, 1) for name in names}


def _names_in(node: nodes.Node) -> set[str]:
    return {n.name for n in _walk(node) if isinstance(n, nodes.Name)}


def _check_untrusted(
    tree: nodes.Template, tainted: set[str], origin: Origin, allow_untrusted: bool
) -> None:
    """Refuse untrusted values printed anywhere but inside ``delimit``.

    Values derived by ``for`` loops or ``set`` from an untrusted value are untrusted too.
    Reading one in a condition (``if``, tests) is fine: that prints nothing.
    """

    def fail(name: str, line: int) -> TemplateError:
        if not allow_untrusted:
            return origin.error(
                f"untrusted input {name!r} may not be used in the system role, delimited or "
                "not: system instructions must be text you wrote. Move it to a user message "
                "in a Context block.",
                line,
            )
        return origin.error(
            f"untrusted input {name!r} is printed outside a delimited block, where it could "
            f"pose as instructions. Wrap it: {{{{ {name} | delimit('{name}') }}}}, or use a "
            f"Context({name!r}) block.",
            line,
        )

    def visit(node: nodes.Node, safe: bool) -> None:
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name in tainted and not (safe and allow_untrusted):
                raise fail(node.name, node.lineno)
            return
        if isinstance(node, nodes.Filter) and node.name == DELIMIT_FILTER and node.node:
            visit(node.node, True)
            for arg in node.args:
                visit(arg, safe)
            return
        if isinstance(node, nodes.FilterBlock) and node.filter.name == DELIMIT_FILTER:
            for child in node.body:
                visit(child, True)
            return
        if isinstance(node, (nodes.For, nodes.Assign, nodes.With)):
            _propagate(node)
        visit_children(node, safe)

    def _propagate(node: nodes.For | nodes.Assign | nodes.With) -> None:
        sources: list[tuple[nodes.Node, nodes.Node]]
        if isinstance(node, nodes.For):
            sources = [(node.iter, node.target)]
        elif isinstance(node, nodes.Assign):
            sources = [(node.node, node.target)]
        else:
            sources = list(zip(node.values, node.targets, strict=True))
        for value, target in sources:
            if _names_in(value) & tainted:
                tainted.update(_names_in(target))

    def visit_children(node: nodes.Node, safe: bool) -> None:
        # Expressions evaluated only to decide something print nothing.
        condition_fields: dict[type[nodes.Node], tuple[str, ...]] = {
            nodes.If: ("test",),
            nodes.CondExpr: ("test",),
            nodes.For: ("iter", "test"),
            nodes.Assign: ("node",),
            nodes.With: ("values",),
        }
        quiet = condition_fields.get(type(node), ())
        for field in node.fields:
            value = getattr(node, field, None)
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, nodes.Node):
                    continue
                if isinstance(node, nodes.Test) or field in quiet:
                    _visit_quiet(child)
                else:
                    visit(child, safe)

    def _visit_quiet(node: nodes.Node) -> None:
        # Untrusted names in a condition are fine, but the system role forbids them outright.
        if not allow_untrusted:
            for name in _walk(node):
                if isinstance(name, nodes.Name) and name.name in tainted:
                    raise fail(name.name, name.lineno)

    visit(tree, False)
