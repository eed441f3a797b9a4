"""Run > Execute on: handlers in this process, or on Celery workers through a broker; the choice
is remembered, and the status bar shows how many live workers consume the queue.

The choice becomes the run service's executor for the next run; a run already going keeps
the executor it started with. Celery is imported only once the user chooses workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QMenu, QWidget

from flowdesk.gui.files import Dialogs
from flowdesk.runs import RunService

if TYPE_CHECKING:
    from flowdesk.scaleout import CeleryExecutor

MODE_KEY, BROKER_KEY = "execute_on/mode", "execute_on/broker"
LOCAL, CELERY = "local", "celery"
WORKERS_REFRESH_MS = 2000


class ExecuteOn(QObject):
    """The menu, the status-bar count and the executor they choose."""

    def __init__(
        self,
        parent: QWidget,
        *,
        service: RunService,
        settings: QSettings,
        dialogs: Dialogs,
        message: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.service = service
        self.settings = settings
        self.dialogs = dialogs
        self.message = message
        self.executor: CeleryExecutor | None = None
        self.menu = QMenu("Execute &on", parent)
        group = QActionGroup(self)
        self.act_local = QAction("This process", self, checkable=True)
        self.act_celery = QAction("Celery workers…", self, checkable=True)
        for action in (self.act_local, self.act_celery):
            group.addAction(action)
            self.menu.addAction(action)
        self.act_local.triggered.connect(lambda _checked=False: self.use_local())
        self.act_celery.triggered.connect(lambda _checked=False: self.ask_broker())
        self.workers_label = QLabel()
        self._timer = QTimer(self)
        self._timer.setInterval(WORKERS_REFRESH_MS)
        self._timer.timeout.connect(self.show_workers)
        if settings.value(MODE_KEY, LOCAL) == CELERY:
            self.use_celery(self.broker)
        else:
            self.use_local()

    @property
    def broker(self) -> str:
        """The remembered broker URL, else $FLOWDESK_BROKER, else the local default."""
        from flowdesk.scaleout.config import broker_url

        return str(self.settings.value(BROKER_KEY, "") or broker_url())

    def ask_broker(self) -> None:
        url, ok = QInputDialog.getText(
            self._parent,
            "Execute on Celery workers",
            "Broker URL (start one on this machine with `flowdesk broker`, and workers with "
            "`flowdesk worker`):",
            QLineEdit.EchoMode.Normal,
            self.broker,
        )
        if ok and url.strip():
            self.use_celery(url.strip())
            self.ready()
        else:  # keep what was chosen before
            (self.act_celery if self.executor else self.act_local).setChecked(True)

    def use_local(self) -> None:
        self._close_executor()
        self.settings.setValue(MODE_KEY, LOCAL)
        self.act_local.setChecked(True)
        self.act_celery.setText("Celery workers…")
        self.workers_label.hide()
        self._timer.stop()

    def use_celery(self, url: str) -> None:
        """Send the next runs' handler calls to workers on `url` (checked when a run starts)."""
        from flowdesk.scaleout import CeleryExecutor, ScaleoutSettings, shown_url

        self._close_executor()
        self.executor = CeleryExecutor(ScaleoutSettings(broker_url=url))
        self.executor.start()
        self.service.executor = self.executor
        self.settings.setValue(MODE_KEY, CELERY)
        self.settings.setValue(BROKER_KEY, url)
        self.act_celery.setChecked(True)
        self.act_celery.setText(f"Celery workers ({shown_url(url)})…")
        self.workers_label.show()
        self.show_workers()
        self._timer.start()

    def ready(self) -> bool:
        """Before a run starts: with workers chosen, the broker must answer (else a dialog
        naming it, and nothing runs)."""
        if self.executor is None:
            return True
        from flowdesk.scaleout import BrokerUnreachable

        try:
            self.executor.check(timeout_s=2.0)
        except BrokerUnreachable as exc:
            self.dialogs.error(self._parent, "Celery workers", str(exc))
            return False
        return True

    def show_workers(self) -> None:
        if self.executor is None:
            return
        count = self.executor.live_workers()
        self.workers_label.setText(f"Workers: {count}")
        self.workers_label.setToolTip(
            f"Live FlowDesk workers consuming queue '{self.executor.settings.queue}' on "
            f"{self.executor.settings.shown_broker}"
        )

    def close(self) -> None:
        self._timer.stop()
        self._close_executor()

    def _close_executor(self) -> None:
        self.service.executor = None
        if self.executor is not None:
            self.executor.close()
            self.executor = None
