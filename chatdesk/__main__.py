"""`python -m chatdesk` runs the command line (which opens the app when given no command)."""

from chatdesk.cli import run

run()
