"""Unsent text the command line could not send, kept in DIR/drafts.json for the app to pick up.

Keys are a conversation id, or "new" for a message that would have started one (as in the
app's own drafts). A second draft for the same conversation is added below the first, so
nothing typed is lost. The app
reads the file at start-up, moves each draft into its composer's drafts and empties it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from chatdesk.paths import PRIVATE_FILE_MODE

FILE_NAME = "drafts.json"
NEW_CHAT = "new"


def draft_path(root: Path) -> Path:
    return Path(root) / FILE_NAME


def read_drafts(root: Path) -> dict[str, str]:
    """The drafts kept; a missing or unreadable file holds none."""
    try:
        data = json.loads(draft_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items()
            if isinstance(v, str) and v.strip() and (k == NEW_CHAT or k.isdigit())}


def save_draft(root: Path, conversation_id: int | None, text: str) -> Path:
    """Keep `text` as the draft of a conversation (None: of a new one). Raises OSError."""
    drafts = read_drafts(root)
    key = NEW_CHAT if conversation_id is None else str(conversation_id)
    earlier = drafts.get(key, "")
    drafts[key] = f"{earlier}\n\n{text}" if earlier and earlier != text else text
    _write(draft_path(root), drafts)
    return draft_path(root)


def take_drafts(root: Path) -> dict[str, str]:
    """The drafts kept, and the file emptied (the app holds them from now on)."""
    drafts = read_drafts(root)
    if drafts:
        try:
            draft_path(root).unlink()
        except OSError:
            return {}  # left for the next start rather than shown twice
    return drafts


def _write(path: Path, drafts: dict[str, str]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".drafts-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(drafts, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if os.name == "posix":
            os.chmod(tmp, PRIVATE_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
