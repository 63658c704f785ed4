"""Credentials recognised by their shape or their name, whatever their length."""

import pytest

from promptlib._secrets import redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Authorization: abc123", "Authorization: [redacted]"),
        ("authorization=Token s3", "authorization=Token [redacted]"),
        ('"authorization": "tok"', '"authorization": "[redacted]"'),
        ("Proxy-Authorization: Basic dXM6cA==", "Proxy-Authorization: Basic [redacted]"),
        ("x-api-key: k1", "x-api-key: [redacted]"),
        ("api-key: 0123abcd", "api-key: [redacted]"),
        ("X-Goog-Api-Key: AIzaSyA-xyz", "X-Goog-Api-Key: [redacted]"),
        ("OPENAI_API_KEY=abc", "OPENAI_API_KEY=[redacted]"),
        ("export ANTHROPIC_API_KEY='abc12345xyz'", "export ANTHROPIC_API_KEY='[redacted]'"),
        ('{"api_key": "abc"}', '{"api_key": "[redacted]"}'),
        ('{\\"apikey\\": \\"abc\\"}', '{\\"apikey\\": \\"[redacted]\\"}'),
        ("https://h/v1?apikey=abc&x=1", "https://h/v1?apikey=[redacted]&x=1"),
        ("API_KEY : abc", "API_KEY : [redacted]"),
    ],
)
def test_a_named_credential_is_removed_whatever_its_length(text, shown):
    assert redact(text) == shown


@pytest.mark.parametrize(
    "prose",
    [
        "the api key is missing",
        "Authorization header missing",
        "set your API key in the environment",
        "keys: 3, tokens: 120",
    ],
)
def test_prose_about_keys_is_left_alone(prose):
    assert redact(prose) == prose


@pytest.mark.parametrize(
    "blob", ["api" * 70_000, "api-key " * 30_000, "Authorization: " * 20_000, "a" * 200_000]
)
def test_redaction_stays_linear_on_long_hostile_text(blob):
    # A wrong pattern (a leading greedy run, say) would take minutes here, not milliseconds.
    assert len(redact(blob)) >= len(blob) // 2
