"""Write docs/reference.md from the public API's signatures and docstrings.

    python docs/gen_reference.py

Docstrings (Google style) become Markdown: ``Args:`` and the like become lists, and
Sphinx roles (``:class:`~promptlib.Template```) become links to the entry they name. The
test suite fails when the committed reference is out of date, and the docs site build
(``mkdocs build --strict``) fails on a link to nowhere.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import typing
from pathlib import Path

OUT = Path(__file__).parent / "reference.md"

# (module, heading, note): every public module, in the order the reference shows them.
MODULES = [
    ("promptlib", "promptlib", "Everything a user of templates and providers needs."),
    ("promptlib.settings", "promptlib.settings", ""),
    (
        "promptlib.testing",
        "promptlib.testing",
        "Test doubles, cassettes and snapshots; imported only by tests (see "
        "[testing](testing.md)): `import promptlib` does not load it.",
    ),
    ("promptlib.testing.snapshots", "promptlib.testing.snapshots", ""),
    (
        "promptlib.evals",
        "promptlib.evals",
        "Evaluation and comparison (see [evaluation](evaluation.md)); loaded on first use.",
    ),
    ("promptlib.evals.stats", "promptlib.evals.stats", ""),
    ("promptlib.evals.power", "promptlib.evals.power", ""),
    ("promptlib.evals.report", "promptlib.evals.report", ""),
    (
        "promptlib.batch",
        "promptlib.batch",
        "Batch jobs on the providers' batch APIs (see [batch jobs](batch.md)); loaded on "
        "first use.",
    ),
    (
        "promptlib.finetune",
        "promptlib.finetune",
        "Prompt or fine-tune: export, check, start, ROI, decide (see "
        "[prompt or fine-tune](finetuning.md)); loaded on first use.",
    ),
]

_SECTION = re.compile(
    r"^(Args|Arguments|Attributes|Returns|Raises|Yields|Examples?|Notes?|Warns)\s*:\s*$"
)
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):`(~?)([^`]+)`")
_ITEM = re.compile(r"^(\*{0,2}[\w.,* \[\]]+?)\s*(\([^)]*\))?\s*:\s(.*)$")


def slug(heading: str) -> str:
    """The anchor GitHub and Python-Markdown both give a heading like ``## `a.B` ``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


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
    if isinstance(param.annotation, str):  # postponed annotations: shown without quotes
        param = param.replace(annotation=_Named(param.annotation))
    if repr(default) == "<factory>":
        return param.replace(default=_Named("..."))
    if callable(default) and not isinstance(default, type):
        module = getattr(default, "__module__", "") or ""
        return param.replace(default=_Named(f"{module}.{default.__qualname__}".lstrip(".")))
    return param


def _is_alias(obj: object) -> bool:
    module = type(obj).__module__
    return typing.get_origin(obj) is not None or module in ("typing", "typing_extensions")


def _kind(obj: object) -> str:
    if _is_alias(obj):
        return "type"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function" if callable(obj) else "value"


