"""``promptlib demo``: the whole workflow on the shipped project, offline, with no key.

It copies the shipped templates and evaluation into a folder, then renders a template,
counts and prices it, sends it through the mock provider, runs the evaluation on the mock
and compares its two variants, writing the HTML report next to them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from promptlib._errors import ConfigurationError

__all__ = ["cmd_demo", "demo_project"]

TICKET = "Nobody on our team can log in since this morning."


def demo_project() -> Path:
    """Where the shipped ``templates/`` and ``evals/`` are: inside the installed package
    (a wheel carries them as ``promptlib/_demo``), or in a source checkout."""
    package = Path(__file__).parents[1]
    for root in (package / "_demo", package.parent):
        if (root / "templates").is_dir() and (root / "evals").is_dir():
            return root
    raise ConfigurationError(
        "the demo project is missing from this installation; reinstall promptlib "
        "(pip install --force-reinstall promptlib-py)"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir is not None else None
    try:
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="promptlib-demo-"))
        elif folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ConfigurationError(f"{folder} is not an empty folder: give a new or empty one")
        source = demo_project()
        for part in ("templates", "evals"):
            shutil.copytree(source / part, folder / part)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot make the demo project in {folder}: {exc.strerror or exc}; give another --dir"
        ) from None
    out = sys.stdout
    out.write(f"A promptlib project in {folder}: templates/ and evals/. No key, no network.\n")
    _send(folder)
    _evaluate(folder, args.store)
    kept = (
        ""
        if args.dir is not None
        else " (a new folder, yours to keep or delete; --dir DIR picks it)"
    )
    out.write(
        f"\nNext: cd {folder}{kept}; add a version of a template (copy "
        "templates/sentiment/1.0.0.prompt to 1.1.0.prompt, set its version and edit "
        "it), then `promptlib diff sentiment@1.0.0 sentiment@1.1.0`, `promptlib "
        "lock`, and `promptlib eval run evals/insurance-triage.toml`; see the README.\n"
    )
    return 0


def _step(title: str) -> None:
    sys.stdout.write(f"\n== {title}\n")


def _send(folder: Path) -> None:
    from promptlib._providers.registry import get_provider
    from promptlib._repository import Registry
    from promptlib._tokens import count_tokens, estimate_cost

    out = sys.stdout
    prompt = Registry(folder / "templates").render("ticket-priority@production", ticket=TICKET)
    _step("1. render ticket-priority@production (the customer's text stays inside <ticket>)")
    out.write(prompt.format() + "\n")
    _step("2. count and price it")
    tokens = count_tokens(prompt, "gpt-4o-mini")
    kind = "exact" if tokens.exact else "estimate"
    cost = estimate_cost(prompt, "gpt-4o-mini", output_tokens=6, requests=100_000)
    out.write(
        f"{tokens.total} input tokens on gpt-4o-mini ({kind}, {tokens.method}); with a "
        f"6-token reply, ${cost.per_request.total} per request, ${cost.total:.2f} per 100,000\n"
    )
    _step("3. send it through the mock provider (what tests use instead of a network)")
    provider, model = get_provider("mock:gpt-4o-mini")
    completion = provider.complete(prompt, model)
    out.write(
        f"output: {completion.output!r}; {completion.usage.input_tokens} tokens in, "
        f"{completion.usage.output_tokens} out, ${completion.cost.total}\n"
    )


def _evaluate(folder: Path, store: str | None) -> None:
    from promptlib._repository import Registry
    from promptlib.evals._comparison import compare
    from promptlib.evals._config import load_experiment
    from promptlib.evals._runner import run
    from promptlib.evals.report import render

    out = sys.stdout
    _step("4. evaluate two versions of insurance-triage on 58 labelled tickets (mock model)")
    experiment = load_experiment(
        folder / "evals" / "insurance-triage.toml", registry=Registry(folder / "templates")
    )
    path = Path(store) if store else folder / ".promptlib" / "evals.sqlite"
    result = run(experiment, store=path, run_id="demo", progress=False)
    out.write(f"run {result.run_id}: {result.status}, {result.done} results, ${result.spent}\n")
    _step("5. compare them: paired statistics and a verdict that never overclaims")
    report = compare(result)
    for v in report.variants:
        low, high = (v.interval.low, v.interval.high) if v.interval else (0.0, 0.0)
        out.write(
            f"{v.label}: {report.scorer} {100 * (v.mean or 0):.1f}% "
            f"(95% CI {100 * low:.1f} to {100 * high:.1f}) on {v.cases} cases\n"
        )
    for c in report.comparisons:
        out.write(c.verdict + "\n")
    html = folder / "insurance-triage.html"
    html.write_text(render(report, "html"), encoding="utf-8")
    out.write(f"report: {html}\n(also: promptlib eval compare demo --store {path} --format md)\n")
