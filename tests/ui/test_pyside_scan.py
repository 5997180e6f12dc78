"""PySide6's scan of imported modules' sources leaves nothing in linecache (issue 18)."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

import PySide6.QtCore  # noqa: F401 - the scan is installed with PySide6
import pytest

from chatdesk.ui.pyside_scan import keep_sources_out_of_linecache, uses_pyside


def _import(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        __import__(name)  # PySide6 watches __import__ (import_module goes around it)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    return path


def test_a_module_imported_after_pyside_keeps_no_lines_in_linecache(tmp_path: Path) -> None:
    assert keep_sources_out_of_linecache()
    plain = _import(tmp_path, "scan_probe_plain", "VALUE = 1\n" * 2000)
    qt = _import(tmp_path, "scan_probe_qt", "# uses PySide6\nVALUE = 2\n")
    assert str(plain) not in linecache.cache
    assert str(qt) not in linecache.cache
    feature = sys.modules.get("shibokensupport.feature")
    found = getattr(feature, "pyside_feature_dict", None)
    if not isinstance(found, dict):
        pytest.skip("this PySide6 keeps its feature table elsewhere")
    # The same answers as PySide6's own check: a module naming PySide6 may switch features.
    assert found.get("scan_probe_plain") == -1
    assert found.get("scan_probe_qt") == 0


def test_uses_pyside_reads_the_source_or_the_loader(tmp_path: Path) -> None:
    import types

    module = types.ModuleType("m")
    module.__file__ = str(tmp_path / "m.py")
    (tmp_path / "m.py").write_text("import PySide6\n", encoding="utf-8")
    assert uses_pyside(module)
    module.__file__ = str(tmp_path / "gone.py")

    class Loader:
        def get_source(self, name: str) -> str:
            return "nothing here"

    module.__loader__ = Loader()
    assert not uses_pyside(module)
    assert not uses_pyside(sys)  # built in: no source
