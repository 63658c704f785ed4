"""Generation parameters are checked the same way wherever they come from."""

from __future__ import annotations

import math

import pytest

from promptlib import Registry, Template, TemplateError, User
from promptlib._params import check_params

BAD = [
    ({"max_tokens": -5}, "'max_tokens' must be a positive integer, got -5"),
    ({"max_tokens": 0}, "'max_tokens' must be a positive integer"),
    ({"max_tokens": 1.5}, "'max_tokens' must be a positive integer, got 1.5"),
    ({"max_tokens": "100"}, "'max_tokens' must be a positive integer"),
    ({"max_tokens": 2**40}, "'max_tokens' must be between 1 and"),
    ({"max_tokens": 10**5000}, "about 5001 digits"),
    ({"temperature": "hot"}, "'temperature' must be a number, got 'hot'"),
    ({"temperature": math.nan}, "'temperature' must be a finite number, got nan"),
    ({"temperature": math.inf}, "'temperature' must be a finite number"),
    ({"temperature": -0.1}, "'temperature' must be between 0 and 2"),
    ({"temperature": 2.5}, "'temperature' must be between 0 and 2"),
    ({"temperature": True}, "'temperature' must be a number, got True"),
    ({"top_p": 1.01}, "'top_p' must be between 0 and 1"),
    ({"top_p": math.nan}, "'top_p' must be a finite number"),
    ({"presence_penalty": 3}, "'presence_penalty' must be between -2 and 2"),
    ({"frequency_penalty": -math.inf}, "'frequency_penalty' must be a finite number"),
    ({"seed": 1.0}, "'seed' must be an integer"),
    ({"seed": 2**64}, "'seed' must be between"),
    ({"stop": "END"}, "'stop' must be a list of strings"),
    ({"stop": ["", "x"]}, "'stop' must be a list of non-empty strings"),
    ({"extra": [1]}, "'extra' must be a mapping"),
    ({"temprature": 0.5}, "unknown parameter 'temprature'; did you mean 'temperature'?"),
    ({"max_token": 5}, "did you mean 'max_tokens'?"),
    ({10**5000: 1}, "unknown parameter <an integer of about 5001 digits>"),
]


@pytest.mark.parametrize(("params", "message"), BAD)
def test_bad_params_are_refused_by_name(params, message):
    with pytest.raises(TemplateError) as info:
        check_params(params, "experiment 'e'")
    assert message in info.value.reason
    assert info.value.template == "experiment 'e'"
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(("params", "message"), BAD[:12])
def test_templates_refuse_them_too(params, message):
    with pytest.raises(TemplateError, match=r"must be|unknown parameter"):
        Template([User("hi")], name="t", params=params)


def test_good_params_pass_unchanged():
    good = {"temperature": 0, "top_p": 1.0, "max_tokens": 1, "stop": ("a",), "seed": -1}
    good |= {"presence_penalty": -2, "frequency_penalty": 2.0, "extra": {"logprobs": True}}
    assert check_params(good, "t") == {**good, "stop": ["a"]}
    assert check_params(None, "t") == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("max_tokens: -5", "'max_tokens' must be a positive integer"),
        ("temperature: hot", "'temperature' must be a number"),
        ("temprature: 0", "did you mean 'temperature'"),
        ("top_p: 7", "'top_p' must be between 0 and 1"),
    ],
)
def test_template_files_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "t" / "1.0.0.prompt"
    path.parent.mkdir()
    path.write_text(f'---\nname: t\nversion: "1.0.0"\nparams:\n  {line}\n---\n[user]\nhi\n')
    with pytest.raises(TemplateError, match=r"1\.0\.0\.prompt:\d+: ") as info:
        Registry(tmp_path).get("t@1.0.0")
    assert message in str(info.value)
