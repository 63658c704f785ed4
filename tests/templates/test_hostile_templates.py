"""Hostile template text ends, quickly, in a promptlib error naming the template and line."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from promptlib import System, Template, TemplateError, TemplateSecurityError, User
from promptlib._templates import Limits, use_limits


class Inputs(BaseModel):
    n: int = 1
    text: str = "x"


# Each payload, if run unbounded, exhausts memory, recurses past Python's limit or runs for
# minutes. Static ones run when the template is defined; dynamic ones (reading `n` or
# `text`) when it renders.
STATIC_PAYLOADS = [
    "{{ 'x' * 10**12 }}",
    "{{ 10**12 * 'x' }}",
    "{{ [1] * 10**12 }}",
    "{{ 10**1000000 }}",
    "{{ (7 ** 7) ** (7 ** 7) }}",
    "{% set ns = namespace(x=2) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}"
    "{% endfor %}{{ ns.x }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x'.zfill(10**9) }}",
    "{{ '\t'.expandtabs(10**9) }}",
    "{{ ('x' * 1000).replace('x', 'y' * 100000) }}",
    "{{ ('x' * 1000)|replace('x', 'y' * 100000) }}",
    "{{ ('a\n' * 10000)|indent(10**6) }}",
    "{{ ('a b ' * 100000)|wordwrap(1, wrapstring='z' * 1000) }}",
    "{{ ('y' * 1000).join(['x'] * 100000) }}",
    "{{ (['x' * 1000] * 10000)|join }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '%.999999999f' % 1.0 }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{:{}}'.format(1, 999999999) }}",
    "{{ '%999999999d'|format(1) }}",
    "{{ [1]|batch(10**9, 0)|list }}",
    "{{ [1]|slice(10**9)|list }}",
    "{% set x = 'ab' %}" + "{% set x = x ~ x %}" * 40 + "{{ x }}",
    "{% set x = 'ab' %}" + "{% set x = x + x %}" * 40 + "{{ x }}",
    "{% set ns = namespace(x='ab') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}"
    "{% endfor %}{{ ns.x }}",
    "{% set l = [1] %}{% for i in range(60) %}{% set _ = l.extend(l) %}{% endfor %}",
    "{% set l = [] %}{% for i in range(100000) %}{% set _ = l.append('x' * 1000000) %}{% endfor %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% macro f() %}{% for i in range(10) %}{{ f() }}{% endfor %}{% endmacro %}{{ f() }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{% for a in [[1, [2]]] recursive %}{{ loop(a) }}{% endfor %}",
    "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
    "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}",
    "{{ " + "[" * 2000 + "]" * 2000 + " }}",
    "{% if true %}" * 500 + "x" + "{% endif %}" * 500,
    "{{ " + "1 + " * 5000 + "1 }}",
    "{{ " + "-" * 5000 + "1 }}",
    "{{ 'x'|tojson(indent=10**9) }}",
    # One long text referenced many times: small as a value, huge once printed.
    "{% set l = ['x' * 1000000] * 1000 %}{{ l }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ l|string|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ l|tojson|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ l|pprint|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ l|join|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ ('a' ~ l)|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ ('%s' % (l,))|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ '{}'.format(l)|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ '{0[a]}'.format_map({'a': l})|length }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ '%s'|format(l)|length }}",
    "{% set s = 'x' * 1000000 %}{{ ('%s' * 1000) % ((s,) * 1000) }}",
    "{% set a = [1] * 1000 %}{% set b = [a] * 1000 %}{% set c = [b] * 1000 %}{{ c }}",
    "{% set l = ['x' * 1000000] * 1000 %}{{ l|sum(start=[])|length }}",
    "{% set ns = namespace(d={}) %}{% for i in range(100000) %}"
    "{% set ns.d = {'a': ns.d} %}{% endfor %}{{ ns.d }}",
    "{% set ns = namespace(d={}) %}{% for i in range(100000) %}"
    "{% set ns.d = {'a': ns.d} %}{% endfor %}{{ ns.d|tojson }}",
]
DYNAMIC_PAYLOADS = [
    "{{ text * 10**12 }}",
    "{{ (n + 1) ** (10**7) }}",
    "{{ text|center(n * 10**9) }}",
    "{% for i in range(n * 100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() if n else '' }}",
    "{{ (text * 1000).replace('x', text * 100000) }}",
]


def _elapsed(action):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    with pytest.raises(TemplateError) as info:
        action()
    return time.monotonic() - start, info.value


@pytest.mark.parametrize("payload", STATIC_PAYLOADS)
def test_hostile_text_is_refused_at_definition_naming_template_and_block(payload):
    seconds, error = _elapsed(
        lambda: Template(User(payload), name="evil", inputs=Inputs, unused_inputs="ignore")
    )
    assert error.template == "evil@0.0.0"
    assert "block 1 (User)" in str(error)
    assert seconds < 10


@pytest.mark.parametrize("payload", DYNAMIC_PAYLOADS)
def test_hostile_text_is_refused_at_render_naming_template_and_line(payload):
    template = Template(
        System("Intro.\n" + payload), name="evil", inputs=Inputs, unused_inputs="ignore"
    )
    seconds, error = _elapsed(lambda: template.render(n=1, text="x"))
    assert error.template == "evil@0.0.0"
    assert error.line == 2
    assert seconds < 10


def test_limit_errors_are_security_errors_that_name_the_limit():
    with pytest.raises(TemplateSecurityError, match=r"Limits\(steps=\.\.\.\)"):
        Template(User("{% for i in range(100000) %}{% for j in range(100) %}{% endfor %}"
                      "{% endfor %}"), name="t")  # fmt: skip


def test_the_output_of_one_text_is_bounded():
    template = Template(User("{% for i in range(n) %}{{ text }}{% endfor %}"), name="t",
                        inputs=Inputs)  # fmt: skip
    with use_limits(Limits(output_chars=1000)):
        small = Template(User("{% for i in range(n) %}{{ text }}{% endfor %}"), name="t",
                         inputs=Inputs)  # fmt: skip
    assert len(template.render(n=5000, text="ab").messages[0].text) == 10000
    with pytest.raises(TemplateSecurityError, match=r"more than 1,000 characters"):
        small.render(n=5000, text="ab")


def test_plain_interpolation_is_bounded_too():
    with use_limits(Limits(output_chars=10)):
        template = Template(User("{{ text }}"), name="t", inputs=Inputs, unused_inputs="ignore")
    with pytest.raises(TemplateSecurityError, match="more than 10 characters"):
        template.render(text="x" * 11)


def test_time_is_bounded():
    with use_limits(Limits(seconds=0.2, steps=10**9)):
        template = Template(
            User("{% for i in range(n) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
            name="t",
            inputs=Inputs,
            unused_inputs="ignore",
        )
    seconds, error = _elapsed(lambda: template.render(n=100000))
    assert "longer than 0.2 s" in str(error)
    assert seconds < 2


def test_reasonable_templates_are_untouched_by_the_limits():
    template = Template(
        User(
            "{% macro item(i) %}- {{ i }}: {{ text * 3 }}{% endmacro %}"
            "{% for i in range(n) %}{{ item(i) }}\n{% endfor %}{{ 2 ** 64 }} {{ '%5d' % 42 }}"
            " {{ text|center(9) }} {{ ['a', 'b']|join(', ') }} {{ '{:>4}'.format(7) }}"
        ),
        name="t",
        inputs=Inputs,
    )
    text = template.render(n=3, text="ab").messages[0].text
    assert text.startswith("- 0: ababab\n- 1: ababab\n- 2: ababab")
    assert text.endswith(f"{2**64}    42     ab    a, b    7")


def test_limits_are_validated():
    with pytest.raises(TemplateError, match="positive"):
        Limits(steps=0)
    with pytest.raises(TemplateError, match="Limits"), use_limits({"steps": 1}):  # type: ignore[arg-type]
        pass  # pragma: no cover


@pytest.mark.parametrize(
    ("text", "kind", "name", "suggestion"),
    [
        ("{{ 'x'|uper }}", "filter", "uper", "upper"),
        ("{% if false %}{{ 'x'|nosuch }}{% endif %}", "filter", "nosuch", None),
        ("{% if 1 is odd1 %}x{% endif %}", "test", "odd1", "odd"),
        ("{% if false %}{% if 1 is nosuch %}x{% endif %}{% endif %}", "test", "nosuch", None),
        ("{% filter uper %}x{% endfilter %}", "filter", "uper", "upper"),
    ],
)
def test_unknown_filters_and_tests_are_refused_in_every_branch(text, kind, name, suggestion):
    with pytest.raises(TemplateError, match=rf"no {kind} named '{name}'") as info:
        Template(User("Intro.\n" + text), name="t")
    assert info.value.line == 2
    if suggestion:
        assert f"did you mean {suggestion!r}" in str(info.value)
