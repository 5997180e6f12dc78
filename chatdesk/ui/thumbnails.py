"""Thumbnails of attached pictures, made after the transcript has painted: a row first gets
the picture's size (read from its header, cheap) and a plain placeholder; the pictures are
decoded a few at a time afterwards, scaled once, and kept in a bounded cache. So a
conversation full of large images opens as fast as one without, and memory stays bounded
(the bytes are dropped once scaled)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QImageReader

MAX_ENTRIES = 128  # 240 × 180 × 4 bytes each: about 22 MB at most
PER_TICK = 3  # pictures decoded per turn of the event loop (a few ms)
FIRST_DELAY_MS = 40  # the first decoding waits for the transcript's first paint


def _reader(data: bytes) -> tuple[QImageReader, QBuffer]:
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    return QImageReader(buffer), buffer  # the buffer must outlive the reader's use


class ThumbnailCache:
    """`size(sha256)`: the thumbnail's size (None: not a picture Qt can read); `image`:
    the thumbnail, or a placeholder of that size until it is decoded; `ready` is called
    with each sha256 decoded later."""

    def __init__(self, read: Callable[[str], bytes | None], box: tuple[int, int],
                 ready: Callable[[str], None] | None = None,
                 head: Callable[[str], bytes | None] | None = None) -> None:
        self._read = read
        self._head = head or read  # the start of a file: enough for its size
        self._box = QSize(*box)
        self.ready = ready
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._sizes: dict[str, QSize | None] = {}
        self._waiting: OrderedDict[str, bytes] = OrderedDict()  # to decode (b"": to read)
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(FIRST_DELAY_MS)
        self._timer.timeout.connect(self.decode_some)
        self._placeholders: dict[tuple[int, int], QImage] = {}
        self.decoded = 0  # pictures decoded so far (tests and the benchmark check laziness)
        self.placeholder_color = QColor("#d0d6de")

    def size(self, sha256: str) -> QSize | None:
        if sha256 not in self._sizes:
            head = self._head(sha256)
            size = None
            if head:
                reader, _buffer = _reader(head)
                full = reader.size()
                if not full.isValid() or full.isEmpty():  # a header beyond the head: read all
                    data = self._read(sha256)
                    reader, _buffer = _reader(data or b"")
                    full = reader.size()
                if full.isValid() and not full.isEmpty():
                    size = full if full.width() <= self._box.width() and \
                        full.height() <= self._box.height() \
                        else full.scaled(self._box, Qt.AspectRatioMode.KeepAspectRatio)
            self._sizes[sha256] = size
        return self._sizes[sha256]

    def image(self, sha256: str) -> QImage | None:
        """The thumbnail if decoded, else a placeholder of its size (None: no picture)."""
        found = self._images.get(sha256)
        if found is not None:
            self._images.move_to_end(sha256)
            return found
        size = self.size(sha256)
        if size is None:
            return None
        if sha256 not in self._waiting:
            self._waiting[sha256] = b""  # read when its turn comes, not now
            self._schedule()
        key = (size.width(), size.height())
        placeholder = self._placeholders.get(key)
        if placeholder is None:
            placeholder = QImage(size, QImage.Format.Format_RGB32)
            placeholder.fill(self.placeholder_color)
            self._placeholders[key] = placeholder
        return placeholder

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start(FIRST_DELAY_MS)

    def decoded_image(self, sha256: str) -> QImage | None:
        return self._images.get(sha256)

    def decode_some(self) -> None:
        """Decode the next few waiting pictures; the rest on the next turn."""
        for _ in range(min(PER_TICK, len(self._waiting))):
            sha256, data = self._waiting.popitem(last=False)
            data = data or self._read(sha256) or b""
            image = self._decode(data, self._sizes.get(sha256)) if data else None
            if image is None:
                self._sizes[sha256] = None
            else:
                self._images[sha256] = image
                while len(self._images) > MAX_ENTRIES:
                    self._images.popitem(last=False)
            if self.ready is not None:
                self.ready(sha256)
        if self._waiting:
            self._timer.start(0)  # go on at once: the window has painted meanwhile

    def finish(self) -> None:
        """Decode everything waiting now (tests, and before a screenshot)."""
        while self._waiting:
            self.decode_some()

    def _decode(self, data: bytes, size: QSize | None) -> QImage | None:
        self.decoded += 1
        reader, _buffer = _reader(data)
        if size is not None and size != reader.size():
            # Decoded at thumbnail size where the format allows it (JPEG): a 40 MP photo
            # is never held whole.
            reader.setScaledSize(size)
        image = reader.read()
        if image.isNull():
            return None
        if size is not None and image.size() != size:
            image = image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return image

    def drop_waiting(self) -> None:
        """Another conversation is shown: the pictures of the last one need not be made."""
        self._waiting.clear()
        self._timer.stop()

    def clear(self) -> None:
        self._images.clear()
        self._sizes.clear()
        self._waiting.clear()
