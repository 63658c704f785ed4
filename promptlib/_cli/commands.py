"""The subcommands of ``promptlib``, one function each."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from promptlib._cli.config import registry
from promptlib._cli.variables import parse_variables
from promptlib._messages import Prompt, TextPart
from promptlib._repository import Registry, diff_versions
from promptlib._repository.lockfile import read_lock
from promptlib._terminal import terminal_safe

__all__ = ["COMMANDS", "CheckFailed", "prompt_json", "terminal_safe"]


class CheckFailed(Exception):
    """``check`` or ``lock`` found problems; ``report`` is what to print."""

    def __init__(self, report: str) -> None:
        self.report = report


def _registry(args: argparse.Namespace) -> Registry:
    return registry(args.templates)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def prompt_json(prompt: Prompt[Any]) -> dict[str, Any]:
    """The ``render --json`` document (documented in docs/cli.md; keep it stable)."""
    messages = []
    for message in prompt.messages:
        if all(isinstance(part, TextPart) for part in message.content):
            content: Any = message.text
        else:
            content = [part.to_dict() for part in message.content]
        entry = {"role": message.role, "content": content}
        if message.name is not None:
            entry["name"] = message.name
        messages.append(entry)
    return {
        "name": prompt.meta.template,
        "version": prompt.meta.version,
        "hash": prompt.hash,
        "template_hash": prompt.meta.template_hash,
        "source": prompt.meta.source,
        "model": prompt.model,
        "params": dict(prompt.params),
        "messages": messages,
        "output": prompt.output.to_dict() if prompt.output else None,
        **({"tools": [t.to_dict() for t in prompt.tools]} if prompt.tools else {}),
        **({"tool_choice": prompt.tool_choice} if prompt.tool_choice else {}),
    }


def cmd_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    rows: list[dict[str, Any]] = []
    for name in registry.names():
        released = set(registry.released(name))
        rows.append(
            {
                "name": name,
                "versions": [
                    {"version": v, "released": v in released} for v in registry.versions(name)
                ],
                "labels": registry.labels(name),
            }
        )
    if args.json:
        _print_json({"templates": rows})
        return 0
    if args.refs:
        for row in rows:
            refs = [row["name"], *(f"{row['name']}@{label}" for label in sorted(row["labels"]))]
            refs += [f"{row['name']}@{v['version']}" for v in row["versions"]]
            sys.stdout.write("".join(f"{ref}\n" for ref in refs))
        return 0
    if not rows:
        sys.stdout.write(f"no templates under {registry.root}\n")
    for row in rows:
        versions = ", ".join(
            v["version"] + ("" if v["released"] else " (unreleased)") for v in row["versions"]
        )
        labels = ", ".join(f"{k}={v}" for k, v in sorted(row["labels"].items()))
        suffix = f"  [{labels}]" if labels else ""
        sys.stdout.write(f"{row['name']:24} {versions}{suffix}\n")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    registry = _registry(args)
    loaded = registry.file(args.ref)
    template = loaded.template
    schema = template.inputs.model_json_schema()
    required = set(schema.get("required", []))
    inputs = [
        {
            "name": name,
            "type": _type_name(prop),
            "required": name in required,
            "untrusted": name in template._input_schema.untrusted,
            "description": prop.get("description"),
        }
        for name, prop in schema.get("properties", {}).items()
    ]
    name, version = template.name, template.version
    info: dict[str, Any] = {
        "name": name,
        "version": version,
        "description": template.description,
        "source": template.source,
        "template_hash": template.hash,
        "released": version in read_lock(registry.root).get(name, {}),
        "labels": sorted(k for k, v in registry.labels(name).items() if v == version),
        "model": template.model,
        "params": dict(template.params),
        "inputs": inputs,
        "output": template.output.to_dict() if template.output else None,
        "tools": [t.to_dict() for t in template.tools],
        "tool_choice": template.tool_choice,
    }
    if args.json:
        _print_json(info)
        return 0
    out = [
        f"{template.label}" + (f"  [{', '.join(info['labels'])}]" if info["labels"] else ""),
        f"  {template.description}" if template.description else "",
        f"  file:     {template.source}",
        f"  hash:     {template.hash}",
        f"  released: {'yes' if info['released'] else 'no (run promptlib lock)'}",
        f"  model:    {template.model or '-'}  params: {json.dumps(info['params'])}",
        f"  output:   {template.output.name if template.output else 'text'}",
        f"  tools:    {', '.join(t.name for t in template.tools)}"
        + (f"  (choice: {template.tool_choice})" if template.tool_choice else "")
        if template.tools
        else "",
        "  inputs:",
    ]
    for item in inputs:
        flags = [item["type"], "required" if item["required"] else "optional"]
        if item["untrusted"]:
            flags.append("untrusted")
        out.append(
            f"    {item['name']} ({', '.join(flags)})"
            + (f": {item['description']}" if item["description"] else "")
        )
    sys.stdout.write("\n".join(line for line in out if line) + "\n\n" + loaded.text)
    return 0


def _type_name(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + "|".join(map(str, prop["enum"]))
    if prop.get("type") == "array":
        return f"array of {_type_name(prop.get('items', {}))}"
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    return str(prop.get("type", "any"))


def cmd_render(args: argparse.Namespace) -> int:
    prompt = _registry(args).render(args.ref, **parse_variables(args.var))
    if args.json:
        text = json.dumps(prompt_json(prompt), indent=2, ensure_ascii=False) + "\n"
    else:
        text = prompt.format() + "\n"
    # Inputs may carry escape sequences; a terminal must show them, not act on them.
    sys.stdout.write(terminal_safe(text, json_text=args.json) if sys.stdout.isatty() else text)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    registry = _registry(args)
    problems = registry.check()
    if args.json:
        _print_json(
            {
                "ok": not problems,
                "problems": [
                    {"kind": p.kind, "ref": p.ref, "message": p.message} for p in problems
                ],
            }
        )
        if problems:
            raise CheckFailed("")
        return 0
    if problems:
        lines = [f"{len(problems)} problem(s) in {registry.root}:"]
        lines += [f"- [{p.kind}] {p}" for p in problems]
        raise CheckFailed("\n".join(lines) + "\n")
    count = sum(len(registry.versions(n)) for n in registry.names())
    versions = "template version" if count == 1 else "template versions"
    sys.stdout.write(f"ok: {count} {versions}, all released and unchanged\n")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from promptlib._errors import TemplateError

    registry = _registry(args)
    try:
        added = registry.lock()
    except TemplateError as exc:
        raise CheckFailed(f"{exc}\n") from exc
    if added:
        sys.stdout.write("released:\n" + "".join(f"  {ref}\n" for ref in added))
    else:
        sys.stdout.write("nothing to release: every version is in the lock file\n")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    inputs = parse_variables(args.var) if args.var else None
    registry = _registry(args)
    text = diff_versions(registry, args.ref_a, args.ref_b, inputs)
    sys.stdout.write(terminal_safe(text) if sys.stdout.isatty() else text)
    if not args.exit_code:
        return 0
    file_a, file_b = registry.file(args.ref_a), registry.file(args.ref_b)
    differ = file_a.text != file_b.text
    if inputs is not None and not differ:
        differ = file_a.template.render(**inputs).hash != file_b.template.render(**inputs).hash
    return 1 if differ else 0


def cmd_count(args: argparse.Namespace) -> int:
    from promptlib._cli.tokens_commands import cmd_count

    return cmd_count(args)


def cmd_cost(args: argparse.Namespace) -> int:
    from promptlib._cli.tokens_commands import cmd_cost

    return cmd_cost(args)


def cmd_run(args: argparse.Namespace) -> int:
    from promptlib._cli.run_command import cmd_run

    return cmd_run(args)


def cmd_test(args: argparse.Namespace) -> int:
    from promptlib.testing._cases import run_cases

    registry = _registry(args)
    if args.name and "@" in args.name:
        refs = [args.name]
    else:
        names = [args.name] if args.name else registry.names()
        refs = [f"{n}@{v}" for n in names for v in registry.versions(n)]
    results = [result for ref in refs for result in run_cases(registry.file(ref))]
    failed = [r for r in results if not r.passed]
    if args.json:
        cases = [
            {"template": r.template, "name": r.name, "passed": r.passed, "failures": r.failures}
            for r in results
        ]
        _print_json({"passed": len(results) - len(failed), "failed": len(failed), "cases": cases})
    else:
        for r in results:
            sys.stdout.write(f"{'PASS' if r.passed else 'FAIL'} {r.template}: {r.name}\n")
            sys.stdout.writelines(f"       - {line}\n" for line in r.failures)
        sys.stdout.write(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
    if failed:
        raise CheckFailed("")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": cmd_list,
    "show": cmd_show,
    "render": cmd_render,
    "check": cmd_check,
    "lock": cmd_lock,
    "diff": cmd_diff,
    "count": cmd_count,
    "cost": cmd_cost,
    "run": cmd_run,
    "test": cmd_test,
}
