"""The results store: every evaluation result in one SQLite file, written as it finishes.

One row per (run, variant, model, case, repeat), committed when that case finishes, so a
crash (``kill -9`` included) loses at most the requests in flight, and resuming a run sends
only what is missing. WAL journaling keeps writers from blocking readers (``eval show``
while a run goes on). Runs carry a manifest: what is needed to trust and reproduce them.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from promptlib._errors import ConfigurationError, UsageError
from promptlib._secrets import clean_strings, may_hold_a_key_shape, redact

__all__ = ["DEFAULT_STORE", "ResultRow", "RunInfo", "Store", "StoreError"]

DEFAULT_STORE = Path(".promptlib") / "evals.sqlite"
_JOURNALS = ("-wal", "-shm", "-journal")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    variant TEXT NOT NULL,
    model TEXT NOT NULL,
    case_id TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    template TEXT,
    template_hash TEXT,
    params TEXT NOT NULL,
    prompt_hash TEXT,
    text TEXT,
    output TEXT,
    scores TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cost TEXT,
    latency REAL,
    attempts INTEGER NOT NULL,
    error TEXT,
    finished REAL NOT NULL,
    PRIMARY KEY (run_id, variant, model, case_id, repeat)
);
"""


class StoreError(UsageError):
    """The results store cannot be used: unreadable, from a newer promptlib, or no such run."""


@dataclass(frozen=True)
class ResultRow:
    """One case's result in one run, as stored.

    ``variant`` is the variant's label (e.g. ``ticket@1.1.0``); ``template_hash`` pins the
    exact template sent. ``output`` is the parsed output as JSON (``None`` on error);
    ``scores`` maps scorer name to its stored score; ``cost`` is dollars as a string, or
    ``None`` when unknown; ``error`` is ``"ErrorType: message"`` when the case failed.
    """

    run_id: str
    variant: str
    model: str
    case_id: str
    repeat: int
    template: str | None
    template_hash: str | None
    params: Mapping[str, Any]
    prompt_hash: str | None
    text: str | None
    output: Any
    scores: Mapping[str, Mapping[str, Any]]
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost: str | None
    latency: float | None
    attempts: int
    error: str | None
    finished: float = field(default=0.0)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """What identifies the work: (variant, model, case id, repeat)."""
        return (self.variant, self.model, self.case_id, self.repeat)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "params": dict(self.params),
            "scores": {k: dict(v) for k, v in self.scores.items()},
        }


@dataclass(frozen=True)
class RunInfo:
    """A run: its id, name, when it started, its status and manifest."""

    run_id: str
    name: str
    created: float
    status: str  # "running", "finished", "interrupted", "over budget"
    manifest: Mapping[str, Any]
    results: int = 0


