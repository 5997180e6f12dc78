"""The architecture rules that code review alone would let slip."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: only ui/app import Qt; the UI reaches the
    network, SQL and failover decisions only through the core; the layers import downwards."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# The store is the one writer (and reader) of SQL: no connection, cursor or SQL text elsewhere.
_SQL_TEXT = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|PRAGMA\s|BEGIN\b|"
    r"COMMIT\b|ROLLBACK\b|(CREATE|DROP)\s+(TABLE|INDEX|TRIGGER|VIEW)\s)"
)
# The names a connection is reached or driven by (StoreConnection's db and _connection).
_DB_ATTRIBUTES = {"execute", "executemany", "executescript", "conn", "db", "_connection"}
_DB_MODULES = {"sqlite3", "sqlite_utils", "apsw"}


def _sql_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            found += [f"{where} imports {n}" for n in names if n.split(".")[0] in _DB_MODULES]
        elif isinstance(node, ast.Attribute) and node.attr in _DB_ATTRIBUTES:
            found.append(f"{where} uses .{node.attr}")
        elif isinstance(node, ast.JoinedStr) and node.values:  # an f-string: its start
            head = node.values[0]
            if isinstance(head, ast.Constant) and _SQL_TEXT.match(str(head.value)):
                found.append(f"{where} holds SQL: {str(head.value)[:40]!r}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and _SQL_TEXT.match(node.value)):
            found.append(f"{where} holds SQL: {node.value[:40]!r}")
    return list(dict.fromkeys(found))  # an f-string's start is also a Constant


def test_only_the_store_speaks_sql() -> None:
    package = ROOT / "chatdesk"
    files = [p for p in package.rglob("*.py") if package / "store" not in p.parents]
    found = [use for path in sorted(files) for use in _sql_uses(path)]
    assert not found, "SQL belongs in chatdesk/store/:\n" + "\n".join(found)
