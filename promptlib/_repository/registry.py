"""The registry: every template version under a templates root, addressed by reference.

A reference is ``name`` (the latest released version), ``name@1.2.0`` (that version) or
``name@production`` (the version a label points at). Versions load on first use and stay
loaded side by side, so two versions of one template can run in the same process.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel

from promptlib._errors import TemplateError
from promptlib._messages import Prompt
from promptlib._repository.labels import LABELS_FILE, read_labels, valid_label
from promptlib._repository.loader import EXTENSION, ModelResolver, TemplateFile, load_file
from promptlib._repository.lockfile import LOCK_FILE, read_lock, write_lock
from promptlib._repository.semver import Version
from promptlib._templates.limits import current_limits
from promptlib._templates.template import Template

InputT = TypeVar("InputT", bound=BaseModel)
OutputT = TypeVar("OutputT")

__all__ = ["CheckProblem", "Registry", "parse_ref"]

LATEST = "latest"


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``name@version-or-label`` into its parts (no ``@``: ``None``)."""
    name, at, selector = ref.partition("@")
    if not name or (at and not selector):
        raise TemplateError(
            f"{ref!r} is not a template reference: use NAME, NAME@VERSION or NAME@LABEL, "
            "e.g. ticket-priority@1.0.0 or ticket-priority@production"
        )
    return name, selector if at else None


@dataclass(frozen=True)
class CheckProblem:
    """One reason ``check`` fails.

    Attributes:
        kind: ``invalid`` (the file does not load), ``changed`` (a released version was
            edited), ``removed`` (a released version's file is gone), ``unreleased`` (a
            version is not in the lock file yet), or ``label`` (a label points nowhere
            valid).
        ref: ``name@version`` (or ``name@label``) concerned.
        message: what is wrong and how to fix it.
    """

    kind: Literal["invalid", "changed", "removed", "unreleased", "label"]
    ref: str
    message: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}"


