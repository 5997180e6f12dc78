"""The PySide6 desktop app: widgets bound to the core through signals."""
