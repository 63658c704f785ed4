"""Record against a local stand-in for the provider, then replay with no server."""

from __future__ import annotations

import json

import pytest

from promptlib import Registry
from promptlib.testing import Cassette, ReplayMissError
from tests.repository.conftest import SHIPPED


@pytest.mark.allow_provider_requests  # recording sends real requests (to 127.0.0.1 here)
def test_record_then_replay_without_a_server(local_openai, tmp_path, monkeypatch):
    url, seen = local_openai
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-secret-key")
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="Site is down")
    path = tmp_path / "cassettes" / "priority.json"

    recorded = Cassette(path, record=True).openai(base_url=url).complete(prompt)
    assert recorded.output == {"priority": "urgent"}
    assert len(seen) == 1
    text = path.read_text()
    assert "sk-live-secret-key" not in text
    assert "authorization" not in text.lower()
    data = json.loads(text)
    assert data["exchanges"][0]["request"]["path"] == "/v1/chat/completions"
    assert data["exchanges"][0]["response"]["headers"]["x-request-id"] == "req_local"

    monkeypatch.delenv("OPENAI_API_KEY")
    replayed = Cassette(path).openai(base_url=url).complete(prompt)  # offline: no key, no send
    assert replayed.output == {"priority": "urgent"}
    assert replayed.request_id == "req_local"
    assert len(seen) == 1  # the server was not called again


def test_a_miss_fails_loudly_with_a_diff(local_openai, tmp_path):
    path = tmp_path / "priority.json"
    path.write_text(
        json.dumps(
            {
                "format": "promptlib.cassette/1",
                "exchanges": [
                    {
                        "request": {
                            "method": "POST",
                            "path": "/v1/chat/completions",
                            "body": {
                                "model": "gpt-4o-mini",
                                "messages": [{"role": "user", "content": "old"}],
                            },
                        },
                        "response": {"status": 200, "headers": {}, "body": {}},
                    }
                ],
            }
        )
    )
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="Site is down")
    with pytest.raises(ReplayMissError) as info:
        Cassette(path).openai(base_url=local_openai[0]).complete(prompt)
    message = str(info.value)
    assert "no recording in" in message
    assert "--- nearest recording" in message
    removed = [line for line in message.splitlines() if line.startswith("-") and '"old"' in line]
    added = [
        line for line in message.splitlines() if line.startswith("+") and "Site is down" in line
    ]
    assert removed
    assert added
    with pytest.raises(ReplayMissError, match="empty or missing"):
        Cassette(tmp_path / "none.json").openai(base_url=local_openai[0]).complete(prompt)
