"""The ``promptlib`` command.

Exit codes: 0 success, 1 ``check`` (or ``lock``) found problems or an evaluation stopped at
its budget, 2 usage errors (a bad argument, an unknown template, invalid inputs), 3 the
provider or the model failed (an outage, a rate limit that outlasted the retries, a reply
that stayed invalid), 130 interrupted. Errors print one paragraph, never a traceback,
unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from promptlib._cli.batch_command import add_batch_commands, cmd_batch
from promptlib._cli.commands import COMMANDS, CheckFailed
from promptlib._cli.eval_command import add_eval_commands, cmd_eval
from promptlib._cli.finetune_command import add_finetune_commands, cmd_decide, cmd_finetune
from promptlib._errors import (
    AuthenticationError,
    ModelOutputError,
    PromptlibError,
    ProviderError,
    WaitTimeoutError,
)
from promptlib._secrets import SecretsFilter, redact
from promptlib._terminal import terminal_safe

__all__ = ["main"]

EXIT_OK, EXIT_CHECK, EXIT_USAGE, EXIT_PROVIDER, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Subcommands)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"promptlib: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


class _Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands that refuse an unknown argument themselves, so the usage shown is the
    subcommand's (``promptlib render x --bogus`` shows how to call ``render``)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        super().__call__(parser, namespace, values, option_string)
        unknown = getattr(namespace, argparse._UNRECOGNIZED_ARGS_ATTR, None)
        if unknown:
            chosen = self._name_parser_map[values[0]]
            chosen.error(f"unrecognized arguments: {' '.join(unknown)}")


class _TerminalSafe:
    """A stream that shows control characters as escapes (newlines and tabs pass)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write(terminal_safe(text, json_text=True)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _version() -> str:
    from promptlib import __version__

    return __version__


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promptlib",
        description="Render, check, release and compare versioned prompt templates.",
    )
    _global_options(parser, None)
    parser.add_argument("--version", action="version", version=f"promptlib {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    json_help = "print stable, machine-readable JSON"
    var_help = "an input: key=text, key:=JSON or key=@file (repeatable)"

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help)

    def inputs_and_json(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help=var_help)
        cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = add("list", "list templates, their versions and labels")
    cmd.add_argument("--json", action="store_true", help=json_help)
    cmd.add_argument(
        "--refs", action="store_true", help="one reference per line: NAME, NAME@LABEL, NAME@VERSION"
    )

    cmd = add("show", "show one template version: metadata, inputs, output and source")
    cmd.add_argument("ref", metavar="NAME[@REF]")
    cmd.add_argument("--json", action="store_true", help=json_help)

    cmd = add("render", "render a template with inputs and print the prompt")
    cmd.add_argument("ref", metavar="NAME[@REF]")
    inputs_and_json(cmd)

    cmd = add("check", "check that every version loads, is released, and is unchanged")
    cmd.add_argument("--json", action="store_true", help=json_help)

    add("lock", "release every new version: record its content hash in the lock file")

    cmd = add("count", "count a rendered template's input tokens, with a breakdown")
    cmd.add_argument("ref", metavar="NAME[@REF]")
    cmd.add_argument("--model", required=True, metavar="MODEL", help="e.g. gpt-4o-mini")
    inputs_and_json(cmd)

    cmd = add("cost", "estimate what sending a rendered template costs")
    cmd.add_argument("ref", metavar="NAME[@REF]")
    cmd.add_argument("--model", required=True, metavar="MODEL", help="e.g. gpt-4o-mini")
    cmd.add_argument(
        "--output-tokens", type=int, required=True, metavar="N", help="expected reply length"
    )
    cmd.add_argument(
        "--requests-per-month", type=int, default=None, metavar="R", help="price R requests"
    )
    cmd.add_argument("--batch", action="store_true", help="use the provider's batch prices")
    inputs_and_json(cmd)

    cmd = add("run", "render a template, send it to a model, and print the result")
    cmd.add_argument("ref", metavar="NAME[@REF]")
    cmd.add_argument(
        "--model",
        metavar="PROVIDER:MODEL",
        help="e.g. openai:gpt-4o-mini; mock:gpt-4o-mini answers offline "
        "(default: the template's model)",
    )
    cmd.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible server, e.g. Ollama")
    cmd.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print the reply as it arrives (default: on a terminal, without --json)",
    )
    inputs_and_json(cmd)

    cmd = add("test", "run the test cases stored in template files")
    cmd.add_argument("name", nargs="?", metavar="NAME[@REF]", help="one template (default: all)")
    cmd.add_argument("--json", action="store_true", help=json_help)

    add_eval_commands(sub, json_help)
    add_batch_commands(sub, json_help)
    add_finetune_commands(sub, json_help)

    cmd = add("demo", "the whole workflow on the shipped project, offline, with no key")
    cmd.add_argument(
        "--dir", metavar="DIR", help="make the project here (default: a new temp folder)"
    )
    cmd.add_argument("--store", metavar="FILE", help=argparse.SUPPRESS)

    cmd = add("completion", "print a shell completion script: bash, zsh or tcsh")
    cmd.add_argument("shell", choices=["bash", "zsh", "tcsh"])

    cmd = add("diff", "compare two versions: their files and, given inputs, their prompts")
    cmd.add_argument("ref_a", metavar="NAME@A")
    cmd.add_argument("ref_b", metavar="NAME@B")
    cmd.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help=var_help)
    cmd.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when the versions differ (their files, or their prompts for --var)",
    )
    _accept_global_options_anywhere(parser)
    _complete_template_references(parser)
    return parser


