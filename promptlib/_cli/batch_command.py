"""``promptlib batch``: submit, follow, collect and cancel batch jobs."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from promptlib._cli.config import catalog_file, registry
from promptlib._errors import ConfigurationError, PromptlibError

__all__ = ["add_batch_commands", "cmd_batch"]

EXIT_FAILED_LINES = 3  # some prompts got no usable reply (a provider failure)
_FOLDER = Path(".promptlib/batches")


def add_batch_commands(sub: Any, json_help: str) -> None:
    """The ``batch`` command and its subcommands."""
    help = "send many prompts through a provider's batch API: half the price, within 24 h"
    parser = sub.add_parser("batch", help=help, description=help)
    actions = parser.add_subparsers(dest="batch_command", required=True, metavar="ACTION")

    cmd = actions.add_parser(
        "submit",
        help="render a template for each line of a JSONL file and submit them as one job",
    )
    cmd.add_argument(
        "ref",
        nargs="?",
        metavar="NAME[@REF]",
        help='the template (default: each line\'s "template")',
    )
    cmd.add_argument(
        "--inputs",
        required=True,
        metavar="FILE",
        help='JSONL: one prompt per line, {"id": ..., "template": ..., "inputs": {...}} or '
        "the inputs themselves (with an optional id)",
    )
    cmd.add_argument(
        "--model", required=True, metavar="PROVIDER:MODEL", help="e.g. openai:gpt-4o-mini"
    )
    cmd.add_argument(
        "--handle",
        metavar="FILE",
        help=f"where to keep the job's handle (default: {_FOLDER}/INPUTS-TIME.json)",
    )
    cmd.add_argument(
        "--max-resubmits",
        type=_resubmits,
        default=2,
        metavar="N",
        help="submit lines that expired or hit a retryable error again, at most N times (0-20)",
    )
    cmd.add_argument(
        "--wait",
        action="store_true",
        help="wait for the results and collect them (a mock: provider's batches live only "
        "in this process)",
    )
    _collect_options(cmd)
    cmd.add_argument("--json", action="store_true", help=json_help)

    for name, text in (
        ("status", "where the job stands at the provider"),
        ("wait", "wait until the job has ended, submitting expired and failed lines again"),
        ("collect", "write one result per prompt (JSONL)"),
        ("cancel", "cancel the job's running batches"),
    ):
        cmd = actions.add_parser(name, help=text, description=text)
        cmd.add_argument("handle", metavar="HANDLE", help="the job's handle file")
        if name == "wait":
            _wait_options(cmd)
        if name == "collect":
            _collect_options(cmd)  # its output is JSON lines already
        else:
            cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = actions.add_parser("list", help="the jobs whose handles are kept in a folder")
    cmd.add_argument("folder", nargs="?", default=str(_FOLDER), metavar="FOLDER")
    cmd.add_argument("--json", action="store_true", help=json_help)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds, 0 or more")
    return value


def _resubmits(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 20:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 0 to 20")
    return int(text)


def _wait_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--poll", type=_seconds, default=30.0, metavar="SECONDS", help="between looks")
    cmd.add_argument(
        "--timeout", type=_seconds, default=None, metavar="SECONDS",
        help="give up after (exit 1; the job goes on)",
    )  # fmt: skip


def _collect_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "-o", "--output", metavar="FILE", help="write the results here (default: stdout)"
    )


def cmd_batch(args: argparse.Namespace) -> int:
    from promptlib import batch

    action = args.batch_command
    if action == "submit":
        return _submit(args)
    if action == "list":
        return _list(Path(args.folder), args.json)
    handle = batch.load(args.handle, provider=_provider_for(Path(args.handle), args))
    if action == "status":
        return _print_status(batch.status(handle), args.json)
    if action == "wait":
        state = batch.wait(handle, poll_interval=args.poll, timeout=args.timeout, progress=True)
        return _print_status(state, args.json)
    if action == "cancel":
        return _print_status(batch.cancel(handle), args.json)
    return _collect(handle, _output(args.output))


def _provider_for(path: Path, args: argparse.Namespace) -> Any:
    """The provider a saved job is followed with, knowing the project's catalog."""
    from promptlib._providers.registry import get_provider
    from promptlib._tokens import Catalog
    from promptlib.batch._handle import _read_state

    state = _read_state(path, f"batch handle {path}")
    extra = catalog_file(args.catalog)
    catalog = Catalog.default().extend(extra) if extra else Catalog.default()
    provider, _ = get_provider(f"{state['provider']}:{state['model']}", catalog=catalog)
    provider.catalog = catalog  # type: ignore[attr-defined]
    emulator = getattr(provider, "batch_emulator", None)  # a mock's batches are in memory
    running = [b.batch_id for b in state["batches"] if not (b.state == "ended" and b.reviewed)]
    if emulator is not None and running and not all(i in emulator.batches for i in running):
        raise ConfigurationError(
            f"batch job {state['job']} was made with the mock provider, whose batches live "
            "only in the command that made them (use batch submit --wait)"
        )
    return provider


