"""The Node panel's "Advanced" group: "Run when" (the node's `when`), "Join rule", the
map fields "Map over", "Max items" and "On item failure", and the cache rows "Cache output"
and "Max age" (gui/cache_fields.py).

"Run when" and "Map over" are checked as they are typed, with the same rules validation
applies to config templates (syntax, upstream nodes only); a value that fails (and a max
items that is not a whole number) stays red with the reason and is not written to the
document.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from flowdesk.gui import theme
from flowdesk.gui.cache_fields import ApplyCache, CacheFields
from flowdesk.model import (
    ITEM_FAILURE_MODES,
    TRIGGER_RULES,
    Rule,
    WorkflowDefinition,
    errors_only,
    validate_workflow,
)
from flowdesk.model.workflow import DEFAULT_MAX_ITEMS

DEFAULT_LABEL = "all_success (default)"
RULE_HELP = {
    "all_success": "every dependency succeeded",
    "all_done": "whatever its dependencies ended as",
    "one_success": "at least one dependency succeeded",
    "none_failed": "no dependency failed (skipped ones are fine)",
    "none_failed_min_one_success": "the join after a branch: one succeeded, none failed",
}
WHEN_RULES = {Rule.TEMPLATE_SYNTAX, Rule.TEMPLATE_NAME, Rule.INVALID_CONDITION}
FAIL_LABEL = "fail (default)"
ITEM_FAILURE_HELP = {
    "fail": "the node fails once every item is final, naming the failed items",
    "skip": "a failed item's output is null and the node succeeds (the failures are kept)",
}
ApplyFlow = Callable[[str | None, str | None], None]
ApplyMap = Callable[[str | None, int | None, str | None], None]
"""(map_over, max_items (None: the default), on_item_failure (None: fail))."""


def when_problem(definition: WorkflowDefinition, node_id: str, when: str | None) -> str | None:
    """Why `when` cannot be the condition of `node_id`, or None (validation's own rules)."""
    if when is None:
        return None
    node = definition.node(node_id).model_copy(update={"when": when, "config": {}})
    only = WorkflowDefinition(
        name=definition.name,
        dag=definition.dag.model_copy(
            update={"nodes": [node if n.id == node_id else n for n in definition.nodes]}
        ),
    )
    problems = [
        p
        for p in validate_workflow(only, {})
        if p.node_id == node_id and p.location == "when" and p.rule in WHEN_RULES
    ]
    return "; ".join(p.message for p in problems) or None


def map_over_problem(
    definition: WorkflowDefinition, node_id: str, map_over: str | None
) -> str | None:
    """Why `map_over` cannot be the list of `node_id`, or None (validation's own rules: a
    template, its syntax, upstream nodes only, no `item` in it)."""
    if map_over is None:
        return None
    node = definition.node(node_id).model_copy(update={"map_over": map_over})
    only = definition.model_copy(
        update={
            "dag": definition.dag.model_copy(
                update={"nodes": [node if n.id == node_id else n for n in definition.nodes]}
            )
        }
    )
    problems = [
        p
        for p in errors_only(validate_workflow(only, {}))
        if p.node_id == node_id and p.location == "map_over"
    ]
    return "; ".join(p.message for p in problems) or None


def parse_max_items(text: str) -> tuple[int | None, str | None]:
    """(max items, or None for the default when empty; why the text is not one)."""
    cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
    if not cleaned:
        return None, None
    if not cleaned.isdigit():
        return None, "must be a whole number, 0 or more (empty: 10,000)"
    return int(cleaned), None


class FlowFields(QGroupBox):
    """ "Run when", "Join rule", the map fields and the cache rows of one node;
    `apply(when, rule)`, `apply_map(map_over, max_items, on_item_failure)` and
    `apply_cache(cache)` write them."""

    def __init__(
        self,
        apply: ApplyFlow,
        apply_map: ApplyMap | None = None,
        apply_cache: ApplyCache | None = None,
    ) -> None:
        super().__init__("Advanced")
        self.setObjectName("advanced")
        self._apply = apply
        self._apply_map = apply_map
        self._definition: WorkflowDefinition | None = None
        self._node_id = ""
        form = QFormLayout(self)
        self.when = QLineEdit()
        self.when.setObjectName("run_when")
        self.when.setPlaceholderText("{{ get_user.body.active }}  (empty: always)")
        self.when.setToolTip(
            "A template evaluated once the node may run: when its value is falsy the node is"
            " SKIPPED (condition false). A skipped upstream node is none in it."
        )
        self.when_message = _error_label()
        self.rule = QComboBox()
        self.rule.setObjectName("join_rule")
        # The longest rule's name must not widen the panel (it scrolls sideways then).
        self.rule.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.rule.setMinimumContentsLength(10)
        self.rule.addItem(DEFAULT_LABEL, None)
        for name in TRIGGER_RULES[1:]:
            self.rule.addItem(name, name)
        for index in range(self.rule.count()):
            name = self.rule.itemData(index) or TRIGGER_RULES[0]
            self.rule.setItemData(index, f"Runs when {RULE_HELP[name]}.", 3)  # ToolTipRole
        form.addRow("Run when", self.when)
        form.addRow("", self.when_message)
        form.addRow("Join rule", self.rule)
        self._build_map_fields(form)
        self.cache = CacheFields(form, apply_cache)
        self.when.editingFinished.connect(self.commit_flow)
        self.rule.activated.connect(lambda _index: self.commit_flow())
        self.map_over.editingFinished.connect(self.commit_map)
        self.max_items.editingFinished.connect(self.commit_map)
        self.item_failure.activated.connect(lambda _index: self.commit_map())

    def _build_map_fields(self, form: QFormLayout) -> None:
        self.map_over = QLineEdit()
        self.map_over.setObjectName("map_over")
        self.map_over.setPlaceholderText("{{ get_users.body }}  (empty: runs once)")
        self.map_over.setToolTip(
            "A template giving a list: the node runs once per item, with {{ item }} and"
            " {{ item_index }} in its config. Its output is the list of item outputs."
        )
        self.map_message = _error_label()
        self.max_items = QLineEdit()
        self.max_items.setObjectName("max_items")
        self.max_items.setPlaceholderText(f"{DEFAULT_MAX_ITEMS:,} (default)")
        self.max_items.setToolTip("A longer list fails the node before any item runs.")
        self.max_items_message = _error_label()
        self.item_failure = QComboBox()
        self.item_failure.setObjectName("on_item_failure")
        self.item_failure.addItem(FAIL_LABEL, None)
        for name in ITEM_FAILURE_MODES[1:]:
            self.item_failure.addItem(name, name)
        for index in range(self.item_failure.count()):
            name = self.item_failure.itemData(index) or ITEM_FAILURE_MODES[0]
            self.item_failure.setItemData(
                index, f"When an item fails: {ITEM_FAILURE_HELP[name]}.", 3
            )
        form.addRow("Map over", self.map_over)
        form.addRow("", self.map_message)
        form.addRow("Max items", self.max_items)
        form.addRow("", self.max_items_message)
        form.addRow("On item failure", self.item_failure)

    def load(self, definition: WorkflowDefinition, node_id: str) -> None:
        """Show the node's values, except a field the user is typing in (or whose text was
        refused: it stays red)."""
        self._definition, self._node_id = definition, node_id
        spec = definition.node(node_id)
        if not self.when.hasFocus() and not self.when_message.text():
            self.when.setText(spec.when or "")
            self._set_error(None)
        if not self.map_over.hasFocus() and not self.map_message.text():
            self.map_over.setText(spec.map_over or "")
        if not self.max_items.hasFocus() and not self.max_items_message.text():
            shown = "" if spec.max_items == DEFAULT_MAX_ITEMS else str(spec.max_items)
            self.max_items.setText(shown)
        failure = self.item_failure.findData(spec.on_item_failure) if spec.on_item_failure else 0
        if failure < 0:  # a value this version does not know: show it, validation names it
            self.item_failure.addItem(f"{spec.on_item_failure} (unknown)", spec.on_item_failure)
            failure = self.item_failure.count() - 1
        self.item_failure.setCurrentIndex(failure)
        index = self.rule.findData(spec.trigger_rule) if spec.trigger_rule else 0
        if index < 0:  # a rule this version does not know: show it, validation names it
            self.rule.addItem(f"{spec.trigger_rule} (unknown)", spec.trigger_rule)
            index = self.rule.count() - 1
        self.rule.setCurrentIndex(index)
        self.cache.load(spec.cache)

    def _typed_when(self) -> str | None:
        return self.when.text().strip() or None

    def _typed_map(self) -> tuple[str | None, int | None, str | None]:
        """(map over, max items, its parse error); max items None means the default."""
        max_items, error = parse_max_items(self.max_items.text())
        return self.map_over.text().strip() or None, max_items, error

    def is_pending(self) -> bool:
        """Some text shown here is not what the document holds."""
        if self._definition is None:
            return False
        spec = self._definition.node(self._node_id)
        map_over, max_items, error = self._typed_map()
        return (
            self._typed_when() != spec.when
            or map_over != spec.map_over
            or error is not None
            or (DEFAULT_MAX_ITEMS if max_items is None else max_items) != spec.max_items
            or self.cache.is_pending()
        )

    def pending_error(self) -> str | None:
        problem = self.pending_problem()
        return problem[2] if problem else None

    def pending_problem(self) -> tuple[QWidget, str, str] | None:
        """(the field, its label, why its text was refused) of the first refused field."""
        for widget, label, message in (
            (self.when, "run when", self.when_message),
            (self.map_over, "map over", self.map_message),
            (self.max_items, "max items", self.max_items_message),
        ):
            if message.text():
                return widget, label, message.text()
        refused = self.cache.problem()
        return (self.cache.max_age, "max age", refused) if refused else None

    def commit(self) -> None:
        """Apply every field (a run or a save is about to use the document)."""
        self.commit_flow()
        self.commit_map()
        self.cache.commit()

    def commit_flow(self) -> None:
        if self._definition is None:
            return
        when = self._typed_when()
        error = when_problem(self._definition, self._node_id, when)
        self._set_error(error)
        if error:
            return
        spec = self._definition.node(self._node_id)
        rule = self.rule.currentData()
        if (when, rule) != (spec.when, spec.trigger_rule):
            self._apply(when, rule)

    def commit_map(self) -> None:
        if self._definition is None or self._apply_map is None:
            return
        map_over, max_items, max_error = self._typed_map()
        map_error = map_over_problem(self._definition, self._node_id, map_over)
        _show_error(self.map_over, self.map_message, map_error)
        _show_error(self.max_items, self.max_items_message, max_error)
        if map_error or max_error:
            return
        spec = self._definition.node(self._node_id)
        failure = self.item_failure.currentData()
        wanted = (map_over, DEFAULT_MAX_ITEMS if max_items is None else max_items, failure)
        if wanted != (spec.map_over, spec.max_items, spec.on_item_failure):
            self._apply_map(map_over, max_items, failure)

    def _set_error(self, message: str | None) -> None:
        _show_error(self.when, self.when_message, message)


def _error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(theme.ERROR_TEXT_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def _show_error(field: QLineEdit, label: QLabel, message: str | None) -> None:
    field.setStyleSheet(theme.INVALID_FIELD_STYLE if message else "")
    label.setText(message or "")
    label.setVisible(bool(message))
