"""Evaluation datasets: :class:`Case`, :class:`Dataset`, and :func:`load_dataset`.

A case is the inputs of one render, what the answer should be, and where the case was
read. Files are JSON Lines, CSV/TSV or YAML; every problem in one names the file, the line,
the case and the field.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from promptlib._errors import ConfigurationError
from promptlib._hashing import content_hash
from promptlib._pickling import Picklable
from promptlib.evals._errors import DatasetError
from promptlib.evals._readers import MAX_DATASET_BYTES, Record, read_records

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["MAX_DATASET_BYTES", "Case", "Dataset", "load_dataset"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
# Python prints integers of up to 4,300 digits; 14,000 bits stay under that.
_MAX_INT_BITS = 14_000
_CASE_FIELDS = ("inputs", "expected", "tags", "metadata")
# How many invalid cases one validation error lists.
_LISTED = 10


def json_problem(value: Any, where: str, depth: int = 0) -> tuple[str, str] | None:
    """``(field, problem)`` if ``value`` is not plain JSON data (objects with text keys,
    arrays, text, finite numbers, booleans, null); ``None`` if it is."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where, "the text holds a lone surrogate (\\ud800-\\udfff), which is not text"
        return None
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            return where, "the integer has more than 4,300 digits; write it as text"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, f"{value} is not a JSON number")
    if depth > 100:
        return where, "the value nests more than 100 levels deep"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return (
                    where,
                    f"a key of type {type(key).__name__} is not text; JSON object keys are text",
                )
            found = json_problem(item, f"{where}.{key}", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = json_problem(item, f"{where}[{index}]", depth + 1)
            if found:
                return found
        return None
    hint = "; quote it to keep it as text" if type(value).__module__ == "datetime" else ""
    return where, f"a {type(value).__name__} is not a JSON value{hint}"


@dataclass(frozen=True)
class Case(Picklable):
    """One evaluation case.

    Attributes:
        id: unique within its dataset.
        inputs: the template's inputs (a read-only mapping of JSON values).
        expected: what the answer should be: any JSON value (``None``: not given).
        tags: labels to select cases by (:meth:`Dataset.filter`).
        metadata: anything else about the case (JSON values), kept with results.
        source: ``"path:line"`` where the case was read, when it came from a file.
    """

    id: str
    inputs: Mapping[str, Any]
    expected: Any = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    source: str | None = None

    def __post_init__(self) -> None:
        def fail(message: str, at: str | None = None) -> DatasetError:
            label = f"case {self.id!r}: " if isinstance(self.id, str) and self.id else ""
            return DatasetError.at(
                self.source,
                f"{label}{at + ': ' if at else ''}{message}",
                case_id=self.id if isinstance(self.id, str) else None,
                field=at,
            )

        if not isinstance(self.id, str) or not self.id.strip():
            raise fail(f"the id must be non-empty text, got {_kind(self.id)}", "id")
        found = json_problem(self.id, "id") or json_problem(list(self.tags), "tags")
        if found or len(self.id) > 200 or any(ord(c) < 32 for c in self.id):
            problem = found[1] if found else "an id is at most 200 characters, with no controls"
            object.__setattr__(self, "id", repr(self.id.encode("utf-8", "replace"))[:60])
            raise fail(problem, "id" if not found else found[0])
        for name in ("inputs", "metadata"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise fail(f"must be an object of name: value pairs, got {_kind(value)}", name)
            found = json_problem(value, name)
            if found:
                raise fail(found[1], found[0])
            object.__setattr__(self, name, MappingProxyType(dict(value)))
        found = json_problem(self.expected, "expected")
        if found:
            raise fail(found[1], found[0])
        tags: Any = self.tags
        if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
            raise fail(f"must be a list of text labels, got {_kind(tags)}", "tags")
        for index, tag in enumerate(tags):
            if not isinstance(tag, str) or not tag.strip():
                raise fail(f"each tag is non-empty text, got {tag!r}", f"tags[{index}]")
        object.__setattr__(self, "tags", tuple(tags))

    def __hash__(self) -> int:
        return hash((self.id, self.source, content_hash(self.content())))

    def content(self) -> dict[str, Any]:
        """The case as plain JSON data: what :attr:`Dataset.hash` covers."""
        return {
            "id": self.id,
            "inputs": dict(self.inputs),
            "expected": self.expected,
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class Dataset(Picklable):
    """Cases in order, with unique ids.

    Attributes:
        name: the dataset's name (a file's stem by default).
        cases: the cases.
        path: the file it was read from, if any.
    """

    name: str
    cases: tuple[Case, ...]
    path: Path | None = None
    _index: Mapping[str, Case] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cases = tuple(self.cases)
        index: dict[str, Case] = {}
        for case in cases:
            if not isinstance(case, Case):
                raise DatasetError(f"dataset {self.name!r}: {case!r} is not a Case")
            first = index.get(case.id)
            if first is not None:
                raise _duplicate(first, case)
            index[case.id] = case
        object.__setattr__(self, "cases", cases)
        object.__setattr__(self, "_index", MappingProxyType(index))

    @cached_property
    def hash(self) -> str:
        """``sha256:<hex>`` over the cases' content (id, inputs, expected, tags,
        metadata), in order; the name, path and sources do not count."""
        return content_hash([case.content() for case in self.cases])

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._index

    def __getitem__(self, case_id: str) -> Case:
        """The case with this id.

        Raises:
            DatasetError: no case has it (the message suggests close ids).
        """
        try:
            return self._index[case_id]
        except (KeyError, TypeError):
            close = difflib.get_close_matches(str(case_id), list(self._index), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise DatasetError(
                f"dataset {self.name!r} has no case {case_id!r}{hint}", case_id=str(case_id)
            ) from None

    @property
    def ids(self) -> tuple[str, ...]:
        """The case ids, in order."""
        return tuple(self._index)

    def validate(self, inputs_model: type[BaseModel], *, template: str = "") -> Dataset:
        """Check every case's inputs against a template's input model; returns ``self``.

        Raises:
            DatasetError: some cases do not validate. The message lists each (up to
                ten) as ``path:line: case 'id': field: problem``; ``path``, ``line``,
                ``case_id`` and ``field`` are those of the first.
        """
        from pydantic import BaseModel, ValidationError

        from promptlib._validation import problems

        if not (isinstance(inputs_model, type) and issubclass(inputs_model, BaseModel)):
            raise ConfigurationError(
                f"validate() takes the template's input model (template.inputs), a pydantic "
                f"model class; got {inputs_model!r}"
            )
        found: list[tuple[Case, str, str]] = []
        for case in self.cases:
            try:
                inputs_model.model_validate(dict(case.inputs))
            except ValidationError as exc:
                found += [
                    (case, f"inputs.{name}" if name != "(root)" else "inputs", message)
                    for name, message in problems(exc)
                ]
        if not found:
            return self
        target = f"template {template!r}" if template else inputs_model.__name__
        lines = [
            f"  {case.source or '(no file)'}: case {case.id!r}: {name}: {message}"
            for case, name, message in found[:_LISTED]
        ]
        more = f"\n  ... and {len(found) - _LISTED} more" if len(found) > _LISTED else ""
        first, name, message = found[0]
        error = DatasetError.at(
            first.source,
            f"case {first.id!r}: {name}: {message}. Dataset {self.name!r} does not fit the "
            f"inputs of {target} ({len({c.id for c, _, _ in found})} of {len(self)} cases); "
            "fix the cases, or check the dataset is meant for this template:\n"
            + "\n".join(lines)
            + more,
            case_id=first.id,
            field=name,
        )
        raise error

    def filter(self, *, tags: Iterable[str] = ()) -> Dataset:
        """The cases having any of ``tags`` (no tags: every case), under the same name."""
        if isinstance(tags, str):
            tags = (tags,)
        wanted = set(tags)
        if not wanted:
            return self
        return Dataset(
            self.name, tuple(c for c in self.cases if wanted.intersection(c.tags)), self.path
        )


def load_dataset(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    inputs_model: type[BaseModel] | None = None,
    columns: Mapping[str, str] | None = None,
    id_field: str = "id",
    max_bytes: int = MAX_DATASET_BYTES,
) -> Dataset:
    """Read a dataset file.

    Formats, by extension:

    - ``.jsonl``: one object per line, ``{"id": ..., "inputs": {...}, "expected": ...}``
      with optional ``"tags": [...]`` and ``"metadata": {...}``; blank lines are skipped.
    - ``.csv``, ``.tsv``: a header row, then one case per row. By default the columns
      ``id``, ``expected`` and ``tags`` are those fields and every other column is an
      input; ``columns`` maps column names to ``"id"``, ``"expected"``, ``"tags"``,
      ``"input:<field>"`` or ``"metadata:<key>"`` instead (other columns are then
      ignored). Tags are separated by ``;`` or ``,``. Without an id column, case ids are
      ``<stem>-<row>`` (rows counted from 1 after the header).
    - ``.yaml``, ``.yml``: a list of case mappings, or ``{cases: [...]}``.

    Args:
        path: the file.
        name: the dataset's name (default: the file's stem).
        inputs_model: a template's input model to validate every case against.
        columns: the column mapping of a CSV/TSV file.
        id_field: the key (or column) holding case ids.
        max_bytes: files larger than this are refused.

    Raises:
        DatasetError: the file cannot be read or parsed, a case is malformed, an id is
            missing or repeated, or a case does not fit ``inputs_model``; the message names
            ``file:line``, the case, the field and the fix.
    """
    file = Path(path)
    records = read_records(file, columns=columns, id_field=id_field, max_bytes=max_bytes)
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for record in records:
        case = _case(file, record, id_field)
        first = seen.get(case.id)
        if first is not None:
            raise _duplicate(first, case)
        seen[case.id] = case
        cases.append(case)
    dataset = Dataset(name if name is not None else file.stem, tuple(cases), file)
    if inputs_model is not None:
        dataset.validate(inputs_model)
    return dataset


def _case(path: Path, record: Record, id_field: str) -> Case:
    data = record.data
    source = f"{path}:{record.line}"

    def fail(message: str, at: str, case_id: str | None = None) -> DatasetError:
        label = f"case {case_id!r}: " if case_id else ""
        return DatasetError(
            f"{label}{message}",
            path=str(path),
            line=record.line_of(at),
            case_id=case_id,
            field=at,
        )

    case_id = data.get(id_field)
    if case_id is None or case_id == "":
        raise fail(
            f"the case has no {id_field!r}: give every case a unique id"
            + (
                " (or drop the id column to number the rows)"
                if path.suffix in (".csv", ".tsv")
                else ""
            ),
            id_field,
        )
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str):
        raise fail(
            f"the id {case_id!r} is {_kind(case_id)}; an id is text (or a whole number)", id_field
        )
    allowed = (id_field, *_CASE_FIELDS)
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise fail(
                f"unknown field {key!r}; {hint}A case has {', '.join(map(repr, allowed))} "
                "(put other data under 'metadata')",
                str(key),
                case_id,
            )
    if "inputs" not in data:
        raise fail(
            "the case has no 'inputs': give the template's inputs as an object, e.g. "
            '"inputs": {"ticket": "..."}',
            id_field,
            case_id,
        )
    try:
        return Case(
            case_id,
            data["inputs"],
            data.get("expected"),
            _or(data.get("tags"), ()),
            _or(data.get("metadata"), _EMPTY),
            source,
        )
    except DatasetError as exc:
        line = record.line_of(exc.field) if exc.field else record.line
        if line == record.line:
            raise
        raise DatasetError(
            exc.reason, path=str(path), line=line, case_id=case_id, field=exc.field
        ) from None


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _duplicate(first: Case, second: Case) -> DatasetError:
    where = f" (first at {first.source})" if first.source and first.source != second.source else ""
    return DatasetError.at(
        second.source,
        f"the case id {second.id!r} is used twice{where}; ids must be unique: rename one",
        case_id=second.id,
        field="id",
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", Case, Dataset, load_dataset)
