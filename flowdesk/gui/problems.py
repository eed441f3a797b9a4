"""Live validation: debounced `validate_workflow` runs, a problems list, and per-node summaries."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from flowdesk.engine import HandlerRegistry
from flowdesk.gui import theme
from flowdesk.gui.document import WorkflowDocument
from flowdesk.model import Problem, validate_workflow
from flowdesk.model.validation import SecretIsSet

DEBOUNCE_MS = 150
NODE_ROLE = Qt.ItemDataRole.UserRole + 1


class LiveValidator(QObject):
    """Re-validates the document shortly after the last edit, so typing stays smooth."""

    problems_changed = Signal(list)  # list[Problem]

    def __init__(
        self,
        document: WorkflowDocument,
        registry: HandlerRegistry,
        secret_is_set: SecretIsSet | None = None,
    ) -> None:
        """With `secret_is_set`, a secret a template reads that is not set is a warning."""
        super().__init__(document)
        self.document = document
        self.config_models = registry.config_models()
        self.secret_is_set = secret_is_set
        self.problems: list[Problem] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.validate_now)
        document.changed.connect(lambda _diff: self.timer.start())

    def validate_now(self) -> list[Problem]:
        self.timer.stop()
        self.problems = validate_workflow(
            self.document.definition, self.config_models, self.secret_is_set
        )
        self.problems_changed.emit(self.problems)
        return self.problems


def problems_by_node(problems: list[Problem]) -> dict[str, tuple[str, bool]]:
    """Node id -> (tooltip text, has an error), for outlining nodes on the canvas."""
    found: dict[str, tuple[list[str], bool]] = {}
    for problem in problems:
        for node_id in problem.nodes:
            lines, is_error = found.get(node_id, ([], False))
            lines.append(_describe(problem))
            found[node_id] = (lines, is_error or not problem.warning)
    return {node: ("\n".join(lines), is_error) for node, (lines, is_error) in found.items()}


def _describe(problem: Problem) -> str:
    kind = "warning" if problem.warning else "error"
    where = f"{problem.location}: " if problem.location else ""
    return f"{kind}: {where}{problem.message}"


class ProblemsList(QListWidget):
    """Every problem of the document; activating one selects its node."""

    node_activated = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.itemClicked.connect(self._activate)
        self.itemActivated.connect(self._activate)

    def show_problems(self, problems: list[Problem]) -> None:
        self.clear()
        if not problems:
            item = QListWidgetItem("No problems.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(item)
            return
        for problem in problems:
            item = QListWidgetItem(str(problem))
            item.setData(NODE_ROLE, problem.node_id)
            item.setToolTip(problem.message)
            item.setForeground(
                QColor(*(theme.WARNING_COLOR if problem.warning else theme.ERROR_COLOR))
            )
            self.addItem(item)

    def _activate(self, item: QListWidgetItem) -> None:
        node_id = item.data(NODE_ROLE)
        if node_id:
            self.node_activated.emit(node_id)
