"""`python -m chatdesk` and the installed `chatdesk` script: the command line (which opens the
app when given no command), started with the garbage collector paused (see
chatdesk.pause_gc_for_start_up)."""

from typing import NoReturn

from chatdesk import pause_gc_for_start_up


def main() -> NoReturn:
    pause_gc_for_start_up()
    from chatdesk.cli import run  # its imports are most of the start-up

    run()


if __name__ == "__main__":
    main()