def _output(option: str | None) -> Path | None:
    """Where results go, checked before any waiting: a typo must not lose them."""
    if option is None:
        return None
    path = Path(option)
    if path.is_dir():
        raise ConfigurationError(f"-o {option} is a folder: name a file")
    try:
        path.touch()
    except OSError as exc:
        raise ConfigurationError(
            f"-o {option}: cannot write there ({exc.strerror or exc})"
        ) from None
    return path


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"--inputs {path} cannot be read: {exc}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConfigurationError(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise ConfigurationError(f"{path}:{number}: each line must be a JSON object")
        rows.append((number, row))
    if not rows:
        raise ConfigurationError(f"{path} has no prompts (one JSON object per line)")
    return rows


def _submit(args: argparse.Namespace) -> int:
    from promptlib import batch
    from promptlib._providers.registry import get_provider
    from promptlib._tokens import Catalog
    from promptlib.batch._handle import CUSTOM_ID

    output = _output(args.output) if args.wait else None
    extra = catalog_file(args.catalog)
    catalog = Catalog.default().extend(extra) if extra else Catalog.default()
    templates = registry(args.templates)
    prompts: dict[str, Any] = {}
    anonymous: dict[str, int] = {}
    order: list[Any] = []
    path = Path(args.inputs)
    for number, row in _rows(path):
        where = f"{path}:{number}"
        ref = row.get("template", args.ref)
        if not isinstance(ref, str) or not ref:
            raise ConfigurationError(
                f"{where}: no template: give NAME[@REF] on the command line, or "
                '"template" in the line'
            )
        inputs = row.get("inputs")
        if inputs is None:
            inputs = {k: v for k, v in row.items() if k not in ("id", "template")}
        if not isinstance(inputs, dict):
            raise ConfigurationError(f'{where}: "inputs" must be an object')
        try:
            prompt = templates.render(ref, **inputs)
        except PromptlibError as exc:
            raise (
                type(exc)(f"{where}: {exc}")
                if isinstance(exc, ConfigurationError)
                else (ConfigurationError(f"{where}: {exc}"))
            ) from exc
        if "id" in row:
            key = row["id"]
            if (
                not isinstance(key, str | int)
                or isinstance(key, bool)
                or not CUSTOM_ID.fullmatch(str(key))
            ):
                raise ConfigurationError(
                    f"{where}: id {key!r} is not accepted by the providers: use 1-64 letters, "
                    "digits, '_' or '-'"
                )
            if str(key) in prompts:
                raise ConfigurationError(f"{where}: id {key!r} is used twice")
            prompts[str(key)] = prompt
        else:
            derived = "p" + prompt.hash.removeprefix("sha256:")[:24]
            if derived in anonymous:
                raise ConfigurationError(
                    f"{where}: the same prompt as line {anonymous[derived]}: give the lines ids "
                    "to send it twice"
                )
            anonymous[derived] = number
            order.append(prompt)
    if prompts and order:
        raise ConfigurationError(f"{path}: give every line an id, or none")
    if args.model.startswith("mock:") and not args.wait:
        raise ConfigurationError(
            "the mock provider's batches live only in this command: give --wait to collect "
            "them here"
        )
    provider, model = get_provider(args.model, catalog=catalog)
    provider.catalog = catalog  # type: ignore[attr-defined]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    saved = (
        Path(args.handle) if args.handle else _FOLDER / f"{path.stem}-{stamp}-{os.getpid()}.json"
    )
    # Saved before anything is created at the provider: a crash mid-submit loses nothing.
    handle = batch.submit(
        prompts or order, provider, model, path=saved, max_resubmits=args.max_resubmits
    )
    sys.stderr.write(f"batch job {handle.job}: handle {handle.path}\n")
    if not args.wait:
        if args.json:
            _print(
                {"job": handle.job, "handle": str(handle.path), "requests": len(handle.requests)}
            )
        else:
            sys.stdout.write(
                f"batch job {handle.job}: {len(handle.requests)} prompts in "
                f"{len(handle.batches)} batch(es) to {handle.provider}:{handle.model}\n"
                f"handle: {handle.path}\n"
                f"follow it: promptlib batch wait {handle.path}\n"
            )
        return 0
    batch.wait(handle, progress=True)
    return _collect(handle, output)


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _print_status(state: Any, as_json: bool) -> int:
    if as_json:
        _print(state.to_dict())
        return 0
    sys.stdout.write(
        f"batch job {state.job}: {state.finished:,}/{state.total:,} finished"
        + (f", {state.pending:,} waiting to be submitted" if state.pending else "")
        + (" (ended)" if state.ended else "")
        + "\n"
    )
    for entry in state.batches:
        counts = ", ".join(f"{k} {v}" for k, v in entry["counts"].items())
        sys.stdout.write(
            f"  {entry['batch_id'] or entry['tag']}: {entry['status']}, "
            f"{entry['requests']} requests{f' ({counts})' if counts else ''}\n"
        )
    return 0


