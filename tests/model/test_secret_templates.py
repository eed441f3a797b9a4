"""`secrets.NAME` in templates: names found before the run, other uses refused, a secret that is
not set is a warning in validation and fails the node with how to set it."""

from __future__ import annotations

import pytest
from conftest import workflow

from flowdesk.model import Rule, TemplateError, compile_template, validate_workflow
from flowdesk.model.secret_refs import ResolvedSecrets, SecretLookup, not_set_message

NOT_SET = "secret TOKEN is not set (flowdesk secrets set TOKEN, or FLOWDESK_SECRET_TOKEN)"


def test_secret_names_are_found_in_the_template_itself() -> None:
    template = compile_template(
        "Bearer {{ secrets.TOKEN }} {{ secrets['OTHER'] | upper }} {{ params.x }}"
    )
    assert template.secrets == {"TOKEN", "OTHER"}
    assert compile_template("{{ params.secrets }}").secrets == frozenset()


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ secrets[params.name] }}", "named in the template itself"),
        ("{{ secrets }}", "named in the template itself"),
        ("{% for s in secrets %}{{ s }}{% endfor %}", "named in the template itself"),
        ("{{ secrets['not-a-name'] }}", "'not-a-name' is not a valid secret name"),
    ],
)
def test_other_uses_of_secrets_are_template_errors(source: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason):
        compile_template(source)


def test_a_secret_that_is_not_set_fails_with_how_to_set_it() -> None:
    template = compile_template("Bearer {{ secrets.TOKEN }}")
    lookup = SecretLookup(ResolvedSecrets({"TOKEN": "v"}))
    assert template.evaluate({"secrets": lookup}) == "Bearer v"
    with pytest.raises(TemplateError) as caught:
        template.evaluate({"secrets": SecretLookup()}, "config.headers.Authorization")
    assert caught.value.reason == NOT_SET == not_set_message("TOKEN")
    assert "has no attribute" not in str(caught.value)


def test_the_lookup_reaches_no_attribute_and_shows_no_value() -> None:
    lookup = SecretLookup(ResolvedSecrets({"TOKEN": "v4lue"}))
    for source in ("{{ secrets.values }}", "{{ secrets.items() }}", "{{ secrets._resolved }}"):
        with pytest.raises(TemplateError) as caught:
            compile_template(source).evaluate({"secrets": lookup})
        assert "v4lue" not in str(caught.value)
    assert "v4lue" not in repr(lookup) + str(lookup)


def test_validation_warns_about_secrets_not_set_and_accepts_the_name(config_models) -> None:
    definition = workflow(
        {
            "id": "call",
            "handler": "call_external_service",
            "config": {
                "url": "http://127.0.0.1/{{ secrets.SET }}",
                "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"},
            },
        }
    )
    problems = validate_workflow(definition, config_models, secret_is_set={"SET"}.__contains__)
    assert [(p.rule, p.message, p.location, p.warning) for p in problems] == [
        (Rule.SECRET_NOT_SET, NOT_SET, "config.headers.Authorization", True)
    ]
    assert validate_workflow(definition, config_models) == []  # no lookup: no opinion


def test_secrets_is_a_reserved_node_id(config_models) -> None:
    problems = validate_workflow(workflow({"id": "secrets", "handler": "input"}), config_models)
    assert [p.rule for p in problems] == [Rule.RESERVED_ID]
