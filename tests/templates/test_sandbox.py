"""Template text is code written by many hands: it cannot reach Python internals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from promptlib import System, Template, TemplateError, TemplateSecurityError, User

PAYLOADS = [
    line
    for line in (Path(__file__).parents[1] / "data" / "ssti_payloads.txt").read_text().splitlines()
    if line.strip()
]


class Inputs(BaseModel):
    name: str = "x"
    attribute: str = "upper"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_known_ssti_payloads_are_refused_at_definition(payload):
    with pytest.raises(TemplateError) as info:
        Template(User(payload), name="evil", inputs=Inputs, unused_inputs="ignore")
    assert "evil@0.0.0" in str(info.value)


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''['__class__'] }}",
        "{{ name|attr('__class__') }}",
    ],
)
def test_private_attribute_access_is_a_security_error_naming_the_line(payload):
    with pytest.raises(TemplateSecurityError, match=r"private attribute '__\w+__'") as info:
        Template(
            System(f"Line one.\n{payload}"), name="evil", inputs=Inputs, unused_inputs="ignore"
        )
    assert info.value.line == 2
    assert "block 1 (System), line 2" in str(info.value)


def test_computed_attribute_names_are_stopped_by_the_sandbox_at_definition():
    # No literal "_name" for the static check to see: the sandbox itself refuses it.
    with pytest.raises(TemplateSecurityError, match="sandbox refused"):
        Template(User("{{ ''|attr('_' ~ '_class__') }}"), name="evil")


def test_attribute_names_from_inputs_are_stopped_by_the_sandbox_at_render():
    template = Template(User("{{ name|attr(attribute) }}"), name="evil", inputs=Inputs)
    assert template.render(name="x", attribute="upper").messages[0].text.startswith("<built-in")
    with pytest.raises(TemplateSecurityError, match=r"sandbox refused.*unsafe"):
        template.render(name="x", attribute="__class__")


def test_unused_jinja_globals_are_not_available():
    with pytest.raises(TemplateError, match="'lipsum'"):
        Template(User("{{ lipsum() }}"), name="t")


def test_huge_ranges_are_refused():
    with pytest.raises(TemplateError, match=r"(?i)range too big"):
        Template(User("{% for i in range(10**9) %}{% endfor %}"), name="t")