# Shell functions the completion scripts call to offer template references.
# A --templates DIR already typed on the line is passed on.
_COMPLETION_PREAMBLE = {
    "bash": (
        "_promptlib_refs() {\n"
        "  local i t=()\n"
        "  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do\n"
        '    [[ ${COMP_WORDS[i]} == --templates ]] && t=(--templates "${COMP_WORDS[i+1]}")\n'
        "  done\n"
        '  compgen -W "$(promptlib "${t[@]}" list --refs 2>/dev/null)" -- "$1"\n'
        "}\n"
    ),
    "zsh": (
        "_promptlib_refs() {\n"
        "  local t=()\n"
        "  (( ${words[(I)--templates]} )) && t=(--templates ${words[${words[(I)--templates]}+1]})\n"
        '  compadd -- ${(f)"$(promptlib $t list --refs 2>/dev/null)"}\n'
        "}\n"
    ),
}


def _complete_template_references(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _complete_template_references(sub)
        elif action.metavar in ("NAME[@REF]", "NAME@A", "NAME@B"):
            action.complete = {"bash": "_promptlib_refs", "zsh": "_promptlib_refs"}  # type: ignore[attr-defined]


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """--templates, --catalog and --debug; ``default`` SUPPRESS on subcommands, so that
    given after the subcommand they count, and not given they leave the main value."""
    parser.add_argument(
        "--templates",
        metavar="DIR",
        default=default,
        help="templates folder (default: [tool.promptlib] templates in pyproject.toml, "
        "else ./templates)",
    )
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        default=default,
        help="a model catalog to add to promptlib's own (default: [tool.promptlib] models "
        "in pyproject.toml)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if default is None else default,
        help="show tracebacks on errors",
    )
    if default is not None:  # on subcommands: the main parser has its own
        parser.add_argument("--version", action="version", version=f"promptlib {_version()}")


def _accept_global_options_anywhere(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _global_options(sub, argparse.SUPPRESS)
                _accept_global_options_anywhere(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    if args.debug:
        _debug_logging()
    logger = logging.getLogger("promptlib")
    propagate, quiet = logger.propagate, logging.NullHandler()
    if not args.debug:
        # Whatever the library logs is said again by the error that follows (or by the
        # command's own output); --debug shows it.
        logger.propagate = False
        logger.addHandler(quiet)
    stdout = sys.stdout
    if stdout.isatty():
        # Text from templates, inputs, datasets and models may hold escape sequences: a
        # terminal shows them, and never acts on them.
        sys.stdout = _TerminalSafe(stdout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # shown once, as a line, whatever the filters
            warnings.showwarning = _show_warning
            return _main(args)
    finally:
        sys.stdout = stdout
        logger.propagate = propagate
        logger.removeHandler(quiet)


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command == "completion":
            return _completion(args.shell)
        if args.command == "demo":
            from promptlib._cli.demo_command import cmd_demo

            return cmd_demo(args)
        if args.command == "batch":
            return cmd_batch(args)
        if args.command == "finetune":
            return cmd_finetune(args)
        if args.command == "decide":
            return cmd_decide(args)
        command = cmd_eval if args.command == "eval" else COMMANDS[args.command]
        return command(args)
    except CheckFailed as failed:
        sys.stdout.write(failed.report)
        return EXIT_CHECK
    except WaitTimeoutError as exc:  # not finished yet: the job goes on at the provider
        sys.stderr.write(f"promptlib: {redact(str(exc))}\n")
        return EXIT_CHECK
    except PromptlibError as exc:
        if args.debug:  # the traceback too, and still the documented exit code
            _print_traceback(exc)
        message = redact(str(exc))
        if sys.stderr.isatty():
            message = terminal_safe(message)
        sys.stderr.write(f"promptlib: error: {message}\n")
        return EXIT_PROVIDER if _provider_failed(exc) else EXIT_USAGE
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return EXIT_OK
    except KeyboardInterrupt as exc:
        if args.debug:
            _print_traceback(exc)
        sys.stderr.write("promptlib: interrupted\n")
        return EXIT_INTERRUPTED


def _print_traceback(exc: BaseException) -> None:
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(exc))))


def _completion(shell: str) -> int:
    """Print the completion script (generated from this parser by shtab)."""
    import shtab

    preamble = _COMPLETION_PREAMBLE.get(shell, "")
    sys.stdout.write(shtab.complete(_parser(), shell=shell, preamble=preamble))
    return EXIT_OK


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings as one line each, not Python's two with a source line."""
    sys.stderr.write(f"promptlib: warning: {redact(str(message))}\n")


def _provider_failed(exc: PromptlibError) -> bool:
    """The provider or the model failed (exit 3), as opposed to a usage error (exit 2)."""
    refused = isinstance(exc, AuthenticationError) and exc.status is not None
    return refused or isinstance(exc, ProviderError | ModelOutputError)


_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
)


def _debug_logging() -> None:
    """DEBUG logs on stderr (promptlib's, the SDKs', the HTTP libraries'), keys removed."""
    import logging
    import os

    handler = logging.StreamHandler(sys.stderr)
    # Keys of any shape, not only provider-shaped ones: the values set in the environment.
    known = [os.environ.get(name, "") for name in _KEY_VARIABLES]
    handler.addFilter(SecretsFilter(key for key in known if len(key) >= 4))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[handler], force=True)


def run() -> None:  # pragma: no cover - the console script
    raise SystemExit(main())
