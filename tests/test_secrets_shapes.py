"""Credentials recognised by their name and shape, whatever their length; prose about
credentials (a word after "Bearer" or "api_key:", with no digit or symbol) is left alone."""

import pytest

from promptlib._secrets import redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Authorization: abc123", "Authorization: [redacted]"),
        ("authorization=Token s3", "authorization=Token [redacted]"),
        ('"authorization": "tok3n"', '"authorization": "[redacted]"'),
        ("Proxy-Authorization: Basic dXM6cA==", "Proxy-Authorization: Basic [redacted]"),
        ("x-api-key: k1", "x-api-key: [redacted]"),
        ("api-key: 0123abcd", "api-key: [redacted]"),
        ("X-Goog-Api-Key: AIzaSyA-xyz", "X-Goog-Api-Key: [redacted]"),
        ("OPENAI_API_KEY=abc123", "OPENAI_API_KEY=[redacted]"),
        ("export ANTHROPIC_API_KEY='abc12345xyz'", "export ANTHROPIC_API_KEY='[redacted]'"),
        ('{"api_key": "abc1"}', '{"api_key": "[redacted]"}'),
        ('{\\"apikey\\": \\"abc1\\"}', '{\\"apikey\\": \\"[redacted]\\"}'),
        ("https://h/v1?apikey=abc&x=1", "https://h/v1?apikey=[redacted]&x=1"),
        ("API_KEY : abc1", "API_KEY : [redacted]"),
        ("[(b'api-key', b'azsecret99')]", "[(b'api-key', b'[redacted]')]"),
        ("('authorization', 'Bearer abc123')", "('authorization', 'Bearer [redacted]')"),
        ("Ocp-Apim-Subscription-Key: azuresub123", "Ocp-Apim-Subscription-Key: [redacted]"),
        (
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/bedrock"
            "/aws4_request, SignedHeaders=host, Signature=deadbeefdeadbeef0123",
            "Authorization: AWS4-HMAC-SHA256 [redacted], SignedHeaders=host, Signature=[redacted]",
        ),
        ("Authorization: Bearer YOUR_KEY)", "Authorization: Bearer [redacted])"),
        (
            "next=https%3A%2F%2Fh%2Fv1%3Fapi_key%3Dsecret123",
            "next=https%3A%2F%2Fh%2Fv1%3Fapi_key%3D[redacted]",
        ),
        (
            'Digest realm="r", response="6629fae49393a05397450978507c4ef1"',
            'Digest realm="r", response="[redacted]"',
        ),
        (
            'Digest realm="r",\n response="6629fae49393a05397450978507c4ef1"',
            'Digest realm="r",\n response="[redacted]"',
        ),
        (
            'Authorization: Digest username="u", realm="r",\n'
            ' response="6629fae49393a05397450978507c4ef1"',
            'Authorization: Digest [redacted]"u", realm="r",\n response="[redacted]"',
        ),
        ("X-Amz-Security-Token: IQoJb3JpZ2luX2VjEJr", "X-Amz-Security-Token: [redacted]"),
        ("AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr", "AWS_SESSION_TOKEN=[redacted]"),
        ('{"SessionToken": "IQoJb3JpZ2luX2VjEJr"}', '{"SessionToken": "[redacted]"}'),
        (
            "https://b/x?X-Amz-Security-Token=IQoJb3J&x=1",
            "https://b/x?X-Amz-Security-Token=[redacted]&x=1",
        ),
        ("Bearer dXNlcjpwYXNz", "Bearer [redacted]"),
        ("Basic dXNlcjpwYXNz", "Basic [redacted]"),
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
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth",
        "Bearer token expired",
        "Bearer token.",
        "Use Basic authentication here",
        "Missing Authorization: header",
        "The api_key: argument is required",
        "Set api-key = your key",
        "OpenAI(api_key = os.environ['X'])",
        "api-key, 2 retries",
        "the digest of the meeting: response=ok",
        "security token expired",
        "the session token expired",
    ],
)
def test_prose_about_keys_is_left_alone(prose):
    assert redact(prose) == prose


@pytest.mark.parametrize(
    "blob",
    [
        "api" * 70_000,
        "api-key " * 30_000,
        "Authorization: " * 20_000,
        "a" * 200_000,
        "digest " * 50_000,
    ],
)
def test_redaction_stays_linear_on_long_hostile_text(blob):
    # A wrong pattern (a leading greedy run, say) would take minutes here, not milliseconds.
    assert len(redact(blob)) >= len(blob) // 2