class Registry:
    """The template versions under one templates root.

    Args:
        root: the templates folder: ``<root>/<name>/<version>.prompt`` files, with
            ``promptlib.lock`` and ``labels.yaml`` beside them.
        models: pydantic models that files may name as ``output: {model: ...}``, by
            reference (``"app.schemas:Triage"``) or class name.
        model_modules: module prefixes (e.g. ``["app"]``) from which files may import the
            models they name, or single models (``"app.schemas:Triage"``). Nothing is
            imported unless allowed here.
        model_paths: folders to import those modules from when they are not installed
            (the ``promptlib`` command and the pytest plugin pass the project's folder).
    """

    def __init__(
        self,
        root: str | PathLike[str] = "templates",
        *,
        models: Mapping[str, type[Any]] | None = None,
        model_modules: Sequence[str] = (),
        model_paths: Sequence[str | PathLike[str]] = (),
    ) -> None:
        self.root: Path = Path(root)
        if not self.root.is_dir():
            raise TemplateError(
                f"templates root {str(self.root)!r} is not a folder. Create it, or point "
                "promptlib at yours (--templates DIR, or [tool.promptlib] templates = "
                "'...' in pyproject.toml)"
            )
        self._resolver = ModelResolver(
            dict(models or {}), tuple(model_modules), tuple(str(p) for p in model_paths)
        )
        # Files load under the limits in force now (see promptlib._templates.use_limits).
        self._limits = current_limits()
        self._root = os.fspath(self.root)
        self._files: dict[Any, tuple[TemplateFile, tuple[int, ...]]] = {}
        self._typed: dict[Any, tuple[TemplateFile, Template[Any, Any]]] = {}
        self._given: dict[Any, tuple[TemplateFile, tuple[int, ...]]] = {}
        self._needs_class: set[tuple[str, type[Any] | None]] = set()
        # What was read from disk, and the modification stamps it was read under: a
        # reference resolves, and a file loads, again only when a stamp has changed.
        self._resolved: dict[str, tuple[tuple[int, ...], tuple[str, str]]] = {}
        self._listing: tuple[tuple[int, ...], dict[str, dict[str, Path]]] | None = None

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # --- what is there -------------------------------------------------------------------

    def _paths(self) -> dict[str, dict[str, Path]]:
        stamp = self._folders_stamp()
        if self._listing is not None and self._listing[0] == stamp:
            return self._listing[1]
        found: dict[str, dict[str, Path]] = {}
        for path in sorted(self.root.glob(f"*/*{EXTENSION}")):
            found.setdefault(path.parent.name, {})[path.name[: -len(EXTENSION)]] = path
        self._listing = (stamp, found)
        return found

    def _folders_stamp(self) -> tuple[int, ...]:
        """The modification times of the root and its folders: a file added or removed
        anywhere changes one of them."""
        stamps = [_stamp(self._root)[0]]
        with os.scandir(self.root) as entries:
            stamps.extend(entry.stat().st_mtime_ns for entry in entries if entry.is_dir())
        return tuple(stamps)

    def _ref_stamp(self, ref: str) -> tuple[int, ...]:
        """What a reference's resolution depends on besides its file: the lock file
        (``name``, ``name@latest``) or the labels file (``name@label``); a pinned version
        depends on its file alone. :meth:`file` checks the file's own stamp, and resolves
        again when the file is gone, so the folder need not be listed on every call."""
        selector = ref.partition("@")[2]
        if not selector or selector == LATEST:
            return _stamp(f"{self._root}/{LOCK_FILE}")
        if _is_version(selector):
            return ()
        return _stamp(f"{self._root}/{LABELS_FILE}")

    def names(self) -> list[str]:
        """Template names, sorted."""
        return sorted(self._paths())

    def versions(self, name: str) -> list[str]:
        """The versions of ``name`` that have a file, in semver order (oldest first)."""
        versions = self._paths().get(name)
        if versions is None:
            raise self._unknown(name)
        return sorted(versions, key=_sort_key)

    def released(self, name: str) -> list[str]:
        """The versions of ``name`` recorded in the lock file, in semver order."""
        return sorted(read_lock(self.root).get(name, {}), key=_sort_key)

    def labels(self, name: str) -> dict[str, str]:
        """The labels of ``name`` and the versions they point at."""
        return dict(read_labels(self.root).get(name, {}))

    # --- resolving and loading -----------------------------------------------------------

    def resolve(self, ref: str) -> tuple[str, str]:
        """``(name, version)`` for a reference.

        Raises:
            TemplateError: unknown template, version or label; or no released version.
        """
        key = self._cached_resolve(ref)
        if _stamp(self._file_path(key)) == _MISSING:
            key = self._resolve_again(ref)
        return key

    def _cached_resolve(self, ref: str) -> tuple[str, str]:
        """:meth:`resolve`, trusting that the file it found last time is still there."""
        stamp = self._ref_stamp(ref) if isinstance(ref, str) else ()
        cached = self._resolved.get(ref) if isinstance(ref, str) else None
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            found = self._resolve(ref)
        except TemplateError:
            # Before saying a version is missing, list the folder again: its time may not
            # have moved when a file came or went (coarse timestamps, a restored mtime).
            self._listing = None
            found = self._resolve(ref)
        if len(self._resolved) > 1024:
            self._resolved.clear()
        self._resolved[ref] = (stamp, found)
        return found

    def _resolve_again(self, ref: str) -> tuple[str, str]:
        """Resolve ``ref`` against the folder as it is now: its file is gone."""
        self._listing = None
        if isinstance(ref, str):
            self._resolved.pop(ref, None)
        return self._cached_resolve(ref)

    def _file_path(self, key: tuple[str, str]) -> str:
        return f"{self._root}/{key[0]}/{key[1]}{EXTENSION}"

    def _resolve(self, ref: str) -> tuple[str, str]:
        name, selector = parse_ref(ref)
        versions = self.versions(name)
        if selector is None or selector == LATEST:
            released = [v for v in self.released(name) if not _is_prerelease(v)]
            if not released:
                raise TemplateError(
                    f"{name!r} has no released version yet, so {ref!r} cannot choose one. "
                    f"Pin a version ({name}@{versions[-1]}) or release it with "
                    "'promptlib lock'."
                )
            if released[-1] not in versions:
                path = self.root / name / f"{released[-1]}{EXTENSION}"
                raise TemplateError(
                    f"{name}@{released[-1]} is the latest released version of {name!r}, but its "
                    f"file {path} is gone. Released versions stay: restore it from version "
                    f"control, or pin an existing version ({name}@{versions[-1]})."
                )
            return name, released[-1]
        if selector in versions:
            return name, selector
        if _is_version(selector):
            raise TemplateError(
                f"{name!r} has no version {selector!r} (versions: {', '.join(versions)}); "
                f"add {self.root / name / (selector + EXTENSION)} or pick an existing one"
            )
        labels = self.labels(name)
        if selector not in labels:
            known = ", ".join(sorted(labels)) or "none"
            hint = difflib.get_close_matches(selector, list(labels), n=1)
            fix = f"did you mean {name}@{hint[0]}? " if hint else ""
            raise TemplateError(
                f"{name!r} has no label {selector!r}; {fix}(labels: {known}). Labels live in "
                f"{self.root / LABELS_FILE}."
            )
        version = labels[selector]
        if version not in versions:
            raise TemplateError(
                f"label {name}@{selector} points at {version}, which has no file; fix "
                f"{self.root / LABELS_FILE}"
            )
        return name, version

    def file(self, ref: str) -> TemplateFile:
        """The loaded file of a reference (cached, and loaded again when it changes on disk)."""
        return self._load(ref, None)

    def _load(self, ref: str, model: type[Any] | None) -> TemplateFile:
        """The file of ``ref``; with ``model``, loaded with that class allowed as the output
        model it names (cached apart: the registry's own allow-list is unchanged)."""
        key = self._cached_resolve(ref)
        stamp = _stamp(self._file_path(key))
        cache = self._files if model is None else self._given
        slot = key if model is None else (key, model)
        cached = cache.get(slot)
        if cached is not None and cached[1] == stamp + self._partials_stamp(cached[0]):
            return cached[0]
        if stamp == _MISSING:  # gone: resolving again names what is missing
            key = self._resolve_again(ref)
            stamp = _stamp(self._file_path(key))
        if stamp == _MISSING:  # removed while resolving
            raise TemplateError(
                f"the file of {key[0]}@{key[1]} is gone; restore it from version control"
            )
        resolver = self._resolver
        if model is not None:
            named = f"{model.__module__}:{model.__qualname__}"
            resolver = dataclasses.replace(resolver, models={**resolver.models, named: model})
        loaded = load_file(Path(self._file_path(key)), self.root, resolver, self._limits)
        cache[slot] = (loaded, stamp + self._partials_stamp(loaded))
        return loaded

    def _partials_stamp(self, loaded: TemplateFile) -> tuple[int, ...]:
        """The stamps of the partials a file includes (none for most files)."""
        stamps: tuple[int, ...] = ()
        for name in loaded.template.includes:
            stamps += _stamp(f"{self._root}/{name}")
        return stamps

    @overload
    def get(self, ref: str) -> Template[Any, Any]: ...
    @overload
    def get(
        self, ref: str, *, inputs: type[InputT], output: type[OutputT]
    ) -> Template[InputT, OutputT]: ...
    @overload
    def get(self, ref: str, *, inputs: type[InputT]) -> Template[InputT, Any]: ...
    @overload
    def get(self, ref: str, *, output: type[OutputT]) -> Template[Any, OutputT]: ...
    def get(
        self, ref: str, *, inputs: type[Any] | None = None, output: type[Any] | None = None
    ) -> Template[Any, Any]:
        """The template of a reference, e.g. ``registry.get("ticket-priority@production")``.

        With ``inputs`` and/or ``output`` (pydantic classes), the file is checked against
        them when it loads, and the template is typed with them: ``render`` takes an
        ``inputs`` instance and answers parse into ``output``; ``TemplateError`` names every
        mismatch (see "Typed, checked against your classes" in docs/files.md).
        """
        named = (ref, output) in self._needs_class
        try:
            # A file that could load only with the class given is not tried without it again.
            loaded = self._load(ref, output) if named else self.file(ref)
        except TemplateError:
            if not isinstance(output, type) or named:
                raise
            # The class itself is given: a file naming it may use it without an allow-list
            # (for this call only: the registry's own allow-list is unchanged).
            loaded = self._load(ref, output)
            self._needs_class.add((ref, output))
        if inputs is None and output is None:
            return loaded.template
        key = (loaded.path, inputs, output)  # one entry per file and classes, replaced on edits
        found = self._typed.get(key)
        if found is None or found[0] is not loaded:
            from promptlib._repository.typed import typed_template

            found = (loaded, typed_template(loaded.template, inputs, output))
            self._typed[key] = found
        return found[1]

    def render(self, ref: str, /, **inputs: Any) -> Prompt[Any]:
        """Shorthand for ``registry.get(ref).render(**inputs)``."""
        return self.get(ref).render(**inputs)

    def _unknown(self, name: str) -> TemplateError:
        names = self.names()
        hint = difflib.get_close_matches(name, names, n=1)
        fix = f"; did you mean {hint[0]!r}?" if hint else ""
        return TemplateError(
            f"no template {name!r} under {self.root}{fix} (templates: {', '.join(names) or 'none'})"
        )

    # --- releasing -----------------------------------------------------------------------

    def check(self) -> list[CheckProblem]:
        """Everything that keeps the templates from being consistent and released.

        Checks that every file loads, that no released version changed or disappeared,
        that every version is released (the lock is not stale), and that every label
        points at a released version. An empty list means all is well.
        """
        problems, hashes = self._load_all()
        try:
            locked = read_lock(self.root)
        except TemplateError as exc:
            return [*problems, CheckProblem("invalid", LOCK_FILE, str(exc))]
        problems += _compare_with_lock(hashes, locked, self.root)
        for name in sorted(hashes.keys() - locked.keys()):
            for version in sorted(hashes[name], key=_sort_key):
                problems.append(_unreleased(name, version))
        try:
            problems += self._label_problems(locked)
        except TemplateError as exc:
            problems.append(CheckProblem("label", LABELS_FILE, str(exc)))
        return problems

    def lock(self) -> list[str]:
        """Release every version not yet in the lock file; return their references.

        Raises:
            TemplateError: a file does not load, or a released version changed or was
                removed: the lock never overwrites a release.
        """
        problems, hashes = self._load_all()
        locked = read_lock(self.root)
        problems += _compare_with_lock(hashes, locked, self.root)
        blocking = [p for p in problems if p.kind in ("invalid", "changed", "removed")]
        if blocking:
            details = "\n".join(f"  - {p}" for p in blocking)
            raise TemplateError(
                "cannot lock until these are fixed (a file that does not load, or a released "
                f"version that changed or is gone):\n{details}"
            )
        added = []
        for name, versions in sorted(hashes.items()):
            for version, digest in sorted(versions.items(), key=lambda kv: _sort_key(kv[0])):
                if version not in locked.get(name, {}):
                    locked.setdefault(name, {})[version] = digest
                    added.append(f"{name}@{version}")
        if added or not (self.root / LOCK_FILE).exists():
            write_lock(self.root, locked)
        return added

    def _load_all(self) -> tuple[list[CheckProblem], dict[str, dict[str, str]]]:
        problems: list[CheckProblem] = []
        hashes: dict[str, dict[str, str]] = {}
        for name, versions in self._paths().items():
            for version, path in versions.items():
                # Always from disk: a release check must see the files as they are now.
                try:
                    loaded = load_file(path, self.root, self._resolver, self._limits)
                except TemplateError as exc:
                    problems.append(CheckProblem("invalid", f"{name}@{version}", str(exc)))
                    continue
                except Exception as exc:  # one broken file must not hide the others
                    problems.append(
                        CheckProblem(
                            "invalid",
                            f"{name}@{version}",
                            f"{path}: could not be loaded: {type(exc).__name__}: {exc}",
                        )
                    )
                    continue
                self._files[name, version] = (loaded, _stamp(path) + self._partials_stamp(loaded))
                hashes.setdefault(name, {})[version] = loaded.template.hash
        return problems, hashes

    def _label_problems(self, locked: dict[str, dict[str, str]]) -> list[CheckProblem]:
        problems = []
        names = set(self._paths())
        for name, labels in sorted(read_labels(self.root).items()):
            for label, version in sorted(labels.items()):
                ref = f"{name}@{label}"
                if name not in names and name not in locked:
                    problems.append(CheckProblem("label", ref, f"there is no template {name!r}"))
                elif version not in locked.get(name, {}):
                    problems.append(
                        CheckProblem(
                            "label",
                            ref,
                            f"points at {version}, which is not released; release it with "
                            "'promptlib lock' or point the label at a released version",
                        )
                    )
                elif not valid_label(label):  # pragma: no cover - read_labels refuses these
                    problems.append(CheckProblem("label", ref, "is not a valid label name"))
        return problems


