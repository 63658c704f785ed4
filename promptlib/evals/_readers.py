"""Reading dataset files (JSONL, CSV/TSV, YAML) into raw records with their line numbers.

A record is still plain data: :mod:`promptlib.evals._dataset` checks its fields and makes
the :class:`~promptlib.evals._dataset.Case`. Files are read bounded: a regular file only
(a FIFO named like a dataset would block forever), at most ``max_bytes``, UTF-8 with an
optional byte order mark.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlib._errors import ConfigurationError
from promptlib._files import FileProblem, read_bounded_text
from promptlib._templates.limits import Limits
from promptlib.evals._errors import DatasetError

if TYPE_CHECKING:
    import yaml

__all__ = ["MAX_DATASET_BYTES", "Record", "read_records"]

MAX_DATASET_BYTES = 200 * 1024 * 1024
# Datasets are larger than front matter: an alias still expands to its whole value
# wherever it is used, but a real dataset expands to about its own size.
_YAML_LIMITS = Limits(yaml_nodes=2_000_000, yaml_depth=64)

FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".tsv": "tsv", ".yaml": "yaml", ".yml": "yaml"}
ROLES = ("id", "expected", "tags", "input:<field>", "metadata:<key>")


_PATH_PART = re.compile(r"[^.\[\]]+|\[(\d+)\]")


@dataclass
class Record:
    """One case as read: its line, its fields, and (from YAML) its node, for the lines of
    its fields."""

    line: int
    data: dict[str, Any]
    node: yaml.Node | None = field(default=None, repr=False)

    def line_of(self, path: str) -> int:
        """The line of the field at ``path`` (``"inputs.when"``, ``"tags[1]"``), or of its
        closest parent that has one."""
        if self.node is None:
            return self.line
        import yaml

        node, line = self.node, self.line
        for match in _PATH_PART.finditer(path):
            if isinstance(node, yaml.MappingNode):
                found = next((kv for kv in node.value if kv[0].value == match.group()), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and match.group(1) is not None:
                index = int(match.group(1))
                if index >= len(node.value):
                    break
                node = node.value[index]
                line = node.start_mark.line + 1
            else:
                break
        return line


def read_records(
    path: Path,
    *,
    columns: Mapping[str, str] | None,
    id_field: str,
    max_bytes: int,
) -> list[Record]:
    """The records of a dataset file, in file order.

    Raises:
        DatasetError: an unknown extension, an unreadable, oversized, empty or non-UTF-8
            file, or a line or document that does not parse (names the line).
    """
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DatasetError(
            f"unknown dataset format {path.suffix or '(no extension)'!r}: name the file "
            ".jsonl (one JSON case per line), .csv, .tsv, .yaml or .yml",
            path=str(path),
        )
    if columns is not None and kind not in ("csv", "tsv"):
        raise ConfigurationError(
            f"columns= maps the columns of a .csv or .tsv file; {path.name} is {kind.upper()}, "
            "whose cases name their fields: leave columns= out"
        )
    text = read_text(path, max_bytes)
    if not text.strip():
        raise DatasetError(
            "the file is empty: a dataset needs at least one case", path=str(path), line=1
        )
    if kind == "jsonl":
        records = list(_jsonl(path, text))
    elif kind == "yaml":
        records = _yaml(path, text)
    else:
        records = _table(path, text, "\t" if kind == "tsv" else ",", columns, id_field)
    if not records:
        raise DatasetError("the file has no cases: a dataset needs at least one", path=str(path))
    return records


def read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes (a BOM is dropped)."""
    try:
        return read_bounded_text(path, max_bytes)
    except FileProblem as problem:
        advice = {
            "not_regular": " (or a folder): a dataset is a .jsonl, .csv, .tsv or .yaml file",
            "too_large": ", the limit for a dataset; split it into several datasets",
        }.get(problem.kind, "")
        raise DatasetError(problem.message + advice, path=str(path), line=problem.line) from problem


# --- JSON Lines -----------------------------------------------------------------------------


