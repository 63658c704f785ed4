"""Jinja's sandbox, bounded: no operation a template runs may build too much or run too long.

Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment` keeps templates away from Python
internals; it does not bound the work they do. Here every operation that can build a large
value is sized *before* it runs (``*``, ``**``, ``+``, ``%``, ``~``, string methods and
filters such as ``center`` or ``replace``), and every loop iteration, call and include is a
step of the render's :class:`~promptlib._templates.limits.Budget`. Constant folding at compile
time goes through the same checks, so defining a template is bounded too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from functools import wraps
from string import Formatter
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from promptlib._errors import TemplateError
from promptlib._templates.limits import LimitExceeded, budget

__all__ = ["BoundedEnvironment"]

_STEPS = "_promptlib_steps"
_CONCAT = "_promptlib_concat"
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+)?)?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _length(value: object) -> int:
    return len(value) if isinstance(value, Sized) and not isinstance(value, range) else 0


def _number(text: str, what: str, limit: int) -> int:
    if len(text) > 9 or int(text) > limit:
        raise LimitExceeded(f"{what} {text[:12]}… is larger than the limit of {limit:,}")
    return int(text)


def _printf_size(fmt: str, args: object, limit: int) -> int:
    """An upper bound of ``fmt % args`` beyond the arguments' own text (widths, precisions)."""
    size = len(fmt)
    star = False
    for match in _PRINTF_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                star = True
            elif part:
                size += _number(part, "a format width or precision", limit)
    values = args if isinstance(args, tuple) else (args,)
    if star:
        for value in values:
            if isinstance(value, int) and abs(value) > limit:
                raise LimitExceeded(f"a format width of {value} is larger than the limit")
    return size + sum(text_size(value) for value in values)


def _format_size(fmt: str, args: Iterable[Any], limit: int) -> int:
    """The same for ``str.format``: literal widths, and widths taken from arguments."""
    size = len(fmt)
    nested = False
    for _literal, _field, spec, _conversion in Formatter().parse(fmt):
        if spec:
            nested = nested or "{" in spec
            for digits in _DIGITS.findall(spec):
                size += _number(digits, "a format width or precision", limit)
    values = list(args)
    if nested:  # widths may come from the arguments, as numbers or as text ('>999999999')
        for value in values:
            if isinstance(value, int) and abs(value) > limit:
                raise LimitExceeded(f"a format width of {value} is larger than the limit")
            if isinstance(value, str) and len(value) <= 64:  # a longer one is no format spec
                for digits in _DIGITS.findall(value):
                    size += _number(digits, "a format width or precision", limit)
    return size + sum(text_size(value) for value in values)


def _replace_size(text: str, old: object, new: object, count: object = -1) -> int:
    if not (isinstance(old, str) and isinstance(new, str)) or len(new) <= len(old):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _joined_size(items: object, separator: str) -> int:
    if not isinstance(items, (list, tuple)):
        return 0
    return len(items) * len(separator) + sum(_length(item) for item in items)


def _width(value: object) -> int:
    return value if isinstance(value, int) else _length(value)


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _wrapped_lines(text: str, width: object) -> int:
    width = width if isinstance(width, int) and width > 0 else 1
    return min(len(text) + 1, 2 * len(text) // width + _lines(text))


# Upper bounds of what a filter builds, from (value, *args) and kwargs.
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": lambda s, width=80, **_: max(_length(s), _width(width)),
    "indent": lambda s, width=4, *_, **__: _length(s) + _width(width) * _lines(str(s)),
    "wordwrap": lambda s, width=79, _b=True, wrapstring=None, *_, **kw: (
        _length(s)
        + _wrapped_lines(str(s), width) * _length(wrapstring or kw.get("wrapstring") or "\n")
    ),
    "replace": lambda s, old="", new="", count=None, **_: _replace_size(
        str(s), old, new, -1 if count is None else count
    ),
    "join": lambda items, d="", *_, **__: _joined_size(items, str(d)),
    "batch": lambda items, linecount=1, fill_with=None, **_: (
        _width(linecount) if fill_with is not None else 0
    ),
    "slice": lambda items, slices=1, *_, **__: 8 * _width(slices),  # a list per slice
    "truncate": lambda s, length=255, killwords=False, end="...", *_, **__: (
        _length(s) + _length(end)
    ),
}