_COLUMNS = [
    "run_id",
    "variant",
    "model",
    "case_id",
    "repeat",
    "template",
    "template_hash",
    "params",
    "prompt_hash",
    "text",
    "output",
    "scores",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost",
    "latency",
    "attempts",
    "error",
    "finished",
]
_INSERT = (
    f"INSERT OR REPLACE INTO results ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


class Store:
    """An SQLite file of evaluation runs and their results.

    Args:
        path: the database file (default ``.promptlib/evals.sqlite``); made on first use.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, *, create: bool = True) -> None:
        self.path: Path = Path(path)
        if not create and not self.path.is_file():
            raise StoreError(
                f"no results store at {self.path}: run an evaluation first (promptlib eval "
                "run evals/NAME.toml), or give --store"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # A committed row survives a killed process (WAL); NORMAL skips an fsync per
            # commit, so only a power cut could lose the latest results.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except (sqlite3.DatabaseError, OSError, ValueError) as exc:
            raise StoreError(
                f"cannot use the results store {self.path}: {exc}; give another path, or "
                "move this file away"
            ) from exc

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is not None and not str(row[0]).isdigit():
            raise ValueError(f"its format version {row[0]!r} is not a number")
        if row is None:
            self._db.execute(
                "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            return
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the results store {self.path} was written by a newer promptlib (store "
                f"format {version}, this promptlib reads up to {SCHEMA_VERSION}); upgrade "
                "promptlib, or use another store path"
            )

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A damaged store (a dropped column, text that is not JSON) says so, by name."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise self._unusable(exc) from exc
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StoreError(
                f"the results store {self.path} is damaged ({type(exc).__name__}: {exc}); "
                "restore it from a copy, or start a new one with --store"
            ) from exc

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._unusable(exc) from exc

    def _unusable(self, exc: sqlite3.Error) -> StoreError:
        cause = str(exc)
        if "locked" in cause or "busy" in cause:
            return StoreError(
                f"the results store {self.path} is locked by another program ({cause}); wait "
                "for it to finish, or use another --store"
            )
        return StoreError(
            f"cannot use the results store {self.path}: {cause}; fix the cause (disk space, "
            "permissions) and run the command again: what was written is kept"
        )

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- runs --------------------------------------------------------------------------------

    def start_run(self, run_id: str, name: str, manifest: Mapping[str, Any]) -> None:
        """Record a new run (``status = running``)."""
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            raise ConfigurationError(
                f"run id {str(run_id)[:40]!r}: use 1 to 100 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        try:
            with self._writing():
                self._db.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, 'running', ?)",
                    (run_id, name, time.time(), _json(dict(manifest), redact)),
                )
        except StoreError as exc:
            if not isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise
            raise ConfigurationError(
                f"a run {run_id!r} already exists in {self.path}: resume it "
                f"(promptlib eval resume {run_id}) or choose another id"
            ) from None

    def set_status(self, run_id: str, status: str) -> None:
        with self._writing():
            self._db.execute("UPDATE runs SET status=? WHERE run_id=?", (status, run_id))

    def update_manifest(self, run_id: str, **changes: Any) -> None:
        """Record changed settings (e.g. a new budget) in the run's manifest."""
        manifest = dict(self.run(run_id).manifest) | changes
        with self._writing():
            self._db.execute(
                "UPDATE runs SET manifest=? WHERE run_id=?", (_json(manifest, redact), run_id)
            )

    def spent(self, run_id: str) -> Decimal:
        """Dollars the run's stored results cost (their requests and their judges')."""
        total = Decimal(0)
        for row in self.results(run_id):
            if row.cost is not None:
                total += Decimal(row.cost)
            for score in row.scores.values():
                cost = score.get("cost") if isinstance(score, Mapping) else None
                if isinstance(cost, str):
                    total += Decimal(cost)
        return total

    def run(self, run_id: str) -> RunInfo:
        """The run ``run_id``: its id, a unique prefix of it, or an experiment's name
        (its latest run)."""
        with self._reading():
            return self._find(run_id)

    def _find(self, run_id: str) -> RunInfo:
        rows = self._db.execute(
            "SELECT run_id, name, created, status, manifest FROM runs "
            "WHERE run_id LIKE ? ESCAPE '\\' ORDER BY created",
            (_like_prefix(run_id),),
        ).fetchall()
        exact = [row for row in rows if row[0] == run_id]
        # An experiment's name stands for its latest run (rows are oldest first).
        named = [row for row in rows if row[1] == run_id]
        rows = exact or named[-1:] or rows
        if len(rows) != 1:
            known = ", ".join(r.run_id for r in self.runs()[-5:]) or "none yet"
            problem = "no run" if not rows else "more than one run"
            raise StoreError(
                f"{problem} {run_id!r} in {self.path} (latest: {known}); "
                "promptlib eval list shows them all"
            )
        return self._run_info(rows[0])

    def has_run(self, run_id: str) -> bool:
        """Whether a run with exactly this id is stored."""
        with self._reading():
            found = self._db.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone()
            return found is not None

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        with self._reading():
            rows = self._db.execute(
                "SELECT run_id, name, created, status, manifest FROM runs ORDER BY created"
            ).fetchall()
            return [self._run_info(row) for row in rows]

    def _run_info(self, row: tuple[Any, ...]) -> RunInfo:
        count = self._db.execute(
            "SELECT COUNT(*) FROM results WHERE run_id=?", (row[0],)
        ).fetchone()[0]
        manifest = json.loads(row[4])
        if not isinstance(manifest, dict):
            raise ValueError(f"the record of run {row[0]!r} is not a JSON object")
        return RunInfo(row[0], row[1], row[2], row[3], manifest, count)

    # --- results -----------------------------------------------------------------------------

    def add(self, row: ResultRow, *, redact: Callable[[str], str] | None = None) -> None:
        """Store one result; it is committed before this returns.

        ``redact`` cleans every text stored: the answer, the error, and the JSON of the
        output, scores and parameters.
        """
        with self._writing():
            self._db.execute(_INSERT, _values(row, redact or _unchanged))

    def add_many(self, rows: Iterable[tuple[ResultRow, Callable[[str], str] | None]]) -> None:
        """Store results (each with its ``redact``, as :meth:`add`) in one transaction:
        committed together before this returns, or not at all."""
        values = [_values(row, redact or _unchanged) for row, redact in rows]
        try:
            with self._db:  # BEGIN ... COMMIT, or ROLLBACK on an error
                self._db.execute("BEGIN")
                self._db.executemany(_INSERT, values)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot write results to the store {self.path}: {exc}. The results written "
                "before are kept: fix the cause (disk space, permissions, another program "
                "holding the file) and resume the run"
            ) from exc

    def done(self, run_id: str) -> set[tuple[str, str, str, int]]:
        """The (variant, model, case id, repeat) keys the run has final results for: a
        case the provider failed on after every retry (an outage, a rate limit, a timeout,
        a dropped connection) is not final, and a resume sends it again."""
        with self._reading():
            rows = self._db.execute(
                "SELECT variant, model, case_id, repeat, error FROM results WHERE run_id=?",
                (run_id,),
            )
            return {(v, m, c, int(r)) for v, m, c, r, error in rows if not transient(error)}

    def unfinished(self, run_id: str) -> int:
        """How many of the run's results are provider failures a resume would send again."""
        with self._reading():
            rows = self._db.execute("SELECT error FROM results WHERE run_id=?", (run_id,))
            return sum(1 for (error,) in rows if transient(error))

    def results(self, run_id: str) -> Iterator[ResultRow]:
        """The run's results, in a stable order (variant, model, case, repeat)."""
        with self._reading():
            cursor = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM results WHERE run_id=? "
                "ORDER BY variant, model, case_id, repeat",
                (run_id,),
            )
            for values in cursor:
                row = dict(zip(_COLUMNS, values, strict=True))
                row["params"] = json.loads(row["params"])
                row["output"] = None if row["output"] is None else json.loads(row["output"])
                row["scores"] = json.loads(row["scores"])
                yield ResultRow(**row)

    def export_jsonl(self, run_id: str, out: str | Path | TextIO) -> int:
        """Write the run's manifest and results as JSON lines (to a file or a text stream);
        return the results written.

        Raises:
            StoreError: the file is the store itself (or its journal), or cannot be written.
        """
        info = self.run(run_id)
        if not isinstance(out, str | Path):
            return self._export(info, out)
        target = Path(out)
        if self.is_store_file(target):
            raise StoreError(
                f"{target} is the results store itself (or its journal): writing the export "
                "there would destroy every run; choose another file"
            )
        try:
            with target.open("w", encoding="utf-8") as stream:
                return self._export(info, stream)
        except OSError as exc:
            raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc

    def is_store_file(self, path: Path) -> bool:
        """Whether ``path`` is this store's database file or one of its journal files."""
        mine = self.path.resolve()
        candidates = {mine, *(mine.with_name(mine.name + suffix) for suffix in _JOURNALS)}
        try:
            resolved = path.resolve()
        except OSError:
            return False
        if resolved in candidates:
            return True
        return any(
            path.exists() and other.exists() and path.samefile(other) for other in candidates
        )

    def _export(self, info: RunInfo, out: TextIO) -> int:
        count = 0
        out.write(_dumps({"run": _run_dict(info)}) + "\n")
        for row in self.results(info.run_id):
            out.write(_dumps({"result": row.to_dict()}) + "\n")
            count += 1
        return count


