"""`import promptlib` stays light: no provider SDK, no tokenizer data, no side effects."""

import json
import subprocess
import sys

HEAVY = [
    "openai",
    "anthropic",
    "tiktoken",
    "tenacity",
    "httpx",
    "yaml",
    "jsonschema",
    "pydantic.main",
    "promptlib._cli",
    "promptlib._repository",
]


def test_import_does_not_load_provider_sdks_or_tokenizers():
    code = (
        "import sys, json, promptlib; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_import_has_no_output_or_warnings():
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import promptlib"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == ""
    assert out.stderr == ""
