"""``promptlib finetune export|check|start|follow|roi`` and ``promptlib decide``."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from promptlib._cli.config import registry
from promptlib._errors import ConfigurationError

__all__ = ["add_finetune_commands", "cmd_decide", "cmd_finetune"]

EXIT_FAILED = 1  # check found errors
_FORMATS = ("openai", "bedrock")
EXIT_JOB_FAILED = 3  # the provider's job ended without a model


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of dollars") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 or more dollars")
    return value


def _training_options(cmd: argparse.ArgumentParser) -> None:
    group = cmd.add_argument_group("the one-off cost")
    group.add_argument("--train-file", metavar="FILE", help="the training file (checked)")
    group.add_argument(
        "--base-model", metavar="MODEL", help="the base model fine-tuned, e.g. gpt-4o-mini"
    )
    group.add_argument("--training-tokens", type=int, metavar="N", help="tokens per epoch")
    group.add_argument("--epochs", type=int, metavar="N", help="training epochs")
    group.add_argument(
        "--training-price", type=_money, metavar="DOLLARS", help="per million training tokens"
    )
    _table_options(group)
    group.add_argument(
        "--labelling-cost", type=_money, default=Decimal(0), metavar="DOLLARS", help="once"
    )
    group.add_argument("--engineering-hours", type=_money, default=Decimal(0), metavar="H")
    group.add_argument("--hourly-rate", type=_money, default=Decimal(0), metavar="DOLLARS")
    cmd.add_argument(
        "--requests-per-month", type=int, required=True, metavar="N", help="expected volume"
    )
    cmd.add_argument("--store", metavar="FILE", help="the results store of the runs")


def add_finetune_commands(sub: Any, json_help: str) -> None:
    """The ``finetune`` command and its subcommands, and ``decide``."""
    help = "prompt or fine-tune: export, check, start and follow fine-tunes; ROI"
    parser = sub.add_parser("finetune", help=help, description=help)
    actions = parser.add_subparsers(dest="finetune_command", required=True, metavar="ACTION")

    cmd = actions.add_parser("export", help="training files from a dataset and a template")
    cmd.add_argument("dataset", metavar="DATASET", help="a labelled dataset (JSONL, CSV)")
    cmd.add_argument("--template", required=True, metavar="NAME[@REF]")
    cmd.add_argument("--out", required=True, metavar="DIR", help="where the files go")
    cmd.add_argument("--format", choices=("openai", "bedrock"), default="openai")
    cmd.add_argument(
        "--split",
        default="train=0.8,validation=0.1,test=0.1",
        metavar="NAME=SHARE,...",
        help="the splits and their shares (default: train=0.8,validation=0.1,test=0.1)",
    )
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--stratify", metavar="FIELD", help="expected, input:FIELD or metadata:KEY")
    cmd.add_argument("--few-shot", action="store_true", help="keep the template's examples")
    cmd.add_argument("--weight", type=int, choices=(0, 1), help="OpenAI: the answer's weight")
    cmd.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="what a CSV column holds: id, expected, input:NAME or metadata:KEY, e.g. "
        "text=input:query category=expected (repeatable)",
    )
    cmd.add_argument(
        "--expected-field",
        metavar="NAME",
        help="the output model's field a text expected value fills (e.g. intent)",
    )
    cmd.add_argument("--force", action="store_true", help="replace files already in --out")
    cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = actions.add_parser("check", help="check a training file before uploading it")
    cmd.add_argument("file", metavar="FILE")
    cmd.add_argument("--model", required=True, metavar="MODEL", help="the base model")
    cmd.add_argument("--format", choices=("openai", "bedrock"), help="default: recognised")
    cmd.add_argument("--epochs", type=int, metavar="N", help="default: the provider's")
    cmd.add_argument("--training-price", type=_money, metavar="DOLLARS")
    _table_options(cmd)
    cmd.add_argument("--label", metavar="FIELD", help="class balance of this answer field")
    cmd.add_argument(
        "--against", action="append", default=[], metavar="FILE", help="a test file to keep out"
    )
    cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = actions.add_parser("start", help="upload the files and start a fine-tune (OpenAI)")
    cmd.add_argument("file", metavar="FILE", help="the training file")
    cmd.add_argument("--model", required=True, metavar="MODEL", help="the base model")
    cmd.add_argument("--validation", metavar="FILE")
    cmd.add_argument("--suffix", metavar="TEXT")
    cmd.add_argument("--epochs", type=int, metavar="N")
    cmd.add_argument("--training-file-id", metavar="ID", help="a file uploaded before")
    cmd.add_argument("--validation-file-id", metavar="ID")
    cmd.add_argument("--no-check", action="store_true", help="start without checking the file")
    _table_options(cmd)
    _job_options(cmd)
    cmd.add_argument("--follow", action="store_true", help="follow it until it ends")
    cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = actions.add_parser("follow", help="follow a fine-tune until it ends")
    cmd.add_argument("job", metavar="JOB")
    _job_options(cmd)
    cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = actions.add_parser("roi", help="cost per request and month both ways; break-even")
    cmd.add_argument("--prompt", metavar="RUN:VARIANT", help="the prompt, measured in a run")
    cmd.add_argument("--finetuned", metavar="RUN:VARIANT", help="the fine-tune, measured")
    cmd.add_argument("--prompt-template", metavar="NAME[@REF]", help="or counted from this")
    cmd.add_argument("--prompt-model", metavar="MODEL")
    cmd.add_argument("--finetuned-template", metavar="NAME[@REF]")
    cmd.add_argument("--finetuned-model", metavar="MODEL", help="e.g. ft:gpt-4o-mini-...")
    cmd.add_argument("--dataset", metavar="FILE", help="the cases counted templates render")
    cmd.add_argument("--output-tokens", type=float, metavar="N", help="the counted reply length")
    _training_options(cmd)
    cmd.add_argument("--json", action="store_true", help=json_help)

    help = "the best prompt against the fine-tuned model on held-out cases: a recommendation"
    cmd = sub.add_parser("decide", help=help, description=help)
    cmd.add_argument("--prompt", required=True, metavar="RUN:VARIANT")
    cmd.add_argument("--finetuned", required=True, metavar="RUN:VARIANT")
    cmd.add_argument("--scorer", metavar="NAME")
    cmd.add_argument("--detect", type=float, default=0.05, metavar="D")
    cmd.add_argument("--format", choices=("text", "md", "html", "json"), default="text")
    cmd.add_argument("-o", "--output", metavar="FILE")
    cmd.add_argument(
        "--manifest", metavar="FILE", help="the export's manifest.json: cases must be held out"
    )
    cmd.add_argument(
        "--payback-months", type=float, default=12.0, metavar="N",
        help="the longest break-even recommended on cost (default 12)",
    )  # fmt: skip
    _training_options(cmd)


def _table_options(cmd: Any) -> None:
    cmd.add_argument("--example-limit", type=int, metavar="TOKENS", help="tokens per example")
    cmd.add_argument("--training-table", metavar="FILE", help="your own training figures")


def _job_options(cmd: argparse.ArgumentParser) -> None:
    from promptlib._cli.batch_command import _seconds

    cmd.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible endpoint")
    cmd.add_argument("--poll", type=_seconds, default=30.0, metavar="SECONDS")
    cmd.add_argument("--timeout", type=_seconds, metavar="SECONDS")
    cmd.add_argument("--register", metavar="CATALOG", help="add the new model to this catalog file")


def _catalog(args: argparse.Namespace) -> Any:
    """promptlib's catalog with the project's (``--catalog``, ``[tool.promptlib] models``)."""
    from promptlib._cli.config import catalog_file
    from promptlib._tokens import Catalog

    extra = catalog_file(args.catalog)
    return Catalog.default().extend(extra) if extra else Catalog.default()


def _writable(option: str | None, flag: str) -> Path | None:
    """A file to write at the end, checked now: a typo must not lose the work."""
    if option is None:
        return None
    path = Path(option)
    if path.is_dir():
        raise ConfigurationError(f"{flag} {option} is a folder: name a file")
    if not path.parent.is_dir():
        raise ConfigurationError(f"{flag} {option}: the folder {path.parent} does not exist")
    return path


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def cmd_finetune(args: argparse.Namespace) -> int:
    action = args.finetune_command
    if action == "export":
        return _export(args)
    if action == "check":
        return _check(args)
    if action in ("start", "follow"):
        return _job(args)
    return _roi(args)


def _splits(text: str) -> dict[str, float]:
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, equals, share = part.partition("=")
        try:
            shares[name.strip()] = float(share)
        except ValueError:
            equals = ""
        if not equals or not name.strip():
            raise ConfigurationError(
                f"--split {text!r}: give NAME=SHARE pairs, e.g. train=0.8,validation=0.1,test=0.1"
            )
    return shares


def _export(args: argparse.Namespace) -> int:
    from promptlib.evals import load_dataset
    from promptlib.finetune import export_training_data

    template = registry(args.templates).get(args.template)
    columns = {}
    for pair in args.column:
        column, equals, field = pair.partition("=")
        if not equals or not column or not field:
            raise ConfigurationError(f"--column {pair!r}: give COLUMN=FIELD, e.g. text=input:query")
        columns[column] = field
    result = export_training_data(
        load_dataset(args.dataset, columns=columns or None),
        template,
        args.out,
        format=args.format,
        splits=_splits(args.split),
        seed=args.seed,
        stratify=args.stratify,
        few_shot=args.few_shot,
        weight=args.weight,
        overwrite=args.force,
        expected_field=args.expected_field,
    )
    if args.json:
        _print(
            {
                "files": {k: str(v) for k, v in result.files.items()},
                "counts": result.counts,
                "labels": result.labels,
                "manifest": str(result.manifest),
            }
        )
        return 0
    for name, path in result.files.items():
        sys.stdout.write(f"{name}: {result.counts[name]:,} examples -> {path}\n")
    sys.stdout.write(f"manifest: {result.manifest}\n")
    return 0


def _check_report(args: argparse.Namespace, file: str, model: str) -> Any:
    from promptlib.finetune import TrainingTable, check_file

    table = TrainingTable.default()
    if getattr(args, "training_table", None):
        table = table.extend(args.training_table)
    return check_file(
        file,
        model,
        format=getattr(args, "format", None) if getattr(args, "format", None) in _FORMATS else None,
        epochs=args.epochs,
        example_limit=getattr(args, "example_limit", None),
        training_price=getattr(args, "training_price", None),
        label=getattr(args, "label", None),
        against=getattr(args, "against", None),
        table=table,
    )


def _check(args: argparse.Namespace) -> int:
    report = _check_report(args, args.file, args.model)
    if args.json:
        _print(report.to_dict())
        return 0 if report.ok else EXIT_FAILED
    data = report.to_dict()
    out = [f"{report.path}: {report.examples:,} examples ({report.format} format)"]
    if report.errors:
        out.append("errors:")
        for category, found in data["errors"].items():
            lines = ", ".join(map(str, found["lines"]))
            out.append(f"  {category}: {found['count']} (lines {lines})")
    out += [f"error: {problem}" for problem in report.problems]
    out.append(
        f"no system message: {report.missing_system}; no user message: {report.missing_user}"
    )
    for name, key in (
        ("messages per example", "messages_per_example"),
        ("tokens per example", "tokens_per_example"),
        ("assistant tokens per example", "assistant_tokens_per_example"),
    ):
        d = data[key]
        out.append(
            f"{name}: min {d['min']:g}, max {d['max']:g}, mean {d['mean']:g}, median "
            f"{d['median']:g}, p10 {d['p10']:g}, p90 {d['p90']:g}"
        )
    out.append(
        f"{len(report.over_limit)} example(s) over the {report.example_limit:,}-token limit of "
        f"{report.model} will be truncated"
        + (f" (lines {', '.join(map(str, report.over_limit[:10]))})" if report.over_limit else "")
    )
    cost = "unknown (no training price)" if report.cost is None else f"${report.cost:.4f}"
    out.append(
        f"~{report.billable_tokens:,} billable tokens x {report.epochs} epochs = "
        f"~{report.charged_tokens:,} charged tokens; estimated training cost {cost}"
    )
    out.append(f"counts: {data['counts']}; figures: {report.source}")
    if report.labels:
        out.append("labels: " + ", ".join(f"{k} {v}" for k, v in report.labels.items()))
    out += [f"warning: {w}" for w in report.warnings]
    out.append("ok" if report.ok else "not ready: fix the errors above")
    sys.stdout.write("\n".join(out) + "\n")
    return 0 if report.ok else EXIT_FAILED


def _provider(args: argparse.Namespace) -> Any:
    from promptlib._providers.openai import OpenAIProvider

    return OpenAIProvider(base_url=args.base_url) if args.base_url else OpenAIProvider()


def _job(args: argparse.Namespace) -> int:
    from promptlib import finetune
    from promptlib.finetune._jobs import failed_job_message

    provider = _provider(args)
    register = _writable(args.register, "--register")
    if args.finetune_command == "start" and register is not None and not args.follow:
        raise ConfigurationError("--register needs --follow: the model exists once the job ends")
    if args.finetune_command == "start":
        if not args.no_check and not args.training_file_id:
            report = _check_report(args, args.file, args.model)
            if not report.ok:
                sys.stderr.write(
                    f"{args.file} does not pass the check: run promptlib finetune check "
                    f"{args.file} --model {args.model} (or --no-check)\n"
                )
                return EXIT_FAILED
        job = finetune.start(
            provider,
            args.file,
            args.model,
            validation_file=args.validation,
            suffix=args.suffix,
            epochs=args.epochs,
            training_file_id=args.training_file_id,
            validation_file_id=args.validation_file_id,
        )
        sys.stderr.write(f"started fine-tune {job.id} ({job.status})\n")
        if not args.follow:
            if args.json:
                _print(job.to_dict())
            else:
                sys.stdout.write(f"follow it: promptlib finetune follow {job.id}\n")
            return 0
        job_id = job.id
    else:
        job_id = args.job
    job = finetune.follow(
        provider, job_id, poll_interval=args.poll, timeout=args.timeout, progress=True
    )
    registered = None
    if job.status == "succeeded" and register is not None:
        registered = finetune.register_model(job, register, catalog=_catalog(args))
    if args.json:
        _print({**job.to_dict(), "registered": registered})
    elif job.status == "succeeded":
        sys.stdout.write(
            f"fine-tune {job.id} succeeded: {job.fine_tuned_model} "
            f"({job.trained_tokens or 'unknown'} trained tokens)"
            + (f"; registered in {args.register}" if registered else "")
            + "\n"
        )
    if job.status != "succeeded":
        sys.stderr.write(f"promptlib: error: {failed_job_message(job)}\n")
        return EXIT_JOB_FAILED
    return 0


def _pair(text: str, option: str) -> tuple[str, str, str | None]:
    """RUN:VARIANT or RUN:VARIANT:MODEL (the model may hold colons: mock:gpt-4o-mini)."""
    run, colon, rest = text.partition(":")
    variant, _, model = rest.partition(":")
    if not colon or not run or not variant:
        raise ConfigurationError(
            f"{option} {text!r}: give RUN:VARIANT (or RUN:VARIANT:MODEL), e.g. nightly:triage@1.2.0"
        )
    return run, variant, model or None


def _training(args: argparse.Namespace) -> Any:
    from promptlib.finetune import TrainingCost, TrainingTable

    engineering = args.engineering_hours * args.hourly_rate
    price = args.training_price
    if args.train_file:
        if not args.base_model:
            raise ConfigurationError("--train-file needs --base-model (the model it trains)")
        report = _check_report(args, args.train_file, args.base_model)
        if not report.ok:
            raise ConfigurationError(
                f"--train-file {args.train_file} does not pass the check: run promptlib "
                f"finetune check {args.train_file} --model {args.base_model}"
            )
        return TrainingCost(
            report.billable_tokens, report.epochs, report.training_price, args.labelling_cost,
            engineering,
        )  # fmt: skip
    if args.training_tokens is None or args.epochs is None:
        raise ConfigurationError(
            "the one-off cost needs the training data: --train-file FILE --base-model MODEL, "
            "or --training-tokens N --epochs N"
        )
    if price is None and args.base_model:
        table = TrainingTable.default()
        if args.training_table:
            table = table.extend(args.training_table)
        price = table.get(args.base_model).training
    return TrainingCost(args.training_tokens, args.epochs, price, args.labelling_cost, engineering)


def _serving(args: argparse.Namespace, side: str) -> Any:
    from promptlib.finetune import serving_from_run

    measured = getattr(args, side)
    if measured:
        run, variant, model = _pair(measured, f"--{side}")
        return serving_from_run(run, variant, store=args.store, model=model, catalog=_catalog(args))
    template, model = getattr(args, f"{side}_template"), getattr(args, f"{side}_model")
    if not (template and model and args.dataset and args.output_tokens is not None):
        raise ConfigurationError(
            f"the {side} side: give --{side} RUN:VARIANT (measured), or --{side}-template, "
            f"--{side}-model, --dataset and --output-tokens (counted)"
        )
    from promptlib._tokens.counting import count_tokens
    from promptlib.evals import load_dataset
    from promptlib.finetune import serving_from_tokens

    chosen = registry(args.templates).get(template)
    counts = [
        count_tokens(chosen.render(**c.inputs), model).total for c in load_dataset(args.dataset)
    ]
    label = f"{chosen.label} on {model}"
    return serving_from_tokens(label, model, counts, args.output_tokens)


def _roi(args: argparse.Namespace) -> int:
    from promptlib.finetune import roi
    from promptlib.finetune._decide import _sensitivity_text

    result = roi(
        _serving(args, "prompt"),
        _serving(args, "finetuned"),
        _training(args),
        requests_per_month=args.requests_per_month,
    )
    if args.json:
        _print(result.to_dict())
        return 0
    data = result.to_dict()
    out = []
    for side in ("prompt", "finetuned"):
        d = data[side]
        out.append(
            f"{side}: {d['label']}: {d['input_tokens']:g} in / {d['output_tokens']:g} out per "
            f"request, {_dollars(d['cost_per_request'])} ({d['source']})"
        )
    t = data["training"]
    out.append(
        f"one-off: {t['tokens_per_epoch']:,} tokens x {t['epochs']} epochs at "
        f"{_dollars(t['price_per_million'])}/M = {_dollars(t['training_cost'])}, plus "
        f"{_dollars(t['labelling'])} labelling and {_dollars(t['engineering'])} engineering "
        f"= {_dollars(t['one_off_total'])}"
    )
    months = data["break_even_months"]
    out.append(
        f"at {result.requests_per_month:,} requests a month: "
        f"{_dollars(data['monthly_prompt'])} with the prompt, "
        f"{_dollars(data['monthly_finetuned'])} fine-tuned; break-even "
        + (f"in {months} months" if months is not None else "never, or not computable")
    )
    if result.missing:
        out.append(f"not computable: {', '.join(result.missing)} unknown")
    out += ["", _sensitivity_text(result)]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _dollars(value: str | None) -> str:
    return "unknown" if value is None else f"${value}"


def cmd_decide(args: argparse.Namespace) -> int:
    from promptlib.finetune import decide
    from promptlib.finetune._decide import render_html, render_markdown, render_text

    output = _writable(args.output, "-o")
    prompt_run, prompt_variant, prompt_model = _pair(args.prompt, "--prompt")
    ft_run, ft_variant, ft_model = _pair(args.finetuned, "--finetuned")
    decision = decide(
        prompt_run,
        prompt_variant,
        ft_run,
        ft_variant,
        _training(args),
        requests_per_month=args.requests_per_month,
        store=args.store,
        scorer=args.scorer,
        detect=args.detect,
        prompt_model=prompt_model,
        finetuned_model=ft_model,
        catalog=_catalog(args),
        manifest=args.manifest,
        payback_months=args.payback_months,
    )
    if args.format == "json":
        text = json.dumps(decision.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        render = {"text": render_text, "md": render_markdown, "html": render_html}[args.format]
        text = render(decision)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        sys.stderr.write(f"written to {output}\n")
    else:
        sys.stdout.write(text)
    return 0