def result_json(custom_id: str, result: Any) -> dict[str, Any]:
    """One line of ``batch collect`` (documented in docs/batch.md; keep it stable)."""
    from promptlib.batch import BatchFailure

    if isinstance(result, BatchFailure):
        return {
            "id": custom_id,
            "ok": False,
            "error": {
                "kind": result.kind,
                "type": type(result.error).__name__,
                "message": str(result.error),
                "retryable": result.retryable,
            },
            "attempts": result.attempts,
        }
    output = result.output
    usage = result.usage
    return {
        "id": custom_id,
        "ok": True,
        "output": output.model_dump(mode="json") if isinstance(output, BaseModel) else output,
        "text": result.text,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
        },
        "cost": result.cost.to_dict(),
        "finish_reason": result.finish_reason,
        "request_id": result.request_id,
        "attempts": result.attempts,
    }


def _collect(handle: Any, output: Path | None) -> int:
    from promptlib import batch

    results = batch.collect(handle)
    lines = [
        json.dumps(result_json(key, result), ensure_ascii=False) + "\n"
        for key, result in results.items()
    ]
    if output:
        try:  # whole or not at all: the file is replaced once written
            temporary = output.with_name(f".{output.name}.part")
            temporary.write_text("".join(lines), encoding="utf-8")
            os.replace(temporary, output)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write {output}: {exc.strerror or exc}; the results are still at the "
                f"provider: promptlib batch collect {handle.path} -o OTHER"
            ) from None
    else:
        sys.stdout.write("".join(lines))
    failed = sum(1 for r in results.values() if isinstance(r, batch.BatchFailure))
    sys.stderr.write(
        f"batch job {handle.job}: {len(results) - failed:,} answered, {failed:,} failed"
        + (f"; written to {output}" if output else "")
        + "\n"
    )
    return EXIT_FAILED_LINES if failed else 0


def _list(folder: Path, as_json: bool) -> int:
    from promptlib import batch

    jobs: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
        try:
            handle = batch.load(path)
        except ConfigurationError:
            continue  # not a handle, or not one this promptlib can read
        states = [b.status or b.state for b in handle.batches]
        jobs.append(
            {
                "job": handle.job,
                "handle": str(path),
                "provider": handle.provider,
                "model": handle.model,
                "created": handle.created,
                "requests": len(handle.requests),
                "batches": states,
            }
        )
    if as_json:
        _print(jobs)
        return 0
    if not jobs:
        sys.stdout.write(f"no batch jobs in {folder}\n")
    for job in jobs:
        sys.stdout.write(
            f"{job['job']}  {job['provider']}:{job['model']}  {job['requests']} prompts  "
            f"{', '.join(job['batches'])}  {job['created']}  {job['handle']}\n"
        )
    return 0
