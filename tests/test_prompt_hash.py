"""``Prompt.hash`` is the SHA-256 of the canonical JSON of what is sent, however it is built."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promptlib._hashing import content_hash
from promptlib._messages import ImagePart, Message, Prompt
from promptlib._output import OutputSpec, ReasoningSpec

TEXT = st.text(max_size=30)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
MESSAGES = st.lists(
    st.builds(Message.system, TEXT)
    | st.builds(Message.assistant, TEXT)
    | st.builds(lambda t: Message.user(t, ImagePart.from_bytes(b"GIF89a", "image/gif")), TEXT)
    | st.builds(Message.user, TEXT),
    min_size=1,
    max_size=4,
).map(tuple)


@settings(max_examples=400, deadline=None)
@given(
    MESSAGES,
    st.none() | st.builds(OutputSpec, TEXT, st.dictionaries(TEXT, JSON, max_size=3), st.booleans()),
    st.none() | st.builds(ReasoningSpec, st.sampled_from(["tags", "prefix"])),
    st.none() | TEXT,
    st.dictionaries(TEXT, JSON, max_size=3),
)
def test_the_hash_is_the_hash_of_the_canonical_content(messages, output, reasoning, model, params):
    prompt: Prompt[object] = Prompt(messages, output, reasoning, model, params)
    assert prompt.hash == content_hash(prompt._content())
