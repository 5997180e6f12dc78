"""Finding the conversations*.json files of an export (.zip, folder, file) and streaming them."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from chatdesk import wording
from chatdesk.attachment_files import (
    MAX_ATTACHMENT_BYTES,
    AttachmentError,
    attachment_from_bytes,
)
from chatdesk.parts import Attachment
from chatdesk.transfer.common import ImportedAttachment, ImportedConversation, ImportFormatError
from chatdesk.transfer.json_guard import MAX_DEPTH, JsonGuard, TooDeep

try:
    _ijson = ijson.get_backend("yajl2_c")
except ImportError:  # no compiled backend on this platform: the default one is slower but fine
    _ijson = ijson

_EXPORT_FILE = re.compile(r"conversations(?:-(\d+))?\.json", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


class _Counted:
    """A binary reader that counts bytes (for error positions) and drops a UTF-8 BOM."""

    def __init__(self, raw: JsonGuard) -> None:
        self.raw = raw
        self.pos = 0
        self.eof = False
        self.first: bytes = b""

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if size != 0 and not data:
            self.eof = True
        if self.pos == 0 and data:
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
                self.pos = len(_BOM)
            self.first = self.first or data.lstrip()[:1]
        self.pos += len(data)
        return data


class ExportFiles:
    """The files an export holds beside its conversations (ChatGPT's images, DALL·E
    pictures and uploads), found by the id its messages name them with."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # an id -> the file's name in the export
        self._members: dict[str, str] = {}  # an id -> its path in the zip or folder
        self._open: Callable[[str], IO[bytes]] | None = None

    def get(self, asset_id: str, default: str | None = None) -> str | None:
        return self.names.get(asset_id, default)

    def add(self, asset_id: str, base: str, member: str) -> None:
        if asset_id not in self.names:
            self.names[asset_id] = base
            self._members[asset_id] = member

    def attachment(self, asset_id: str, name: str) -> ImportedAttachment | None:
        """The file as an attachment named `name`, read when it is stored; None if the
        export does not hold it."""
        member = self._members.get(asset_id)
        opener = self._open
        if member is None or opener is None:
            return None

        def load() -> Attachment:
            try:
                with opener(member) as f:  # a bounded read: a zip entry may claim any size
                    data = f.read(MAX_ATTACHMENT_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
                raise AttachmentError(wording.attachment_unreadable(
                    name, "it is damaged in the export")) from None
            return attachment_from_bytes(name, data)

        return ImportedAttachment(name, load)


class ExportReader(Iterator[ImportedConversation]):
    """Streams the conversations of every `conversations*.json` in an export, one at a time.

    `files` lists the files read so far; `close()` releases the zip (done at the end).
    `others` opens the export's other files by their path in it (a zip or folder; for a
    conversations.json given on its own, the JSON files beside it). With `single`, a file
    holding one conversation as a JSON object (not a list) is that conversation; `foreign`
    is then asked about it with index 0 (the file itself).
    """

    def __init__(
        self,
        path: Path,
        product: str,
        convert: Callable[[dict[str, Any], ExportFiles], ImportedConversation],
        foreign: Callable[[int, dict[str, Any]], str | None],
        single: bool = False,
    ) -> None:
        self.path = Path(path)
        self.product = product
        self.files: list[str] = []
        self.assets = ExportFiles()
        self.others: dict[str, Callable[[], IO[bytes]]] = {}
        self._convert = convert
        self._foreign = foreign
        self._single = single
        self._zip: zipfile.ZipFile | None = None
        self._members = self._locate()
        self._items = self._run()

    def __next__(self) -> ImportedConversation:
        return next(self._items)

    def close(self) -> None:
        self._items.close()
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def _fail(self, where: str) -> ImportFormatError:
        return ImportFormatError(f"{self.path.name}: {where}")

    def _locate(self) -> list[tuple[str, Callable[[], IO[bytes]]]]:
        path = self.path
        if not path.exists():
            raise self._fail(f"there is no such file or folder — check the path ({path})")
        if path.is_dir():
            files = {str(p.relative_to(path)): p for p in path.rglob("*") if p.is_file()}
            names = list(files)

            def opener(name: str) -> Callable[[], IO[bytes]]:
                return lambda: files[name].open("rb")

            self.assets._open = lambda name: files[name].open("rb")

        elif zipfile.is_zipfile(path):
            try:
                zf = self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise self._fail(f"the zip cannot be read ({exc}) — download it again") from exc
            names = [n for n in zf.namelist() if not n.endswith("/")]

            def opener(name: str) -> Callable[[], IO[bytes]]:
                return lambda: zf.open(name)

            self.assets._open = zf.open

        else:
            with path.open("rb") as f:
                if f.read(4) == b"PK\x03\x04":
                    raise self._fail(
                        "the zip file is incomplete or damaged — download the export again"
                    )
            if _EXPORT_FILE.fullmatch(path.name):
                self.others = _beside(path)
            return [(path.name, lambda: path.open("rb"))]
        chosen = []
        for name in names:
            base = name.replace("\\", "/").rsplit("/", 1)[-1]
            if base.startswith("file") and "." in base:
                self.assets.add(_asset_id(base), base, name)
            match = _EXPORT_FILE.fullmatch(base)
            if match and "__MACOSX" not in name:
                chosen.append(((int(match.group(1) or -1), name), name))
            elif "__MACOSX" not in name:
                self.others[name.replace("\\", "/")] = opener(name)
        if not chosen:
            raise self._fail(
                f"there is no conversations.json in it — is this the {self.product} data export?"
            )
        return [(name, opener(name)) for _, name in sorted(chosen)]

    def _run(self) -> Generator[ImportedConversation, None, None]:
        # The zip stays open after the last conversation, for the files their messages
        # name (read when those messages are stored); `close()` closes it.
        for name, open_member in self._members:
            label = name if name == self.path.name else f"{name} in {self.path.name}"
            self.files.append(name)
            yield from self._read_file(label, open_member)

    def _read_file(
        self, label: str, open_member: Callable[[], IO[bytes]]
    ) -> Iterator[ImportedConversation]:
        index = 0
        whole = self._single and _first_byte(open_member) == b"{"
        try:
            with open_member() as raw:
                src = _Counted(JsonGuard(raw))
                try:
                    items = _ijson.items(src, "" if whole else "item", use_float=True)
                    for index, item in enumerate(items, 0 if whole else 1):
                        if not isinstance(item, dict):
                            raise ImportFormatError(
                                f"{label}: item {index} is not a conversation — "
                                f"this is not a {self.product} export; nothing was imported"
                            )
                        if other := self._foreign(index, item):
                            raise ImportFormatError(f"{label}: {other}; nothing was imported")
                        yield self._convert(item, self.assets)
                except TooDeep as exc:
                    raise ImportFormatError(
                        f"{label}: its lists and objects nest more than {MAX_DEPTH} levels "
                        f"deep (near byte {exc.pos:,}), which no {self.product} export does — "
                        "this is not an export, or it is damaged; nothing was imported"
                    ) from None
                except ijson.JSONError as exc:
                    if not src.first:
                        raise ImportFormatError(
                            f"{label}: the file is empty; nothing was imported"
                        ) from exc
                    if src.eof:
                        raise ImportFormatError(
                            f"{label}: the file ends in the middle (byte {src.pos:,}) — the "
                            "export is truncated; download it again. Nothing was imported"
                        ) from exc
                    raise ImportFormatError(
                        f"{label}: the JSON is damaged near byte {src.pos:,} (after "
                        f"conversation {index:,}) — download the export again. "
                        "Nothing was imported"
                    ) from exc
                if src.first not in (b"[", b"") and not whole:
                    raise ImportFormatError(
                        f"{label}: it does not hold a list of conversations — this is not a "
                        f"{self.product} export; nothing was imported"
                    )
                if src.first == b"":
                    raise ImportFormatError(f"{label}: the file is empty; nothing was imported")
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ImportFormatError(
                f"{label}: the zip is damaged ({exc}) — download the export again. "
                "Nothing was imported"
            ) from exc
        except OSError as exc:
            raise ImportFormatError(
                f"{label}: could not be read ({exc.strerror or exc}); nothing was imported"
            ) from exc


def _first_byte(open_member: Callable[[], IO[bytes]]) -> bytes:
    """The first byte of a JSON file that is not white space or a BOM (b"" if none)."""
    try:
        with open_member() as f:
            while chunk := f.read(4096):
                if stripped := chunk.removeprefix(_BOM).lstrip():
                    return stripped[:1]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        pass  # reading it again says what is wrong, in the usual words
    return b""


def _beside(path: Path) -> dict[str, Callable[[], IO[bytes]]]:
    """The JSON files beside a conversations.json given on its own, and those one folder
    down (Claude's `projects/<uuid>.json`), by their path relative to its folder."""
    found: dict[str, Callable[[], IO[bytes]]] = {}
    folder = path.parent
    try:
        candidates = [p for p in folder.iterdir() if p.suffix.lower() == ".json"]
        for sub in ("projects", "memories"):
            if (folder / sub).is_dir():
                candidates += [p for p in (folder / sub).iterdir() if p.suffix == ".json"]
    except OSError:
        return found
    for p in candidates:
        if p.is_file() and p != path:
            found[p.relative_to(folder).as_posix()] = _file_opener(p)
    return found


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _asset_id(name: str) -> str:
    """`file-AbC123-photo.png` -> `file-AbC123`; `file_00ab-uuid.png` -> `file_00ab`."""
    stem = name.rsplit(".", 1)[0]
    if stem.startswith("file-"):
        return "file-" + stem[5:].split("-", 1)[0]
    return stem.split("-", 1)[0]
