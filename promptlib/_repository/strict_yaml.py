"""YAML read strictly: the safe loader, no duplicate keys, bounded nesting and aliases.

YAML's safe loader builds no Python objects from tags, but it keeps the last of two equal
keys without a word, recurses once per level of nesting, and expands aliases by reference:
a few lines of anchors can stand for billions of values (an "alias bomb"), which anything
that walks the data then expands. Here the document is composed once, checked — duplicate
keys, nesting, the number of values with every alias counted as often as it is used — and
only then turned into data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promptlib._templates.limits import Limits

if TYPE_CHECKING:
    import yaml

__all__ = ["YamlProblem", "load_yaml"]

_MERGE = "tag:yaml.org,2002:merge"


@dataclass
class YamlProblem(Exception):
    """Why a YAML document was refused, and the line (1-based, in the document) if known."""

    message: str
    line: int | None = None


def load_yaml(text: str, limits: Limits, first_line: int = 1) -> tuple[Any, yaml.Node | None]:
    """The data of the YAML ``text``, and its node tree (for line numbers).

    Lines in problems count from ``first_line``, the file line ``text`` starts on.

    Raises:
        YamlProblem: invalid YAML, a duplicate key, nesting deeper than
            ``limits.yaml_depth``, or more than ``limits.yaml_nodes`` values with aliases
            expanded.
    """
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        try:
            tree = loader.get_single_node()
            if tree is None:
                return None, None
            _Check(limits, first_line).size(tree, 1)
            return loader.construct_document(tree), tree
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            raise YamlProblem(
                f"invalid YAML: {problem}. Check indentation and quoting; values with ':' or "
                "'{' need quotes.",
                mark.line + first_line if mark is not None else None,
            ) from exc
        except ValueError as exc:  # e.g. an integer of more digits than Python reads
            raise YamlProblem(f"a value could not be read: {exc}") from exc
        except RecursionError as exc:
            raise YamlProblem(
                f"the YAML nests too deeply (more than {limits.yaml_depth} levels); flatten it"
            ) from exc
    finally:
        loader.dispose()


class _Check:
    def __init__(self, limits: Limits, first_line: int) -> None:
        self.limits = limits
        self.first_line = first_line
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: yaml.Node, depth: int) -> int:
        """Values under ``node``, aliases expanded; checks keys and nesting on the way."""
        import yaml

        line = node.start_mark.line + self.first_line
        if depth > self.limits.yaml_depth:
            raise YamlProblem(
                f"the YAML nests more than {self.limits.yaml_depth} levels deep; flatten it",
                line,
            )
        known = self.sizes.get(id(node))
        if known is not None:  # an alias: the same node again, expanded again wherever used
            return known
        if id(node) in self.open:
            raise YamlProblem("a YAML alias refers to a value that contains it", line)
        self.open.add(id(node))
        size = 1
        if isinstance(node, yaml.MappingNode):
            self._no_duplicates(node)
            for key, value in node.value:
                size += self.size(key, depth + 1) + self.size(value, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            size += sum(self.size(item, depth + 1) for item in node.value)
        self.open.discard(id(node))
        if size > self.limits.yaml_nodes:
            raise YamlProblem(
                f"the YAML holds more than {self.limits.yaml_nodes:,} values once its aliases "
                "are expanded (an anchor used many times, or aliases of aliases). Write the "
                "values out, or raise Limits(yaml_nodes=...).",
                line,
            )
        self.sizes[id(node)] = size
        return size

    def _no_duplicates(self, node: yaml.MappingNode) -> None:
        import yaml

        seen: dict[Any, int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                continue
            identity = (key.tag, key.value)
            line = key.start_mark.line + self.first_line
            if identity in seen:
                raise YamlProblem(
                    f"the key {key.value!r} appears twice in one mapping (first on line "
                    f"{seen[identity]}); YAML would silently keep only the last. Remove one.",
                    line,
                )
            seen[identity] = line
