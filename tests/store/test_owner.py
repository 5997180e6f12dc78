"""A claim's owner is alive, certainly dead, or unknown (another machine: the lease decides)."""

from __future__ import annotations

import subprocess
import sys

from chatdesk.store import owner


def _dead_owner() -> str:
    """The owner name of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "from chatdesk.store.owner import "
                           "this_process; print(this_process())"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_this_process_is_alive_and_an_ended_one_is_dead() -> None:
    assert not owner.is_dead(owner.this_process())
    gone = _dead_owner()
    assert gone != owner.this_process()
    assert owner.is_dead(gone)


def test_a_reused_pid_is_another_owner() -> None:
    host, pid, start = owner.this_process().split("/")
    if not start:  # this OS cannot tell start times: the lease decides instead
        return
    assert owner.is_dead(f"{host}/{pid}/{int(start) - 1}")


def test_unknown_owners_are_not_taken_for_dead() -> None:
    _, pid, start = owner.this_process().split("/")
    assert not owner.is_dead(f"other-machine/{pid}/{start}")
    assert not owner.is_dead(f"other-machine/{2**22 + 7}/1")
    assert not owner.is_dead(None) and not owner.is_dead("") and not owner.is_dead("garbage")
