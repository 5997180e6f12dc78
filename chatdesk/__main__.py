"""`python -m chatdesk` and the installed `chatdesk` script: the command line (which opens the
app when given no command), started as chatdesk.begin_start_up says."""

from typing import NoReturn

from chatdesk import begin_start_up


def main() -> NoReturn:
    begin_start_up()
    from chatdesk.cli import run  # its imports are most of the start-up

    run()


if __name__ == "__main__":
    main()
