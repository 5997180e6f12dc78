"""`python -m chatdesk` runs the command line (which opens the app when given no command)."""

import chatdesk

chatdesk.defer_gc()  # before the command line's imports (see chatdesk.defer_gc)

from chatdesk.cli import run  # noqa: E402

run()
