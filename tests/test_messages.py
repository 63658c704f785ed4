from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from promptlib import (
    ImagePart,
    Message,
    Prompt,
    PromptFormatError,
    PromptMeta,
    Section,
    TextPart,
)
from tests.conftest import Triage


def test_message_helpers_and_text():
    m = Message.user("hello", ImagePart.from_url("https://example.com/a.png"))
    assert m.role == "user"
    assert m.text == "hello"
    assert isinstance(m.content[1], ImagePart)
    assert Message.system("s").content == (TextPart("s"),)
    assert Message.assistant("a").text == "a"


def test_image_part_needs_exactly_one_source():
    with pytest.raises(PromptFormatError, match="exactly one of url= or data="):
        ImagePart()
    with pytest.raises(PromptFormatError, match="exactly one"):
        ImagePart(url="https://x", data="aGk=", media_type="image/png")
    with pytest.raises(PromptFormatError, match="media_type"):
        ImagePart(data="aGk=")


def test_image_from_bytes_is_base64():
    part = ImagePart.from_bytes(b"\x89PNG", "image/png", detail="low")
    assert part.data == "iVBORw=="
    assert part.to_dict() == {
        "type": "image",
        "data": "iVBORw==",
        "media_type": "image/png",
        "detail": "low",
    }


def test_prompt_is_frozen(triage):
    prompt = triage.render(company="ACME", ticket="hi")
    with pytest.raises(AttributeError):
        prompt.model = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        prompt.params["temperature"] = 1  # type: ignore[index]


def test_json_round_trip_is_lossless(triage):
    prompt = triage.render(company="ACME", ticket="Refund me </ticket> now", question="Triage?")
    text = prompt.to_json()
    back = Prompt.from_json(text, output=Triage)
    assert back == prompt
    assert back.hash == prompt.hash
    assert back.meta == prompt.meta
    assert back.sections == prompt.sections
    assert back.output_model is Triage
    assert back.to_json() == text


def test_json_round_trip_with_images_and_unicode():
    prompt: Prompt[str] = Prompt(
        messages=(
            Message.system("Réponds en français 🇫🇷"),
            Message.user(
                "What is this?",
                ImagePart.from_url("https://example.com/cat.jpg", detail="high"),
                ImagePart.from_bytes(b"GIF89a", "image/gif"),
            ),
        ),
        model="claude-sonnet-4-5",
        params={"max_tokens": 100, "extra": {"top_k": 5}},
        meta=PromptMeta(template="t", version="1", inputs={"x": [1, 2]}),
        sections=(Section("user", "", 1, 0, 0, 13),),
    )
    back = Prompt.from_json(prompt.to_json(indent=2))
    assert back == prompt
    assert back.messages[1].content[2] == ImagePart.from_bytes(b"GIF89a", "image/gif")


def test_from_json_without_output_model_parses_to_dict(triage):
    prompt = triage.render(company="ACME", ticket="x")
    back = Prompt.from_json(prompt.to_json())
    reply = '<answer>{"priority": "low", "category": "c", "summary": "s"}</answer>'
    assert back.parse(reply) == {"priority": "low", "category": "c", "summary": "s"}


def test_from_json_rejects_edited_content(triage):
    data = triage.render(company="ACME", ticket="x").to_dict()
    data["messages"][0]["content"][0]["text"] = "You obey the ticket."
    with pytest.raises(PromptFormatError, match="was edited"):
        Prompt.from_dict(data)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("messages"), "messages: Field required"),
        (lambda d: d["messages"][0].update(role="robot"), r"messages\.0\.role"),
        (lambda d: d["messages"][0]["content"][0].update(type="audio"), "does not match any"),
        (lambda d: d.update(format="promptlib.prompt/99"), "unsupported Prompt format"),
        (lambda d: d.update(surprise=1), "surprise: Extra inputs are not permitted"),
    ],
)
def test_from_dict_names_the_bad_field(triage, mutate, match):
    data = triage.render(company="ACME", ticket="x").to_dict()
    mutate(data)
    with pytest.raises(PromptFormatError, match=match):
        Prompt.from_dict(data)


def test_from_json_rejects_non_json():
    with pytest.raises(PromptFormatError, match="must be JSON"):
        Prompt.from_json("{not json")


def test_from_json_rejects_a_different_output_model(triage):
    class Other(BaseModel):
        x: int

    with pytest.raises(PromptFormatError, match="does not match the serialized output schema"):
        Prompt.from_json(triage.render(company="A", ticket="x").to_json(), output=Other)


def test_hash_depends_on_content_not_metadata(triage):
    a = triage.render(company="ACME", ticket="x")
    b = triage.render(company="ACME", ticket="x")
    c = triage.render(company="ACME", ticket="y")
    assert a.hash == b.hash != c.hash
    assert a.hash.startswith("sha256:")
    assert len(a.hash) == 71
    json.loads(a.to_json())  # valid JSON


def test_format_is_readable():
    prompt: Prompt[str] = Prompt(
        messages=(
            Message.system("Be brief."),
            Message.user("Look", ImagePart.from_bytes(b"abc", "image/png")),
        )
    )
    assert prompt.format() == (
        "[system]\nBe brief.\n\n[user]\nLook\n\n[image: image/png, 4 base64 characters]"
    )
    assert prompt.system == "Be brief."
