"""The ``count`` and ``cost`` subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from promptlib._cli.config import catalog_file, registry
from promptlib._cli.variables import parse_variables
from promptlib._messages import Prompt
from promptlib._tokens import Catalog, count_tokens, estimate_cost

__all__ = ["cmd_cost", "cmd_count"]


def _catalog(args: argparse.Namespace) -> Catalog:
    extra = catalog_file(args.catalog)
    return Catalog.default().extend(extra) if extra else Catalog.default()


def _prompt(args: argparse.Namespace) -> Prompt[Any]:
    templates = registry(args.templates)
    return templates.render(args.ref, **parse_variables(args.var))


def _dollars(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:,.6f}".rstrip("0").rstrip(".") if value < 1 else f"${value:,.2f}"


def cmd_count(args: argparse.Namespace) -> int:
    prompt = _prompt(args)
    count = count_tokens(prompt, args.model, catalog=_catalog(args))
    if args.json:
        data = {"name": prompt.meta.template, "version": prompt.meta.version, **count.to_dict()}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    kind = "exact" if count.exact else "estimate"
    lines = [
        f"{prompt.meta.template}@{prompt.meta.version} on {count.model}: "
        f"{count.total:,} input tokens ({kind}, {count.method})",
    ]
    if count.note:
        lines.append(f"  note: {count.note}")
    lines.append("  by block:")
    lines += [f"    {name:16} {tokens:>8,}" for name, tokens in count.by_kind().items()]
    if count.messages:
        lines.append("  by message:")
        lines += [
            f"    {i:>3} {message.role:10} {tokens:>8,}"
            for i, (message, tokens) in enumerate(zip(prompt.messages, count.messages, strict=True))
        ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    prompt = _prompt(args)
    requests = args.requests_per_month or 1
    estimate = estimate_cost(
        prompt,
        args.model,
        output_tokens=args.output_tokens,
        requests=requests,
        batch=args.batch,
        catalog=_catalog(args),
    )
    if args.json:
        data = {"name": prompt.meta.template, "version": prompt.meta.version, **estimate.to_dict()}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    cost = estimate.per_request
    exact = "exact" if estimate.tokens.exact else "estimated"
    lines = [
        f"{prompt.meta.template}@{prompt.meta.version} on {cost.model}"
        + (" (batch prices)" if args.batch else ""),
        f"  input:  {estimate.tokens.total:>10,} tokens ({exact})  {_dollars(cost.input)}",
        f"  output: {estimate.output_tokens:>10,} tokens (assumed)   {_dollars(cost.output)}",
        f"  per request: {_dollars(cost.total)}",
    ]
    if args.requests_per_month:
        lines.append(f"  per month ({requests:,} requests): {_dollars(estimate.total)}")
    if not cost.known:
        lines.append(
            f"  unknown prices: {', '.join(cost.missing)}; add them to a catalog file "
            "(--catalog FILE)"
        )
    if cost.source:
        lines.append(f"  prices: {cost.source}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