class _JsonProblem(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonProblem(
                f"the key {key!r} appears twice in one object; JSON readers keep only one. "
                "Remove the other."
            )
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not a JSON number; write a number, or null")


def parse_json(text: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN or Infinity.

    Raises:
        ValueError: the text is not such JSON (the message says where and why).
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} (column {exc.colno})") from exc
    except _JsonProblem as exc:
        raise ValueError(str(exc)) from exc
    except RecursionError as exc:
        raise ValueError("the JSON nests too deeply; flatten it") from exc
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise ValueError(f"not usable JSON: {exc}") from exc


def _jsonl(path: Path, text: str) -> Iterator[Record]:
    # Only "\n" ends a line: JSON strings may hold U+2028 and other characters that
    # str.splitlines() would split on.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        try:
            data = parse_json(line)
        except ValueError as exc:
            raise DatasetError(
                f"{exc}. Each line of a .jsonl dataset is one JSON object: "
                '{"id": ..., "inputs": {...}, "expected": ...}',
                path=str(path),
                line=number,
            ) from exc
        if not isinstance(data, dict):
            raise DatasetError(
                f"the line is a JSON {_json_kind(data)}, not an object. Each line of a .jsonl "
                'dataset is one case: {"id": ..., "inputs": {...}, "expected": ...}',
                path=str(path),
                line=number,
            )
        yield Record(number, data)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


# --- CSV and TSV ----------------------------------------------------------------------------

_TAG_SEPARATORS = re.compile(r"[;,]")


def _table(
    path: Path, text: str, delimiter: str, columns: Mapping[str, str] | None, id_field: str
) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(
            f"the row does not parse: {exc}. Quote fields holding the delimiter, quotes or "
            'line breaks ("...", with "" for a quote); for long texts use .jsonl',
            path=str(path),
            line=start,
        ) from exc
    if not rows:
        raise DatasetError(
            "the file is empty: a dataset needs a header row and cases", path=str(path), line=1
        )
    (header_line, header), data_rows = rows[0], rows[1:]
    roles = _roles(path, header_line, [name.strip() for name in header], columns, id_field)
    records: list[Record] = []
    for number, (line, row) in enumerate(data_rows, start=1):
        if len(row) != len(header):
            raise DatasetError(
                f"the row has {len(row)} fields but the header has {len(header)}; quote "
                "fields that hold the delimiter",
                path=str(path),
                line=line,
            )
        record: dict[str, Any] = {"inputs": {}, "metadata": {}}
        if "id" not in roles.values():
            record[id_field] = f"{path.stem}-{number}"
        for index, role in roles.items():
            value = row[index]
            if role == "id":
                record[id_field] = value.strip()
            elif role == "expected":
                record["expected"] = value
            elif role == "tags":
                record["tags"] = [t.strip() for t in _TAG_SEPARATORS.split(value) if t.strip()]
            else:
                kind, _, name = role.partition(":")
                record["inputs" if kind == "input" else "metadata"][name] = value
        records.append(Record(line, record))
    return records


def _roles(
    path: Path,
    line: int,
    header: list[str],
    columns: Mapping[str, str] | None,
    id_field: str,
) -> dict[int, str]:
    """Column index → role (``id``, ``expected``, ``tags``, ``input:x``, ``metadata:x``)."""

    def fail(message: str) -> DatasetError:
        return DatasetError(message, path=str(path), line=line)

    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            raise fail(f"column {index + 1} of the header has no name; name every column")
        if name in seen:
            raise fail(f"the header names the column {name!r} twice; rename one")
        seen[name] = index
    if columns is None:
        defaults = {id_field: "id", "expected": "expected", "tags": "tags"}
        roles = {i: defaults.get(name, f"input:{name}") for i, name in enumerate(header)}
    else:
        roles = {}
        for name, role in columns.items():
            if name not in seen:
                raise fail(
                    f"columns= names the column {name!r}, which the header does not have; "
                    f"the columns are {', '.join(map(repr, header))}"
                )
            kind, colon, rest = role.partition(":")
            if not (
                role in ("id", "expected", "tags")
                or (colon and kind in ("input", "metadata") and rest.strip())
            ):
                raise fail(
                    f"columns= maps {name!r} to {role!r}; a column is one of "
                    f"{', '.join(map(repr, ROLES))}"
                )
            roles[seen[name]] = role
    used: dict[str, int] = {}
    for index, role in sorted(roles.items()):
        if role in used:
            raise fail(
                f"the columns {header[used[role]]!r} and {header[index]!r} are both {role!r}; "
                "map only one"
            )
        used[role] = index
    return roles


# --- YAML -----------------------------------------------------------------------------------


def _yaml(path: Path, text: str) -> list[Record]:
    data, tree = _load_yaml(path, text)
    import yaml

    items: Any = data
    nodes: Any = tree
    if isinstance(data, dict):
        extra = sorted(set(data) - {"cases"}, key=str)
        if extra or "cases" not in data:
            raise DatasetError(
                "a YAML dataset is a list of cases, or a mapping with one key, 'cases'"
                + (f" (found {', '.join(map(repr, extra))})" if extra else ""),
                path=str(path),
                line=tree.start_mark.line + 1 if tree is not None else 1,
            )
        items = data["cases"]
        assert isinstance(tree, yaml.MappingNode)
        nodes = next(value for key, value in tree.value if key.value == "cases")
    if not isinstance(items, list) or not isinstance(nodes, yaml.SequenceNode):
        raise DatasetError(
            "a YAML dataset is a list of cases ('- id: ...' entries), or 'cases:' followed "
            "by such a list",
            path=str(path),
            line=nodes.start_mark.line + 1 if nodes is not None else 1,
        )
    records: list[Record] = []
    for item, node in zip(items, nodes.value, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict) or not isinstance(node, yaml.MappingNode):
            raise DatasetError(
                "each case is a mapping with id, inputs and expected (and optionally tags, "
                "metadata)",
                path=str(path),
                line=line,
            )
        records.append(Record(line, item, node))
    return records


def _load_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    """The data of a YAML document, read strictly: no duplicate keys, bounded nesting,
    bounded expansion of aliases (see :mod:`promptlib._repository.strict_yaml`)."""
    from promptlib._repository.strict_yaml import YamlProblem, load_yaml

    try:
        data, tree = load_yaml(text, _YAML_LIMITS)
    except YamlProblem as problem:
        raise DatasetError(problem.message, path=str(path), line=problem.line) from problem
    if tree is None:
        raise DatasetError(
            "the file is empty: a dataset needs at least one case", path=str(path), line=1
        )
    return data, tree