class Reference:
    def __init__(self) -> None:
        self.modules = [(importlib.import_module(m), h, n) for m, h, n in MODULES]
        # Every documented name, fully qualified, and the anchor of its entry.
        self.anchors: dict[str, str] = {}
        for module, heading, _ in self.modules:
            self.anchors[module.__name__] = slug(f"`{heading}`")
            for name in self._public(module):
                self.anchors[f"{module.__name__}.{name}"] = slug(f"`{self._title(module, name)}`")

    @staticmethod
    def _public(module: object) -> list[str]:
        names = getattr(module, "__all__", [])
        return [n for n in names if not n.startswith("_") or n == "__version__"]

    @staticmethod
    def _title(module: object, name: str) -> str:
        prefix = "" if module.__name__ == "promptlib" else f"{module.__name__}."  # type: ignore[attr-defined]
        return f"{prefix}{name}"

    def _link(self, target: str, short: bool, module: str) -> str:
        shown = target.rsplit(".", 1)[-1] if short else target
        for candidate in (target, f"promptlib.{target}", f"{module}.{target}"):
            if candidate in self.anchors:
                return f"[`{shown}`](#{self.anchors[candidate]})"
            owner, _, member = candidate.rpartition(".")
            if owner in self.anchors and member and owner != "promptlib":
                return f"[`{shown}`](#{self.anchors[owner]})"
        return f"`{shown}`"

    def markdown(self, doc: str, module: str) -> str:
        """A Google-style docstring as Markdown."""
        doc = _ROLE.sub(lambda m: self._link(m.group(2), bool(m.group(1)), module), doc)
        doc = re.sub(r"``([^`]+)``", r"`\1`", doc)
        out: list[str] = []
        lines = doc.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            section = _SECTION.match(line)
            if section:
                out += ["", f"**{section.group(1)}**", ""]
                i += 1
                items: list[str] = []
                while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                    text = lines[i][4:]
                    if not text.strip():
                        i += 1
                        continue
                    if section.group(1) in ("Examples", "Example"):
                        items.append(text)
                        i += 1
                        continue
                    item = _ITEM.match(text) if not text.startswith(" ") else None
                    if item and section.group(1) != "Returns":
                        names = ", ".join(f"`{n.strip()}`" for n in item.group(1).split(","))
                        items.append(f"- {names}: {item.group(3)}")
                    elif items:
                        items[-1] += " " + text.strip()
                    else:
                        items.append(text.strip())
                    i += 1
                if section.group(1) in ("Examples", "Example"):
                    items = ["```py", *items, "```"]
                out += items
                continue
            if line.rstrip().endswith("::") and i + 1 < len(lines):
                out.append(line.rstrip()[:-1])
                i += 1
                block: list[str] = []
                while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                    block.append(lines[i][4:])
                    i += 1
                while block and not block[-1].strip():
                    block.pop()
                out += ["", "```py", *block, "```", ""]
                continue
            out.append(line.strip() if line.startswith("    ") else line)
            i += 1
        return "\n".join(out).strip()

    def entries(self, module: object) -> list[str]:
        lines: list[str] = []
        for name in self._public(module):
            obj = getattr(module, name)
            kind = _kind(obj)
            lines += [f"### `{self._title(module, name)}`", ""]
            signature = ""
            if kind in ("class", "exception", "function") and not getattr(obj, "__origin__", None):
                signature = _signature(obj)
            if kind == "type":
                shown = repr(obj).replace("typing_extensions.", "").replace("typing.", "")
                if " at 0x" in shown:  # validators in the metadata: show the type they check
                    inner = repr(obj.__origin__).replace("promptlib._messages.", "")
                    shown = f"Annotated[{inner}, <pydantic validators>]"
                lines += [f"*type* `{name} = {shown}`", ""]
            elif signature and not signature.startswith("(*args"):
                lines += [f"*{kind}* `{name}{signature}`", ""]
            elif name == "__version__":
                lines += ["*value*: the installed version, as text (see the changelog).", ""]
            else:
                lines += [f"*{kind}*", ""]
            doc = inspect.getdoc(obj) if kind not in ("value", "type") else None
            if name == "Untrusted":
                doc = (
                    "An input field type for text that must not be trusted; see "
                    "[security](security.md)."
                )
            elif name == "UNTRUSTED":
                doc = (
                    "The untrusted marker, for structured data: "
                    "`documents: Annotated[list[Doc], UNTRUSTED]`; see [security](security.md)."
                )
            elif name == "Conversation":
                doc = (
                    "An input field type for the prior turns of a conversation, placed by a "
                    "`History` block; see [templates](templates.md)."
                )
            if doc and not doc.startswith(("str(object=", "Represent a PEP 604", "dict()")):
                lines += [self.markdown(doc, module.__name__), ""]  # type: ignore[attr-defined]
            if kind in ("class", "exception") and not issubclass(obj, BaseException):
                lines += self.members(obj, name, module.__name__)  # type: ignore[attr-defined]
        return lines

    def members(self, cls: type, name: str, module: str) -> list[str]:
        """The public methods and properties a class defines itself, with their docs."""
        lines: list[str] = []
        for attribute, value in vars(cls).items():
            if attribute.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            target = value.fget if isinstance(value, property) else value
            doc = inspect.getdoc(target) if callable(target) else None
            if not doc or not callable(target):
                continue
            owner = getattr(target, "__qualname__", cls.__qualname__ + ".").rpartition(".")[0]
            if owner != cls.__qualname__:
                continue  # a default value that is someone else's function (time.sleep)
            if isinstance(value, property) or getattr(value, "attrname", None):
                heading = f"`{name}.{attribute}`"
            else:
                signature = _signature(target)
                params = signature.replace("(self, ", "(").replace("(self)", "()")
                heading = f"`{name}.{attribute}{params}`"
            lines += [f"#### {heading}", "", self.markdown(doc, module), ""]
        return lines

    def render(self) -> str:
        lines = [
            "# API reference",
            "",
            "Generated from the docstrings by `python docs/gen_reference.py`; do not edit by "
            "hand. These modules are the whole public API; every other module is internal "
            "(see [architecture](architecture.md#the-public-api)). One section per module:",
            "",
            *(f"- [`{h}`](#{slug(f'`{h}`')})" for _, h, _ in self.modules),
            "",
        ]
        for module, heading, note in self.modules:
            lines += [f"## `{heading}`", ""]
            if note:
                lines += [note, ""]
            lines += self.entries(module)
        return "\n".join(lines).rstrip() + "\n"


def render() -> str:
    return Reference().render()


if __name__ == "__main__":
    OUT.write_text(render())
    sys.stdout.write(f"wrote {OUT}\n")
