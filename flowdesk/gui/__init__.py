"""The desktop editor (PySide6 + NodeGraphQt). Nothing outside flowdesk.gui imports it."""
