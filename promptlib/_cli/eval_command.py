"""``promptlib eval``: run, resume, list, show, export, compare evaluations; power."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from promptlib._cli.config import registry
from promptlib._errors import ConfigurationError
from promptlib._shown import plain_amount
from promptlib._terminal import terminal_safe

__all__ = ["add_eval_commands", "cmd_eval"]

EXIT_STOPPED = 1  # the budget stopped the run before every case was sent
EXIT_WORSE = 1  # --fail-if-worse: a candidate is significantly worse than the baseline
EXIT_PROVIDER = 3  # cases failed at the provider: a resume sends them again
EXIT_INTERRUPTED = 130


def add_eval_commands(sub: Any, json_help: str) -> None:
    """The ``eval`` command and its subcommands."""
    help = "evaluate template versions and models on a dataset; results go to a store"
    parser = sub.add_parser("eval", help=help, description=help)
    actions = parser.add_subparsers(dest="eval_command", required=True, metavar="ACTION")

    def store(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--store",
            metavar="FILE",
            default=None,
            help="the results store (default: .promptlib/evals.sqlite)",
        )

    cmd = actions.add_parser("run", help="run an experiment file (evals/NAME.toml)")
    cmd.add_argument("config", metavar="FILE", help="the experiment, e.g. evals/triage.toml")
    cmd.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="PROVIDER:MODEL",
        help="run on this model instead of the file's models (repeatable)",
    )
    cmd.add_argument("--run-id", metavar="ID", help="the run's id (default: a new one)")
    cmd.add_argument(
        "--shard",
        metavar="I/N",
        help="run only the I-th of N parts of the cases (give every part the same --run-id; "
        "join their stores with eval merge)",
    )
    cmd.add_argument("--budget", type=float, metavar="DOLLARS", help="spend at most this")
    cmd.add_argument(
        "--batch",
        action="store_true",
        help="send through the provider's batch API: half the price, results within 24 h "
        "(waits for them; interrupt and eval resume to collect later)",
    )
    cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmd.add_argument("--json", action="store_true", help=json_help)
    store(cmd)

    cmd = actions.add_parser("resume", help="finish an interrupted run: send only what is missing")
    cmd.add_argument("run_id", metavar="RUN")
    cmd.add_argument(
        "--budget",
        type=float,
        metavar="DOLLARS",
        help="the whole run's budget, earlier sessions' spend included (default: the run's)",
    )
    cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmd.add_argument("--json", action="store_true", help=json_help)
    store(cmd)

    cmd = actions.add_parser("list", help="the runs in the store")
    cmd.add_argument("--json", action="store_true", help=json_help)
    store(cmd)

    cmd = actions.add_parser("show", help="a run: per-variant scores, cost, tokens, latency")
    cmd.add_argument("run_id", metavar="RUN")
    cmd.add_argument("--cases", action="store_true", help="also list every case's result")
    cmd.add_argument("--json", action="store_true", help=json_help)
    store(cmd)

    help = "compare variants against a baseline: intervals, paired tests, verdicts"
    cmd = actions.add_parser("compare", help=help, description=help)
    cmd.add_argument("runs", metavar="RUN", nargs="+", help="one run, or two on the same dataset")
    cmd.add_argument(
        "--baseline",
        metavar="VARIANT",
        help="what the others are compared with: a variant or a run id (default: the first)",
    )
    cmd.add_argument("--scorer", metavar="NAME", help="the score to compare (default: the first)")
    cmd.add_argument(
        "--format", choices=["text", "md", "html", "json"], default="text", help="default: text"
    )
    cmd.add_argument("--output", "-o", metavar="FILE", help="write the report here")
    cmd.add_argument(
        "--fail-if-worse",
        action="store_true",
        help="exit 1 when a variant is significantly worse than the baseline (for CI)",
    )
    cmd.add_argument(
        "--level", type=float, default=0.95, metavar="L", help="confidence level (default 0.95)"
    )
    cmd.add_argument(
        "--detect",
        type=float,
        default=0.05,
        metavar="D",
        help="the difference (0.05 = 5 points) to report the cases needed for",
    )
    store(cmd)

    help = "cases needed to detect a difference in pass rate (or the power of N cases)"
    cmd = actions.add_parser("power", help=help, description=help)
    cmd.add_argument(
        "--baseline", type=float, required=True, metavar="RATE", help="the baseline pass rate"
    )
    cmd.add_argument(
        "--difference",
        type=float,
        default=0.05,
        metavar="D",
        help="the difference to detect, as a fraction (default 0.05: 5 points)",
    )
    cmd.add_argument(
        "--discordance",
        type=float,
        metavar="P",
        help="the share of cases where exactly one variant passes (default: as if "
        "independent, which errs towards more cases)",
    )
    cmd.add_argument("--cases", type=int, metavar="N", help="give the power of N cases instead")
    cmd.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    cmd.add_argument("--power", type=float, default=0.8, help="power wanted (0.8)")
    cmd.add_argument("--json", action="store_true", help=json_help)

    help = "join stores of a sharded run (or any runs) into one store"
    cmd = actions.add_parser("merge", help=help, description=help)
    cmd.add_argument("sources", metavar="STORE", nargs="+", help="stores to merge from")
    cmd.add_argument("--run", metavar="RUN", help="only this run (default: every run in them)")
    cmd.add_argument("--json", action="store_true", help=json_help)
    store(cmd)

    cmd = actions.add_parser("export", help="write a run's results as JSON lines")
    cmd.add_argument("run_id", metavar="RUN")
    cmd.add_argument("--output", "-o", metavar="FILE", help="default: RUN.jsonl; - for stdout")
    store(cmd)


def _store(args: argparse.Namespace) -> Any:
    """The store a reading command reads: it must exist already."""
    from promptlib.evals._store import DEFAULT_STORE, Store

    return Store(args.store or DEFAULT_STORE, create=False)


def _registry(args: argparse.Namespace) -> Any:

    return registry(args.templates)


def cmd_eval(args: argparse.Namespace) -> int:
    action = args.eval_command
    if action == "run":
        return _run(args)
    if action == "resume":
        return _resume(args)
    if action == "power":
        return _power(args)
    if action == "merge":
        return _merge(args)
    if action == "compare":
        return _compare(args)
    with _store(args) as store:
        if action == "list":
            return _list(store, args)
        if action == "show":
            return _show(store, args)
        return _export(store, args)


def _finish(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        sys.stdout.write(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "status": result.status,
                    "total": result.total,
                    "done": result.done,
                    "sent": result.sent,
                    "errors": result.errors,
                    "spent": f"{result.spent:f}",
                    "store": str(result.store),
                },
                indent=2,
            )
            + "\n"
        )
    else:
        sys.stdout.write(
            f"run {result.run_id}: {result.status}, {result.done}/{result.total} results "
            f"(this session: {result.sent} sent, {result.errors} errors, ${result.spent:.4f})\n"
            f"see it: promptlib eval show {result.run_id}{_store_option(args)}\n"
        )
    if result.status == "over budget":
        return EXIT_STOPPED
    if result.status == "incomplete":
        sys.stderr.write(
            "some cases failed at the provider after every retry (an outage, a rate limit); "
            f"send them again with: promptlib eval resume {result.run_id}{_store_option(args)}\n"
        )
        return EXIT_PROVIDER
    return 0


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    from promptlib.evals._config import load_experiment
    from promptlib.evals._runner import estimate, run

    experiment = load_experiment(args.config, registry=_registry(args), models=args.model)
    if args.budget is not None:
        experiment = dataclasses.replace(experiment, budget=args.budget)
    if args.shard is not None:
        experiment = dataclasses.replace(experiment, shard=_shard(args.shard))
    if args.batch:
        experiment = dataclasses.replace(experiment, batch=True)
    expected = estimate(experiment)
    budget = f", budget ${plain_amount(experiment.budget)}" if experiment.budget is not None else ""
    sys.stderr.write(f"{experiment.name}: {expected}{budget}\n")
    try:
        result = run(
            experiment,
            store=args.store,
            run_id=args.run_id,
            progress=False if args.no_progress else None,
        )
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: finished results are kept; promptlib eval resume RUN\n")
        return EXIT_INTERRUPTED
    return _finish(result, args)


def _resume(args: argparse.Namespace) -> int:
    from promptlib.evals._config import load_experiment
    from promptlib.evals._runner import resume

    with _store(args) as store:
        info = store.run(args.run_id)
    config = info.manifest.get("config")
    if not config or not Path(config).is_file():
        raise ConfigurationError(
            f"run {info.run_id} was not started from an experiment file that still exists "
            f"({config or 'none recorded'}); resume it from Python with "
            "promptlib.evals.resume(experiment, run_id)"
        )
    models = [m for m in info.manifest.get("models", []) if m] or None
    experiment = load_experiment(config, registry=_registry(args), models=models)
    if info.manifest.get("shard"):
        import dataclasses

        experiment = dataclasses.replace(experiment, shard=_shard(info.manifest["shard"]))
    if info.manifest.get("batch"):
        import dataclasses

        experiment = dataclasses.replace(experiment, batch=True)
    budget = args.budget if args.budget is not None else info.manifest.get("budget")
    if experiment.budget != budget:
        import dataclasses

        experiment = dataclasses.replace(experiment, budget=budget)
    try:
        result = resume(
            experiment,
            info.run_id,
            store=args.store,
            progress=False if args.no_progress else None,
        )
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: finished results are kept; promptlib eval resume RUN\n")
        return EXIT_INTERRUPTED
    return _finish(result, args)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _list(store: Any, args: argparse.Namespace) -> int:
    runs = store.runs()
    if args.json:
        rows = [
            {
                "run_id": r.run_id,
                "name": r.name,
                "status": r.status,
                "results": r.results,
                "created": r.created,
            }
            for r in runs
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not runs:
        sys.stdout.write(f"no runs in {store.path} yet: promptlib eval run evals/NAME.toml\n")
        return 0
    width = max(len(r.run_id) for r in runs)
    for r in runs:
        sys.stdout.write(
            f"{r.run_id:<{width}}  {_when(r.created)}  {r.status:<11}  {r.results:>6} results\n"
        )
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    from promptlib.evals._summary import summarize

    info = store.run(args.run_id)
    rows = list(store.results(info.run_id))
    summaries = summarize(rows)
    if args.json:
        data: dict[str, Any] = {
            "run_id": info.run_id,
            "name": info.name,
            "status": info.status,
            "manifest": dict(info.manifest),
            "variants": [s.to_dict() for s in summaries],
        }
        if args.cases:
            data["results"] = [row.to_dict() for row in rows]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    dataset = info.manifest.get("dataset", {})
    out = sys.stdout
    out.write(
        f"run {info.run_id} ({info.name}): {info.status}, {len(rows)} results\n"
        f"dataset {dataset.get('name')} ({dataset.get('cases')} cases, "
        f"{str(dataset.get('hash', ''))[:19]}), promptlib {info.manifest.get('promptlib')}"
        f", commit {str(info.manifest.get('git_commit') or '-')[:12]}\n\n"
    )
    names = sorted({name for s in summaries for name in s.scores})
    header = ["variant", "model", *names, "errors", "tokens in/out", "cost", "p50", "p95"]
    table = [header]
    for s in summaries:
        table.append(
            [
                s.variant,
                s.model,
                *(_score(s.scores.get(n)) for n in names),
                f"{s.errors}/{s.results}",
                f"{s.input_tokens}/{s.output_tokens}",
                f"${s.cost:.4f}" + ("+?" if s.cost_unknown else ""),
                _seconds(s.latency_p50),
                _seconds(s.latency_p95),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")
    if args.cases:
        out.write("\n")
        for row in rows:
            scores = " ".join(
                f"{n}={_score(v.get('value'))}" for n, v in sorted(row.scores.items())
            )
            outcome = row.error or scores
            line = f"{row.variant}  {row.model}  {row.case_id}#{row.repeat}  {outcome}\n"
            out.write(terminal_safe(line) if out.isatty() else line)
    return 0


def _score(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}ms"


def _export(store: Any, args: argparse.Namespace) -> int:
    info = store.run(args.run_id)
    if args.output == "-":
        store.export_jsonl(info.run_id, sys.stdout)
        return 0
    target = Path(args.output or f"{info.run_id}.jsonl")
    if not store.is_store_file(target) and target.suffix.lower() not in (
        ".jsonl",
        ".ndjson",
        ".json",
        "",
    ):
        raise ConfigurationError(
            f"eval export writes JSON lines; name the file .jsonl, not {target.suffix}"
        )
    count = store.export_jsonl(info.run_id, target)
    sys.stdout.write(f"wrote {count} results of run {info.run_id} to {target}\n")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from promptlib.evals._comparison import compare
    from promptlib.evals.report import render

    if len(args.runs) > 2:
        raise ConfigurationError("eval compare takes one run, or two runs on the same dataset")
    report = compare(
        *args.runs,
        store=args.store,
        baseline=args.baseline,
        scorer=args.scorer,
        level=args.level,
        detect=args.detect,
    )
    target = args.output
    if target is None and args.format == "html" and sys.stdout.isatty():
        target = f"compare-{report.runs[0]}.html"  # HTML is no use on a terminal
    if target is not None and target != "-":
        _write_report(Path(target), render(report, args.format), args)
        sys.stderr.write(f"wrote the {args.format} report to {target}\n")
        for c in report.comparisons:
            sys.stderr.write(f"  {c.verdict}\n")
    elif args.format == "text":
        from promptlib.evals.report._text import print_text

        print_text(report, sys.stdout)
    else:
        sys.stdout.write(render(report, args.format))
    if args.fail_if_worse and (report.worse or report.not_compared):
        for c in report.worse:
            sys.stderr.write(f"worse than the baseline: {c.verdict}\n")
        for label in report.not_compared:
            sys.stderr.write(f"not compared with the baseline (no shared scored cases): {label}\n")
        return EXIT_WORSE
    return 0


def _write_report(target: Path, text: str, args: argparse.Namespace) -> None:
    """Write a report, never over a results store (or any SQLite file)."""
    from promptlib.evals._store import DEFAULT_STORE

    store = Path(args.store or DEFAULT_STORE)
    try:
        with target.open("rb") as existing:
            is_database = existing.read(16) == b"SQLite format 3\x00"
    except OSError:
        is_database = False
    if is_database or (store.exists() and target.resolve() == store.resolve()):
        raise ConfigurationError(
            f"{target} is a results store: a report never writes over one; give another -o"
        )
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the report to {target}: {exc.strerror or exc}; give another -o"
        ) from None


def _shard(text: str) -> tuple[int, int]:
    index, _, parts = text.partition("/")
    if not (index.isdigit() and parts.isdigit() and 1 <= int(index) <= int(parts)):
        raise ConfigurationError(
            f"--shard is I/N with 1 <= I <= N, e.g. --shard 2/3 for the second of three parts; "
            f"got {text!r}"
        )
    return int(index), int(parts)


def _merge(args: argparse.Namespace) -> int:
    from promptlib.evals._merge import merge_run
    from promptlib.evals._store import DEFAULT_STORE, Store

    target_path = Path(args.store or DEFAULT_STORE)
    merged = []
    with Store(target_path) as target:
        for source_path in args.sources:
            if Path(source_path).resolve() == target_path.resolve():
                raise ConfigurationError(f"{source_path} is the store merged into; name others")
            with Store(source_path, create=False) as source:
                run_ids = [args.run] if args.run else [r.run_id for r in source.runs()]
                for run_id in run_ids:
                    merged.append(merge_run(target, source, run_id))
    if args.json:
        sys.stdout.write(json.dumps([m.__dict__ for m in merged], indent=2) + "\n")
        return 0
    for m in merged:
        sys.stdout.write(
            f"run {m.run_id}: {m.added} results added, {m.kept} already there; "
            f"{m.done}/{m.total} done ({m.status})\n"
        )
    return 0


def _store_option(args: argparse.Namespace) -> str:
    import shlex

    return f" --store {shlex.quote(args.store)}" if getattr(args, "store", None) else ""


def _power(args: argparse.Namespace) -> int:
    from promptlib.evals.power import cases_needed, power_paired

    p_a, delta = args.baseline, args.difference
    if args.cases is not None and args.cases < 1:
        raise ConfigurationError(f"--cases must be a positive number of cases, got {args.cases}")
    if not 0.0 <= p_a <= 1.0 or not 0.0 <= p_a + delta <= 1.0 or delta == 0:
        raise ConfigurationError(
            f"--baseline {p_a} and --difference {delta} must give two pass rates within 0 and 1 "
            "that differ, e.g. --baseline 0.80 --difference 0.05"
        )
    try:
        if args.cases is not None:
            value = power_paired(
                p_a, p_a + delta, args.cases, discordance=args.discordance, alpha=args.alpha
            )
        else:
            value = cases_needed(
                p_a, delta, discordance=args.discordance, alpha=args.alpha, power=args.power
            )
    except ValueError as exc:
        raise ConfigurationError(f"eval power: {exc}") from None
    test = "two-sided exact McNemar test, as eval compare runs on pass/fail scores"
    assumed = (
        f"discordance {args.discordance:g}"
        if args.discordance is not None
        else "outcomes as if independent (real variants agree more, so fewer cases may do)"
    )
    if args.json:
        data = {
            "baseline": p_a,
            "difference": delta,
            "discordance": args.discordance,
            "alpha": args.alpha,
            "test": "McNemar exact, two-sided",
        }
        if args.cases is not None:
            data |= {"cases": args.cases, "power": value}
        else:
            data |= {"power": args.power, "cases_needed": value}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    change = f"{100 * p_a:g}% -> {100 * (p_a + delta):g}%"
    if args.cases is not None:
        sys.stdout.write(
            f"power {100 * value:.1f}% to detect {change} with {args.cases} paired cases\n"
        )
    else:
        sys.stdout.write(f"{value} paired cases detect {change} with {100 * args.power:g}% power\n")
    sys.stdout.write(f"{test}; alpha {args.alpha:g}; {assumed}\n")
    return 0