def _method_size(method: Any, args: tuple[Any, ...], limit: int) -> int:
    """An upper bound of what calling a built-in method of a str or list builds."""
    method = getattr(method, "__wrapped__", method)  # the sandbox wraps str.format
    owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
    if isinstance(owner, str):
        if name in ("ljust", "rjust", "center", "zfill") and args:
            return max(len(owner), _width(args[0]))
        if name == "expandtabs":
            return len(owner) + owner.count("\t") * (_width(args[0]) if args else 8)
        if name == "replace" and len(args) >= 2:
            return _replace_size(owner, *args[:3])
        if name == "join" and args:
            return _joined_size(args[0], owner)
        if name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((_length(v) for v in args[0].values()), default=1)
            return len(owner) * max(longest, 1)
        if name in ("format", "format_map"):
            values = list(args[0].values()) if name == "format_map" and args else list(args)
            return _format_size(owner, values, limit)
    elif isinstance(owner, list) and name == "extend" and args:
        return len(owner) + _length(args[0])
    return 0


class _TextSize:
    """An estimate of ``len(str(value))``, without building it: shared references (``[s] *
    1000``, lists of lists of them) print once per reference, so their text can be far
    larger than the value. Each container is measured once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: dict[int, int] = {}

    def __call__(self, value: object) -> int:
        if isinstance(value, str):
            return len(value) + 2
        if isinstance(value, (bool, float)) or value is None:
            return 24
        if isinstance(value, int):
            return value.bit_length() * 10 // 33 + 2
        known = self.sizes.get(id(value))
        if known is not None:
            return known
        self.sizes[id(value)] = 5  # met again inside itself: printed as [...]
        total = 2
        if isinstance(value, Mapping):
            total += sum(self(key) + self(item) + 4 for key, item in value.items())
        elif isinstance(value, (list, tuple, set, frozenset)):
            total += sum(self(item) + 2 for item in value)
        elif hasattr(value, "__pydantic_fields__"):  # a model prints its fields
            total += sum(len(name) + self(item) + 3 for name, item in vars(value).items())
        else:
            total += 32
        if total > self.limit:
            raise LimitExceeded(
                f"the text of a value would be about {total:,} characters, more than the "
                f"limit of {self.limit:,} (a list holding the same long text many times?). "
                "Print less, or raise Limits(output_chars=...)."
            )
        self.sizes[id(value)] = total
        return total


def text_size(value: object) -> int:
    """About ``len(str(value))``; raises :class:`LimitExceeded` past ``output_chars``."""
    if isinstance(value, str):
        return len(value)
    try:
        return _TextSize(budget().limits.output_chars)(value)
    except RecursionError:
        raise LimitExceeded("a value nests too deeply to print") from None


def finalize(value: Any) -> Any:
    """What Jinja prints goes through here: a value's text is sized before it is built."""
    if type(value) is not str:
        text_size(value)
    return value


def _listed(items: Any) -> Any:
    """``items`` read into a list (each item a step), or as it is if it is not iterable."""
    if isinstance(items, (str, Mapping)) or not isinstance(items, Iterable):
        return items
    account = budget()
    listed = []
    for item in items:
        account.step()
        listed.append(item)
    return listed


def _built(value: object) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict, set)) else 0


