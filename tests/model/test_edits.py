"""The pure document rules behind every editor command (flowdesk.model.edits, no Qt)."""

from __future__ import annotations

import pytest

from flowdesk.model import NodeSpec, WorkflowDefinition, edits


def workflow(*nodes: NodeSpec) -> WorkflowDefinition:
    return WorkflowDefinition(name="w", dag={"nodes": list(nodes)})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ old.x }}", "{{ new.x }}"),
        ("{{old}}", "{{new}}"),
        ("a {{ old['k'] | default(old2) }} b", "a {{ new['k'] | default(old2) }} b"),
        ("{% if old %}{{ old.body }}{% endif %}", "{% if new %}{{ new.body }}{% endif %}"),
        ("{{ a.old }} {{ 'old' }} old {{ x | old }}", "{{ a.old }} {{ 'old' }} old {{ x | old }}"),
        ("{{ older.x }} {{ old_x }}", "{{ older.x }} {{ old_x }}"),
        ("line\n{{ old }}\n", "line\n{{ new }}\n"),
        ('{{ old "x }}', '{{ old "x }}'),  # does not lex: left alone, validation reports it
        ("{{ old", "{{ new"),  # lexes (unfinished): the reference still follows the rename
        ("{# old #}{% raw %}{{ old }}{% endraw %}", "{# old #}{% raw %}{{ old }}{% endraw %}"),
        ("plain old text", "plain old text"),
    ],
)
def test_rewrite_template(source, expected):
    assert edits.rewrite_template(source, "old", "new") == expected


def test_rename_rewrites_nested_config_dependencies_and_layout():
    definition = workflow(
        NodeSpec(id="old", handler="input"),
        NodeSpec(
            id="b",
            handler="transform",
            dependencies=["old"],
            config={"value": {"list": ["{{ old.a }}", 3], "keep": "old"}},
        ),
    ).model_copy(update={"layout": {"old": (1.0, 2.0)}})
    renamed = edits.rename_node(definition, "old", "fresh")
    assert renamed.node("b").dependencies == ["fresh"]
    assert renamed.node("b").config == {"value": {"list": ["{{ fresh.a }}", 3], "keep": "old"}}
    assert renamed.layout == {"fresh": (1.0, 2.0)}
    assert definition.node("b").dependencies == ["old"]  # the input is not changed


@pytest.mark.parametrize("bad", ["1x", "with space", "params", "class", "b"])
def test_rename_refuses_bad_ids(bad):
    definition = workflow(NodeSpec(id="a", handler="input"), NodeSpec(id="b", handler="input"))
    with pytest.raises(edits.EditRefused):
        edits.rename_node(definition, "a", bad)


def test_connect_refuses_cycles_and_self_loops():
    definition = workflow(
        NodeSpec(id="a", handler="input"),
        NodeSpec(id="b", handler="output", dependencies=["a"]),
        NodeSpec(id="c", handler="output", dependencies=["b"]),
    )
    with pytest.raises(edits.EditRefused, match="cycle"):
        edits.connect(definition, "c", "a")
    with pytest.raises(edits.EditRefused, match="itself"):
        edits.connect(definition, "a", "a")
    assert edits.connect(definition, "a", "c").node("c").dependencies == ["b", "a"]
    assert edits.connect(definition, "a", "b") is definition  # already wired


def test_unique_id_and_paste():
    assert edits.unique_id("get user", ["get_user"]) == "get_user_2"
    assert edits.unique_id("9lives", []) == "n_9lives"
    assert edits.unique_id("params", []) == "params_node"
    definition = workflow(
        NodeSpec(id="a", handler="input"),
        NodeSpec(id="b", handler="transform", dependencies=["a"], config={"value": "{{ a }}"}),
    )
    pasted, ids = edits.paste_nodes(definition, list(definition.nodes), {"a": (0, 0)})
    assert ids == ["a_2", "b_2"]
    assert pasted.node("b_2").dependencies == ["a_2"]
    assert pasted.node("b_2").config == {"value": "{{ a_2 }}"}
    assert pasted.layout["a_2"] == (40.0, 40.0)


def test_auto_layout_and_remove():
    definition = workflow(
        NodeSpec(id="a", handler="input"),
        NodeSpec(id="b", handler="output", dependencies=["a"]),
        NodeSpec(id="c", handler="output", dependencies=["a"]),
    )
    laid_out, note = edits.auto_layout(definition)
    laid = laid_out.layout
    assert note is None
    assert laid["a"][0] < laid["b"][0] == laid["c"][0]
    assert laid["b"][1] != laid["c"][1]
    removed = edits.remove_nodes(laid_out, ["a"])
    assert [n.id for n in removed.nodes] == ["b", "c"]
    assert removed.node("b").dependencies == []
    assert set(removed.layout) == {"b", "c"}


def test_dedupe_ids():
    definition = workflow(NodeSpec(id="a", handler="input"), NodeSpec(id="a", handler="input"))
    fixed, messages = edits.dedupe_ids(definition)
    assert [n.id for n in fixed.nodes] == ["a", "a_2"]
    assert len(messages) == 1


def test_rename_and_paste_follow_every_template_of_a_node():
    """`when` and `map_over` reference nodes too: a rename or a paste left them pointing at the
    old id (the map's list then failed validation as "not upstream")."""
    definition = workflow(
        NodeSpec(id="users", handler="input"),
        NodeSpec(
            id="each",
            handler="transform",
            dependencies=["users"],
            when="{{ users.active }}",
            map_over="{{ users.list }}",
            config={"value": "{{ item }}"},
        ),
    )
    renamed = edits.rename_node(definition, "users", "people").node("each")
    assert renamed.map_over == "{{ people.list }}" and renamed.when == "{{ people.active }}"

    pasted, ids = edits.paste_nodes(definition, list(definition.nodes), {})
    copy = pasted.node(ids[1])
    assert ids[0] != "users" and copy.dependencies == [ids[0]]
    assert copy.map_over == f"{{{{ {ids[0]}.list }}}}" and copy.when == f"{{{{ {ids[0]}.active }}}}"


def test_update_map_sets_and_clears_the_map_fields():
    definition = workflow(NodeSpec(id="each", handler="transform"))
    mapped = edits.update_map(definition, "each", "{{ params.xs }}", 5, "skip").node("each")
    assert (mapped.map_over, mapped.max_items, mapped.on_item_failure) == (
        "{{ params.xs }}",
        5,
        "skip",
    )
    plain = edits.update_map(definition, "each", None, None, None).node("each")
    assert plain.map_over is None and "max_items" not in plain.model_fields_set
