"""Templates are bounded: in time (a deadline loops and calls check), in size (operations that
could build a huge value are refused from their operands, before they run), and in kind (a
value that is not JSON is an error naming its type). Reading a template never evaluates it."""

from __future__ import annotations

import itertools
import threading

import pytest

from flowdesk.model.template_limits import MAX_INT_DIGITS, TemplateBudget
from flowdesk.model.templates import TemplateError, compile_template

PARAMS = {"params": {"n": 10, "s": "ab", "lst": list(range(1000)), "big": 10**9, "d": {"a": 1}}}


def evaluate(source: str, budget: TemplateBudget | None = None):
    return compile_template(source).evaluate(PARAMS, "config.value", budget or TemplateBudget())


class SteppingClock:
    """Each look at the clock moves it one second on: deadlines pass after a known count."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def __call__(self) -> float:
        return float(next(self.ticks))


TOO_LARGE = [
    "{{ 'a' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ params.s * params.big }}",
    "{{ 10 ** (10 ** 7) }}",
    "{{ params.n ** (params.n ** 12) }}",
    "{{ 2 ** 100000 }}",
    "{{ '%*d' % (params.big, 1) }}",
    "{{ '%.1000000000f' % 1.5 }}",
    "{{ '%1000000000d' | format(1) }}",
    "{{ params.s | center(10**9) }}",
    "{{ params.s | center(1000000000) }}",
    "{{ params.s | indent(10**9) }}",
    "{{ ('ab\n' * 100) | indent(' ' * 1000000) }}",
    "{{ params.lst | join('-' * 100000) }}",
    "{{ params.s.ljust(10**9) }}",
    "{{ params.s.zfill(10**9) }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ '{:>{}}'.format(1, params.big) }}",
    "{{ '{x:>{w}}'.format_map({'x': 1, 'w': params.big}) }}",
    "{{ params.s | replace('', 'x' * 10**7) }}",
    "{{ [1] | batch(10**9, 0) | list }}",
    "{{ [1] | slice(10**9) | list }}",
    "{{ params.lst | tojson(indent=10**6) }}",
    "{{ params.lst | map('center', 10**9) | list }}",
    "{{ ('x' * 9000000) ~ ('y' * 9000000) }}",
    "{{ 'x' * 9000000 + 'y' * 9000000 }}",
    "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ f('ab', 40) }}",
    "{% for i in params.lst %}{{ 'x' * 100000 }}{% endfor %}",
]


@pytest.mark.parametrize("source", TOO_LARGE)
def test_a_result_past_the_limit_is_refused_before_it_is_built(source: str) -> None:
    with pytest.raises(TemplateError) as error:
        evaluate(source)
    assert "template result too large" in error.value.reason
    assert "in config.value" in str(error.value)


def test_integers_up_to_pythons_text_limit_are_fine() -> None:
    assert evaluate("{{ 9 ** 4000 }}") == 9**4000
    assert len(str(evaluate("{{ 9 ** 4000 }}"))) <= MAX_INT_DIGITS


def test_the_size_limit_comes_from_the_budget() -> None:
    assert evaluate("{{ 'a' * 1000 }}", TemplateBudget(max_bytes=1000)) == "a" * 1000
    with pytest.raises(TemplateError, match=r"repetition would be 1,001 bytes \(limit 1,000"):
        evaluate("{{ 'a' * 1001 }}", TemplateBudget(max_bytes=1000))
    with pytest.raises(TemplateError, match="the text would be"):
        evaluate("{% for i in params.lst %}abc{% endfor %}", TemplateBudget(max_bytes=1000))


def test_normal_templates_are_untouched_by_the_guards() -> None:
    assert evaluate("{{ params.s * 3 }}") == "ababab"
    assert evaluate("{{ params.s ~ '-' ~ params.n }}") == "ab-10"
    assert evaluate("{{ '%05d' % params.n }}") == "00010"
    assert evaluate("{{ '{:>4}'.format(params.n) }}") == "  10"
    assert evaluate("{{ params.lst[:3] | join(', ') }}") == "0, 1, 2"
    assert evaluate("{{ params.s | center(6) }}") == "  ab  "
    assert evaluate("{{ params.lst[:3] | map('string') | list }}") == ["0", "1", "2"]
    assert evaluate("{% for i in params.lst[:3] %}{{ i }}{% endfor %}") == "012"
    assert evaluate("{{ 2 ** 10 + 1 }}") == 1025


@pytest.mark.parametrize(
    "source",
    [
        "{% for a in params.lst %}{% for b in params.lst %}{% for c in params.lst %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    ],
    ids=["nested-loops", "exponential-macro"],
)
def test_a_template_past_its_deadline_stops_with_the_timeout_in_the_message(source: str) -> None:
    budget = TemplateBudget(timeout_s=5, clock=SteppingClock())
    with pytest.raises(TemplateError, match=r"template took longer than 5 s"):
        evaluate(source, budget)


def test_stop_from_another_thread_ends_a_running_evaluation() -> None:
    budget = TemplateBudget()  # no deadline: only stop() ends it
    source = "{% for a in params.lst %}{% for b in params.lst %}{% for c in params.lst %}{% endfor %}{% endfor %}{% endfor %}"
    failure: list[BaseException] = []
    started = threading.Event()

    def work() -> None:
        started.set()
        try:
            evaluate(source, budget)
        except TemplateError as exc:
            failure.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    started.wait()
    budget.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "stopped" in str(failure[0])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ params.lst | map('abs') }}", "the value is a generator, not JSON: add `| list`"),
        ("{{ params.d.items() }}", "the value is a dict_items, not JSON: add `| list`"),
        ("{{ self }}", "the value is a TemplateReference, not JSON"),
        ("{{ ''.join }}", "the value is a function (builtin_function_or_method), not data"),
        ("{{ [params.d.keys()] }}", "the value is a dict_keys, not JSON: add `| list`"),
    ],
)
def test_a_value_that_is_not_json_names_its_type(source: str, expected: str) -> None:
    with pytest.raises(TemplateError) as error:
        evaluate(source)
    assert expected in error.value.reason


def test_undefined_inside_a_list_is_still_an_undefined_error() -> None:
    with pytest.raises(TemplateError, match="undefined"):
        evaluate("{{ [params.nope] }}")


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 10**9 }}",
        "{{ 10 ** (10 ** 7) }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ '%1000000000d' % 1 }}",
    ],
)
def test_reading_a_template_folds_no_huge_constant(source: str) -> None:
    """jinja2 computes constant parts when it compiles; these must wait for evaluation (and
    fail there). Run under a 1 GB address-space limit by the corpus test; here, the proof is
    that compiling succeeds and evaluating fails on the limit rather than on memory."""
    compiled = compile_template(source)
    with pytest.raises(TemplateError, match="too large"):
        compiled.evaluate({"params": {}}, "config.value", TemplateBudget())


def test_a_constant_that_fails_is_a_problem_of_the_template_when_it_is_read() -> None:
    with pytest.raises(TemplateError, match="undefined: str object has no element 0"):
        compile_template("{{ ''[0] ~ params.s }}")


def test_a_lone_surrogate_is_a_problem_of_the_template() -> None:
    with pytest.raises(TemplateError, match="lone surrogate"):
        compile_template("{{ '\ud800' ~ params.s }}")


def test_long_templates_are_shortened_in_messages() -> None:
    source = "{{ params.nope }}" + "x" * 500
    with pytest.raises(TemplateError) as error:
        evaluate(source)
    assert len(str(error.value)) < 250