@pass_context
def _steps(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """Every loop iterates through this: one step per item."""
    account = budget()
    for item in iterable:
        account.step()
        yield item


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    """``a ~ b``, sized before it is built."""
    for part in parts:
        if type(part) is not str:
            text_size(part)
    texts = [str(part) for part in parts]
    budget().allocate(sum(map(len, texts)), "'~'")
    return "".join(texts)


# Filters that turn their value (or, for join, its items) into text.
_STRINGIFYING = frozenset(
    {"string", "tojson", "pprint", "format", "replace", "upper", "lower", "title",
     "capitalize", "trim", "striptags", "truncate", "wordwrap", "center", "indent", "escape",
     "e", "forceescape", "urlencode", "urlize", "wordcount", "safe", "xmlattr"}
)  # fmt: skip


def _check_filter_input(name: str, value: Any, args: tuple[Any, ...], kwargs: Any) -> int:
    """Refuse what a filter cannot do within bounds; the size of text it will build."""
    if name in _STRINGIFYING:
        size = text_size(value)
        if name == "format":
            size = _printf_size(str(value), tuple(args) or kwargs, budget().limits.output_chars)
        return size
    if name == "join" and isinstance(value, (list, tuple)):
        return sum(text_size(item) for item in value)
    if name == "sum":
        start = kwargs.get("start", args[1] if len(args) > 1 else 0)
        if not isinstance(start, (int, float)):
            raise TemplateError(
                "sum() adds numbers; to put lists or text together, use join or a loop"
            )
    return 0


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    size = _FILTER_SIZES.get(name)
    skip = 1 if _PassArg.from_obj(function) is not None else 0

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        account = budget()
        if name == "join" and len(args) > skip and not isinstance(args[skip], (list, tuple)):
            # Sized before it is joined: an iterator is read into a list first.
            args = (*args[:skip], _listed(args[skip]), *args[skip + 1 :])
        if len(args) > skip:
            value, rest = args[skip], args[skip + 1 :]
            built = _check_filter_input(name, value, rest, kwargs)
            if built:
                account.allocate(built, f"the filter {name!r}")
        if size is not None:
            account.allocate(size(*args[skip:], **kwargs), f"the filter {name!r}")
        result = function(*args, **kwargs)
        account.check_time()  # after a filter that ran long on a large text
        built = _built(result)
        if built:
            account.allocate(built, f"the filter {name!r}")
        return result

    return guarded


class _Bound(NodeTransformer):
    """Route loops through the step counter, and ``~`` through the sized join."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _STEPS, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, _CONCAT, [], [], None, None, lineno=node.lineno)


class BoundedEnvironment(SandboxedEnvironment):
    """A sandboxed environment whose operations are bounded by the current budget."""

    intercepted_binops: frozenset[str] = frozenset({"*", "**", "+", "%"})

    def guard_filters(self) -> None:
        """Wrap the filters defined so far so that each is sized and accounted for."""
        self.filters: dict[str, Any] = {
            name: _guard_filter(name, function) for name, function in self.filters.items()
        }
        self.filters[_STEPS] = _steps
        self.filters[_CONCAT] = _concat

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        bounded = _Bound().visit(source)
        return super()._generate(bounded, name, filename, defer_init)

    def get_template(self, *args: Any, **kwargs: Any) -> Any:
        budget().step()
        return super().get_template(*args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        account = budget()
        limits = account.limits
        what = f"'{operator}'"
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > limits.int_bits:
                    raise LimitExceeded(_too_big_number(limits.int_digits))
            elif isinstance(right, int):
                account.allocate(_length(left) * max(right, 0), what)
            elif isinstance(left, int):
                account.allocate(_length(right) * max(left, 0), what)
        elif operator == "**":
            exponent = right if isinstance(left, int) and isinstance(right, int) else 0
            if exponent > 0 and abs(left) > 1 and exponent * math.log2(abs(left)) > limits.int_bits:
                raise LimitExceeded(_too_big_number(limits.int_digits))
        elif operator == "+":
            if not isinstance(left, (int, float)):
                account.allocate(_length(left) + _length(right), what)
        elif operator == "%" and isinstance(left, str):
            account.allocate(_printf_size(left, right, limits.output_chars), what)
        result = self.binop_table[operator](left, right)
        if operator == "%" and isinstance(result, str):
            account.allocate(len(result), what)
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        account = budget()
        account.step()
        if (
            args
            and isinstance(getattr(__obj, "__self__", None), str)
            and getattr(__obj, "__name__", "") == "join"
            and not isinstance(args[0], (list, tuple))
        ):
            args = (_listed(args[0]), *args[1:])  # sized before it is joined
        size = _method_size(__obj, args, account.limits.output_chars)
        if size:
            account.allocate(size, f"{getattr(__obj, '__name__', 'the call')}()")
        account.depth += 1
        try:
            if account.depth > account.limits.depth:
                raise LimitExceeded(
                    f"calls nest more than {account.limits.depth} deep (a macro calling "
                    "itself?). Make the recursion shallower, or raise Limits(depth=...)."
                )
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            account.depth -= 1
        built = _built(result)
        if built:
            account.allocate(built, f"{getattr(__obj, '__name__', 'the call')}()")
        return result


def _too_big_number(digits: int) -> str:
    return (
        f"the text computes a number of more than {digits:,} digits. Compute smaller numbers, "
        "or raise Limits(int_digits=...)."
    )
