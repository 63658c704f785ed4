"""Encodings are built offline from verified data."""

from __future__ import annotations

import gzip
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlib import ConfigurationError
from promptlib._tokens import encodings
from promptlib._tokens.encodings import _make_counter, get_encoding, load_ranks, token_counter

# Expected ids from tiktoken's own test suite and README.
KNOWN = [
    ("cl100k_base", "hello world", [15339, 1917]),
    ("cl100k_base", "rer", [38149]),
    ("cl100k_base", "'rer", [2351, 81]),
    ("cl100k_base", "today\n ", [31213, 198, 220]),
    ("cl100k_base", "today\n \n", [31213, 27907]),
    ("o200k_base", "hello world", [24912, 2375]),
]


@pytest.mark.parametrize(("name", "text", "ids"), KNOWN)
def test_known_token_ids(name, text, ids):
    assert get_encoding(name).encode(text) == ids


def test_special_tokens():
    assert get_encoding("cl100k_base").encode("hello <|endoftext|>", allowed_special="all") == [
        15339,
        220,
        100257,
    ]
    assert get_encoding("o200k_base").encode("<|endoftext|>", allowed_special="all") == [199999]


def test_encodings_load_with_the_network_blocked(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("counting tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(encodings, "_cache", {})
    assert get_encoding("o200k_base").encode("offline") == get_encoding("o200k_base").encode(
        "offline"
    )
    assert len(get_encoding("cl100k_base").encode("offline")) == 1


def test_corrupt_data_is_a_clear_error(tmp_path):
    bad = tmp_path / "o200k_base.tiktoken.gz"
    bad.write_bytes(gzip.compress(b"aGVsbG8= 0\n"))
    with pytest.raises(ConfigurationError, match=r"corrupt or not the official file: its SHA-256"):
        load_ranks("o200k_base", bad)
    truncated = tmp_path / "cl100k_base.tiktoken.gz"
    truncated.write_bytes(gzip.compress(b"x" * 1000)[:20])
    with pytest.raises(ConfigurationError, match="cannot read the cl100k_base token data"):
        load_ranks("cl100k_base", truncated)


def test_missing_data_file_is_a_clear_error(tmp_path):
    with pytest.raises(
        ConfigurationError, match=r"cannot read the o200k_base token data.*promptlib-py"
    ):
        load_ranks("o200k_base", tmp_path / "gone.tiktoken.gz")


def test_the_data_ships_inside_the_package():
    from importlib import resources

    data = resources.files("promptlib._tokens").joinpath("data")
    assert {p.name for p in data.iterdir()} >= {"cl100k_base.tiktoken.gz", "o200k_base.tiktoken.gz"}


def test_unknown_encoding():
    with pytest.raises(ConfigurationError, match="unknown encoding 'p50k_base'"):
        get_encoding("p50k_base")


texts = st.text() | st.lists(
    st.sampled_from(["<|endoftext|>", "<|endofprompt|>", "\n\n", " ", "héllo", "\ud800", "42"])
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=texts, name=st.sampled_from(["o200k_base", "cl100k_base"]))
def test_token_counter_counts_what_encode_ordinary_encodes(text, name):
    assert token_counter(name)(text) == len(get_encoding(name).encode_ordinary(text))


def test_token_counter_without_the_token_buffer_uses_the_public_path():
    class PublicOnly:
        def __init__(self, encoding):
            self.encode_ordinary = encoding.encode_ordinary

    encoding = get_encoding("o200k_base")
    counter = _make_counter(PublicOnly(encoding))
    assert counter("<|endoftext|> hello") == len(encoding.encode_ordinary("<|endoftext|> hello"))
