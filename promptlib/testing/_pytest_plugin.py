"""promptlib's pytest plugin (registered through the ``pytest11`` entry point).

- Keeps the session offline (:mod:`promptlib.testing._guard`): a real provider request fails,
  unless it comes from a test marked ``@pytest.mark.allow_provider_requests`` or
  ``PROMPTLIB_ALLOW_REQUESTS=1`` is set.
- Fixtures: ``mock_provider``, ``prompt_registry``, ``prompt_snapshot``.
- ``--update-prompt-snapshots`` rewrites snapshots instead of comparing.
- Collects the test cases stored in ``*.prompt`` files (add the templates folder to
  ``testpaths``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from promptlib._repository import Registry
    from promptlib.testing import MockProvider

__all__: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptlib")
    group.addoption(
        "--update-prompt-snapshots",
        action="store_true",
        default=False,
        help="rewrite promptlib prompt snapshots instead of comparing them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_provider_requests: let this test send real requests to model providers"
    )
    from promptlib.testing._guard import blocking_sdk_transports

    # Active for the whole session: session- and module-scoped fixtures, and code run at
    # import, are refused too. Each test's own scope only decides whether it may send.
    session = ExitStack()
    session.enter_context(blocking_sdk_transports())
    config.add_cleanup(session.close)


@pytest.fixture(autouse=True)
def _promptlib_offline(request: pytest.FixtureRequest) -> Iterator[None]:
    # PROMPTLIB_ALLOW_REQUESTS is read by the guard when a request is made.
    allowed = request.node.get_closest_marker("allow_provider_requests") is not None
    from promptlib.testing._guard import blocking_sdk_transports

    with blocking_sdk_transports(allowed=allowed):
        yield


@pytest.fixture
def mock_provider() -> MockProvider:
    """A fresh :class:`~promptlib.testing.MockProvider` (script it with ``.replies``)."""
    from promptlib.testing import MockProvider

    return MockProvider()


@pytest.fixture
def prompt_registry(pytestconfig: pytest.Config) -> Registry:
    """The project's template :class:`~promptlib.Registry` ([tool.promptlib] or ./templates,
    allowed its ``output_models``)."""
    from promptlib.settings import project_settings

    return project_settings(Path(pytestconfig.rootpath)).registry()


@pytest.fixture
def prompt_snapshot(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``prompt_snapshot(prompt, name=None, request=None)``: compare with a stored snapshot.

    Snapshots live in ``__snapshots__/<test module>/[<class>/]<test name>[-<name>].txt``
    beside the test; a second unnamed snapshot in a test is ``<test name>-2``, and so on.
    ``--update-prompt-snapshots`` writes them.
    """
    from promptlib._errors import UsageError
    from promptlib.testing.snapshots import assert_snapshot, safe_name, snapshot_filename

    update = bool(request.config.getoption("--update-prompt-snapshots"))
    module = Path(str(request.node.fspath))
    folder = module.parent / "__snapshots__" / module.stem
    for node in request.node.listchain():  # the test's classes, nested ones too
        if isinstance(node, pytest.Class):
            folder /= safe_name(node.name)
    test = request.node.name
    taken: set[str] = set()
    unnamed = 0

    def check(prompt: Any, name: str | None = None, *, request: Any = None) -> None:
        nonlocal unnamed
        if name is None:
            unnamed += 1
            if unnamed > 1:
                name = str(unnamed)
        filename = snapshot_filename(test, name)
        if filename.lower() in taken:
            raise UsageError(
                f"two snapshots in {test} would share the file {filename}: give each "
                "prompt_snapshot(...) call in a test its own name"
            )
        taken.add(filename.lower())
        try:
            assert_snapshot(prompt, folder / filename, update=update, request=request)
        except AssertionError as failure:
            message = str(failure)
        else:
            return
        pytest.fail(message, pytrace=False)  # the message and diff, not our traceback

    return check


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".prompt" and "\ntests:" in file_path.read_text(encoding="utf-8"):
        return TemplateCases.from_parent(parent, path=file_path)
    return None


class TemplateCases(pytest.File):
    """The test cases stored in one template file."""

    def collect(self) -> Iterator[pytest.Item]:
        from promptlib._repository.loader import ModelResolver, load_file
        from promptlib.settings import project_settings

        settings = project_settings(self.path.parent)
        resolver = ModelResolver({}, settings.output_models, settings.import_paths)
        loaded = load_file(self.path, self.path.parents[1], resolver)
        for index, case in enumerate(loaded.tests):
            name = str(case.get("name") or f"case {index + 1}")
            yield TemplateCase.from_parent(self, name=name, loaded=loaded, case=case, index=index)


class TemplateCase(pytest.Item):
    """One stored test case."""

    def __init__(self, *, loaded: Any, case: Any, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded: Any = loaded
        self.case: Any = case
        self.index: int = index

    def runtest(self) -> None:
        from promptlib.testing._cases import run_case

        result = run_case(self.loaded, self.case, self.index)
        if not result.passed:
            raise CaseFailed(result.template, result.name, result.failures)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            failure = excinfo.value
            return f"{failure.template} — {failure.name}:\n" + "\n".join(
                f"  - {line}" for line in failure.failures
            )
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.loaded.template.label}: {self.name}"


class CaseFailed(Exception):
    def __init__(self, template: str, name: str, failures: list[str]) -> None:
        super().__init__(template, name, failures)
        self.template: str = template
        self.name: str = name
        self.failures: list[str] = failures