# Provider failures that time may cure: stored, but sent again by a resume.
TRANSIENT_ERRORS = (
    "ProviderConnectionError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
)


def _values(row: ResultRow, clean: Callable[[str], str]) -> tuple[Any, ...]:
    return (
        row.run_id,
        row.variant,
        row.model,
        row.case_id,
        row.repeat,
        row.template,
        row.template_hash,
        _json(dict(row.params), clean) if row.params else "{}",
        row.prompt_hash,
        None if row.text is None else clean(row.text),
        None if row.output is None else _json(row.output, clean),
        _json({k: dict(v) for k, v in row.scores.items()}, clean),
        row.input_tokens,
        row.output_tokens,
        row.cached_input_tokens,
        row.cost,
        row.latency,
        row.attempts,
        None if row.error is None else clean(row.error),
        row.finished or time.time(),
    )


# Deeper than any output schema may nest (MAX_SCHEMA_DEPTH): every string is reached.
_MAX_DEPTH = 128


def redacted(value: Any) -> Any:
    """``value`` (JSON data) as a manifest stores it: every key shape removed."""
    return clean_strings(value, redact, _MAX_DEPTH)


def _unchanged(text: str) -> str:
    return text


def _json(value: Any, clean: Callable[[str], str]) -> str:
    """``value`` as JSON, cleaned. Value by value (keys too) when the text could hold a key
    shape at all, since JSON escapes (a tab as ``\\t``) can hide one from a search of the
    encoded text; otherwise the text at once, for the secrets known by value."""
    text = _dumps(value)
    if may_hold_a_key_shape(text):
        text = _dumps(clean_strings(value, clean, _MAX_DEPTH))
    return clean(text)


def transient(error: str | None) -> bool:
    """Whether a stored error is a provider failure that a later attempt may get past."""
    return error is not None and error.split(":", 1)[0] in TRANSIENT_ERRORS


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _run_dict(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "name": info.name,
        "created": info.created,
        "status": info.status,
        "manifest": dict(info.manifest),
    }


def rows_by_key(rows: Iterable[ResultRow]) -> dict[tuple[str, str, str, int], ResultRow]:
    return {row.key: row for row in rows}


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", StoreError, ResultRow, RunInfo, Store)
