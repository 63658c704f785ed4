"""Write docs/reference.md from the public API's signatures and docstrings.

    python docs/gen_reference.py

The test suite fails when the committed reference is out of date.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

OUT = Path(__file__).parent / "reference.md"


def _signature(obj: object) -> str:
    try:
        target = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[misc]
        sig = inspect.signature(target)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    params = [_stable(p) for p in sig.parameters.values() if p.name != "self"]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


class _Named:
    """Shows a default by name: a function's repr holds a memory address."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _stable(param: inspect.Parameter) -> inspect.Parameter:
    default = param.default
    if callable(default) and not isinstance(default, type):
        module = getattr(default, "__module__", "") or ""
        return param.replace(default=_Named(f"{module}.{default.__qualname__}".lstrip(".")))
    return param


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function" if callable(obj) else "value"


def _entries(module: object, prefix: str = "") -> list[str]:
    """One section per public name of ``module``: its signature and docstring."""
    lines: list[str] = []
    for name in module.__all__:  # type: ignore[attr-defined]
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        kind = _kind(obj)
        lines.append(f"## `{prefix}{name}`")
        lines.append("")
        if kind in ("class", "function") and not getattr(obj, "__origin__", None):
            signature = _signature(obj)
            if signature and not signature.startswith("(*args"):
                lines += [f"*{kind}* `{name}{signature}`", ""]
            else:
                lines += [f"*{kind}*", ""]
        else:
            lines += [f"*{kind}*", ""]
        doc = inspect.getdoc(obj) if kind != "value" else None
        if kind == "value" and name == "Untrusted":
            doc = "An input field type for text that must not be trusted; see the security guide."
        if doc and not doc.startswith(("str(object=", "Represent a PEP 604")):
            summary, _, details = doc.partition("\n\n")
            lines += [summary, ""]
            if details:
                lines += ["```text", details, "```", ""]
    return lines


def render() -> str:
    import promptlib.testing
    import promptlib.testing.snapshots

    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/gen_reference.py`; do not edit by hand.",
        "Everything here is importable from `promptlib`, except the test doubles at the end,",
        "importable from `promptlib.testing` (see [testing](testing.md)).",
        "",
        *_entries(promptlib),
        "# Testing: `promptlib.testing`",
        "",
        "Imported only by tests: `import promptlib` does not load it.",
        "",
        *_entries(promptlib.testing, "promptlib.testing."),
        *_entries(promptlib.testing.snapshots, "promptlib.testing.snapshots."),
    ]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    sys.stdout.write(f"wrote {OUT}\n")
