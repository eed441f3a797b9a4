"""The Node panel's "Advanced" group: "Run when" (the node's `when`) and "Join rule".

"Run when" is checked as it is typed, with the same rules validation applies to
config templates (syntax, upstream nodes only); a value that fails stays red with
the reason and is not written to the document.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit

from flowdesk.gui import theme
from flowdesk.model import TRIGGER_RULES, Rule, WorkflowDefinition, validate_workflow

DEFAULT_LABEL = "all_success (default)"
RULE_HELP = {
    "all_success": "every dependency succeeded",
    "all_done": "whatever its dependencies ended as",
    "one_success": "at least one dependency succeeded",
    "none_failed": "no dependency failed (skipped ones are fine)",
    "none_failed_min_one_success": "the join after a branch: one succeeded, none failed",
}
WHEN_RULES = {Rule.TEMPLATE_SYNTAX, Rule.TEMPLATE_NAME, Rule.INVALID_CONDITION}
ApplyFlow = Callable[[str | None, str | None], None]


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


class FlowFields(QGroupBox):
    """ "Run when" and "Join rule" of one node; `apply(when, rule)` writes both."""

    def __init__(self, apply: ApplyFlow) -> None:
        super().__init__("Advanced")
        self.setObjectName("advanced")
        self._apply = apply
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
        self.when_message = QLabel()
        self.when_message.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.when_message.setWordWrap(True)
        self.when_message.hide()
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
        self.when.editingFinished.connect(self.commit)
        self.rule.activated.connect(lambda _index: self.commit())

    def load(self, definition: WorkflowDefinition, node_id: str) -> None:
        """Show the node's values, unless the user is typing a condition (or it was refused)."""
        self._definition, self._node_id = definition, node_id
        spec = definition.node(node_id)
        if not self.when.hasFocus() and not self.pending_error():
            self.when.setText(spec.when or "")
            self._set_error(None)
        index = self.rule.findData(spec.trigger_rule) if spec.trigger_rule else 0
        if index < 0:  # a rule this version does not know: show it, validation names it
            self.rule.addItem(f"{spec.trigger_rule} (unknown)", spec.trigger_rule)
            index = self.rule.count() - 1
        self.rule.setCurrentIndex(index)

    def _typed_when(self) -> str | None:
        return self.when.text().strip() or None

    def is_pending(self) -> bool:
        if self._definition is None:
            return False
        return self._typed_when() != self._definition.node(self._node_id).when

    def pending_error(self) -> str | None:
        return self.when_message.text() if not self.when_message.isHidden() else None

    def commit(self) -> None:
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

    def _set_error(self, message: str | None) -> None:
        self.when.setStyleSheet(theme.INVALID_FIELD_STYLE if message else "")
        self.when_message.setText(message or "")
        self.when_message.setVisible(bool(message))
