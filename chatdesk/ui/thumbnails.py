"""Thumbnails of attached pictures: read from the history when first shown, scaled once, and
kept in a bounded cache, so a conversation full of large images opens as fast as one
without and memory stays bounded (the bytes are dropped once scaled)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QImageReader

MAX_ENTRIES = 128  # 240 × 180 × 4 bytes each: about 22 MB at most


class ThumbnailCache:
    """`get(sha256)`: the picture scaled into `box`, or None when it cannot be read."""

    def __init__(self, read: Callable[[str], bytes | None], box: tuple[int, int]) -> None:
        self._read = read
        self._box = QSize(*box)
        self._cache: OrderedDict[str, QImage | None] = OrderedDict()
        self.decoded = 0  # pictures read and scaled so far (tests check laziness with it)

    def get(self, sha256: str) -> QImage | None:
        if sha256 in self._cache:
            self._cache.move_to_end(sha256)
            return self._cache[sha256]
        image = self._make(sha256)
        self._cache[sha256] = image
        while len(self._cache) > MAX_ENTRIES:
            self._cache.popitem(last=False)
        return image

    def _make(self, sha256: str) -> QImage | None:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        data = self._read(sha256)
        if not data:
            return None
        self.decoded += 1
        buffer = QBuffer()
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buffer)
        size = reader.size()
        if size.isValid() and (size.width() > self._box.width()
                               or size.height() > self._box.height()):
            # Decoded at thumbnail size where the format allows (JPEG): a 40 MP photo is
            # never held whole.
            reader.setScaledSize(size.scaled(self._box, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if image.isNull():
            return None
        if image.width() > self._box.width() or image.height() > self._box.height():
            image = image.scaled(self._box, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return image

    def clear(self) -> None:
        self._cache.clear()
