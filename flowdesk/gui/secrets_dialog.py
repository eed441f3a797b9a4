"""Edit > Secrets…: the secrets templates read as `secrets.NAME`, by name and source.

A value is typed into a password field and goes straight to the keyring; the field is
cleared at once, and no value is ever shown or read back (the list holds names only).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flowdesk.gui import theme
from flowdesk.model.secret_refs import env_var, name_problem
from flowdesk.secrets import SecretSource, SecretStore, SecretStoreError

SOURCE_TEXT = {
    SecretSource.KEYRING: "keyring",
    SecretSource.ENVIRONMENT: "environment",
    SecretSource.BOTH: "environment (wins) and keyring",
}


class SecretsDialog(QDialog):
    """Lists names and sources; sets (adds or replaces) and deletes keyring values."""

    changed = Signal()  # a secret was set or deleted: validation should look again

    def __init__(self, parent: QWidget | None, store: SecretStore) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Secrets")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Name", "Source"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.name = QLineEdit()
        self.name.setPlaceholderText("GITHUB_TOKEN")
        self.value = QLineEdit()
        self.value.setEchoMode(QLineEdit.EchoMode.Password)
        self.value.setPlaceholderText("the value (never shown)")
        self.set_button = QPushButton("Set")
        self.set_button.setToolTip("Keep this value in the keyring (replaces one set before)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected secret from the keyring")
        self.set_button.clicked.connect(self.set_secret)
        self.delete_button.clicked.connect(self.delete_selected)
        self.name.textChanged.connect(self._update_buttons)
        self.value.textChanged.connect(self._update_buttons)
        self.value.returnPressed.connect(self.set_secret)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Value", self.value)
        row = QHBoxLayout()
        row.addWidget(self.set_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Templates read these as {{ secrets.NAME }}; values are masked."))
        layout.addWidget(self.table)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.resize(480, 380)
        self.refresh()

    def refresh(self) -> None:
        """List names and sources again (never values)."""
        infos = self.store.list()
        self.table.setRowCount(len(infos))
        for row, info in enumerate(infos):
            self.table.setItem(row, 0, QTableWidgetItem(info.name))
            self.table.setItem(row, 1, QTableWidgetItem(SOURCE_TEXT[info.source]))
        problem = self.store.keyring_problem()
        self.note.setText(
            problem
            if problem
            else f"Values are kept in the keyring ({self.store.keyring_name()}). "
            f"{env_var('NAME')} in the environment wins over it."
        )
        self._update_buttons()

    def set_secret(self) -> None:
        name, value = self.name.text().strip(), self.value.text()
        self.value.clear()  # the value lives in the field no longer than needed
        problem = name_problem(name)
        if problem is not None or not value:
            self._say(problem or f"Type a value for {name}", error=True)
            return
        try:
            self.store.set(name, value)
        except (SecretStoreError, ValueError) as exc:
            self._say(str(exc), error=True)
            return
        shadowed = self.store.from_environment(name) is not None
        self._say(
            f"{name} set in the keyring"
            + (f" ({env_var(name)} in the environment still wins)" if shadowed else "")
        )
        self.refresh()
        self.changed.emit()

    def delete_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        try:
            held = self.store.delete(name)
        except SecretStoreError as exc:
            self._say(str(exc), error=True)
            return
        if not held:
            self._say(f"{name} comes from the environment ({env_var(name)}): unset it there")
            return
        self._say(f"{name} deleted from the keyring")
        self.refresh()
        self.changed.emit()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def _on_selection(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.name.setText(name)  # ready to replace its value
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.set_button.setEnabled(bool(self.name.text().strip() and self.value.text()))
        self.delete_button.setEnabled(self.selected_name() is not None)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet(theme.ERROR_TEXT_STYLE if error else "")
        self.status.setText(text)