def _compare_with_lock(
    hashes: dict[str, dict[str, str]], locked: dict[str, dict[str, str]], root: Path
) -> list[CheckProblem]:
    problems = []
    for name, versions in sorted(locked.items()):
        for version, digest in sorted(versions.items(), key=lambda kv: _sort_key(kv[0])):
            ref = f"{name}@{version}"
            current = hashes.get(name, {}).get(version)
            path = root / name / f"{version}{EXTENSION}"
            if current is None and not path.exists():
                problems.append(
                    CheckProblem(
                        "removed",
                        ref,
                        f"this released version's file {path} is gone. Released versions "
                        "stay: restore it from version control.",
                    )
                )
            elif current is not None and current != digest:
                problems.append(
                    CheckProblem(
                        "changed",
                        ref,
                        f"released with hash {digest[:19]}…, but its content now hashes to "
                        f"{current[:19]}…. Released versions are immutable: revert the edit "
                        f"and make the change in a new version (e.g. "
                        f"{name}/{_next_patch(version)}{EXTENSION}), then run 'promptlib lock'.",
                    )
                )
        for version in sorted(hashes.get(name, {}).keys() - versions.keys(), key=_sort_key):
            problems.append(_unreleased(name, version))
    return problems


def _unreleased(name: str, version: str) -> CheckProblem:
    return CheckProblem(
        "unreleased",
        f"{name}@{version}",
        "not in the lock file (the lock is stale): run 'promptlib lock' to release it, and "
        "commit the lock file",
    )


def _is_version(text: str) -> bool:
    try:
        Version.parse(text)
    except ValueError:
        return False
    return True


def _is_prerelease(version: str) -> bool:
    try:
        return Version.parse(version).is_prerelease
    except ValueError:
        return True  # not a version at all: never "latest"


def _stamp(path: str | Path) -> tuple[int, ...]:
    """What changes when a file or folder does: its modification time and size, and its
    inode and change time, which a copy made with its times kept (``cp -p``, ``rsync -a``,
    a file replaced by rename) cannot keep; zeros when it is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return _MISSING
    return (info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns)


_MISSING = (0, 0, 0, 0)


def _sort_key(version: str) -> Any:
    # Semver precedence ignores build metadata; among versions equal but for it, the build
    # metadata decides, as ASCII text, so that "latest" is always the same one.
    try:
        parsed = Version.parse(version)
    except ValueError:
        return (1, version)
    return (0, parsed, parsed.build)


def _next_patch(version: str) -> str:
    try:
        v = Version.parse(version)
    except ValueError:
        return "NEW-VERSION"
    return f"{v.major}.{v.minor}.{v.patch + 1}"


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", CheckProblem, Registry)
