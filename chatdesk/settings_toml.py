"""Writing settings.toml back in place with tomlkit, keeping the user's comments and layout."""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import Comment, Table, Whitespace

from chatdesk.settings import DEFAULT_MAX_TOKENS

# Keys left out of the file while they hold these values, unless the file already has them.
_IMPLICIT_DEFAULTS: dict[str, Any] = {
    "connect_timeout_s": 10,
    "first_token_timeout_s": 60,
    "stall_timeout_s": 30,
    "cooldown_s": 60,
    "hedge": True,
    "max_tokens": DEFAULT_MAX_TOKENS,
    "theme": "system",
    "allow_insecure_http": False,
    "continue_partial": "auto",
}


def update_document(original: str, plain: dict[str, Any]) -> str:
    doc = tomlkit.parse(original)
    for name in ("failover", "ui"):
        _update_table(doc, name, plain[name])
    if "providers" not in doc:
        doc["providers"] = tomlkit.table(is_super_table=True)
    providers = doc["providers"]
    wanted = plain["providers"]
    for name in [n for n in providers if n not in wanted]:
        _remove_table(doc, providers, name)
    for name, values in wanted.items():
        if name in providers:
            _update_table(providers, name, values)
        else:
            above = [t for t in providers.values() if isinstance(t, Table)]
            _add_table(providers, name, values, above)
    return tomlkit.dumps(doc)


def _worth_writing(key: str, value: Any) -> bool:
    """False for None and for a default that the file does not spell out yet."""
    return value is not None and _IMPLICIT_DEFAULTS.get(key, object()) != value


def _toml_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 10, not 10.0, as a person would write it
    return value


def _update_table(parent: Any, name: str, values: dict[str, Any]) -> None:
    table = parent.get(name)
    if table is None:
        if any(_worth_writing(k, v) for k, v in values.items()):
            _add_table(parent, name, values, _tables_in_order(parent))
        return
    missing: list[tuple[str, Any]] = []
    for key, value in values.items():
        if value is None:
            if key in table:
                del table[key]
        elif key in table:
            old = table[key]
            if (old.unwrap() if hasattr(old, "unwrap") else old) != value:
                table[key] = _toml_value(value)  # tomlkit keeps the item's trailing comment
        elif _worth_writing(key, value):
            missing.append((key, _toml_value(value)))
    if not missing:
        return
    # New keys go under the last existing key, not below comments that trail the table.
    trailing = _pop_trailing(table) if isinstance(table, Table) else []
    for key, value in missing:
        table[key] = value
    for item in trailing:
        table.add(item)


def _pop_trailing(table: Table, detached_only: bool = False) -> list[Comment | Whitespace]:
    """Remove and return the comments and blank lines at the end of a table's body.

    detached_only keeps the comments right under the last key (they belong to the table) and
    takes only what follows the first blank line (they introduce whatever comes next).
    """
    body = table.value.body
    start = len(body)
    while start > 0 and body[start - 1][0] is None and isinstance(
        body[start - 1][1], Comment | Whitespace
    ):
        start -= 1
    if detached_only:
        while start < len(body) and not isinstance(body[start][1], Whitespace):
            start += 1
    trailing = [item for _, item in body[start:] if isinstance(item, Comment | Whitespace)]
    del body[start:]  # only unkeyed items: the container's key index stays valid
    return trailing


def _tables_in_order(container: Any) -> list[Table]:
    found: list[Table] = []
    for _, item in container.body:
        if isinstance(item, Table):
            if not item.is_super_table():
                found.append(item)
            found.extend(_tables_in_order(item.value))
    return found


def _remove_table(doc: Any, providers: Any, name: str) -> None:
    table = providers[name]
    if isinstance(table, Table):
        ordered = _tables_in_order(doc)
        index = next((i for i, t in enumerate(ordered) if t is table), 0)
        keep = _pop_trailing(table, detached_only=True)
        # Comments after a blank line introduce what follows (e.g. the commented examples);
        # hand them to the table above so they outlive this one.
        if index > 0:
            above = ordered[index - 1]
            body = above.value.body
            if body and isinstance(body[-1][1], Whitespace):
                keep = keep[1:] if keep and isinstance(keep[0], Whitespace) else keep
            for item in keep:
                above.add(item)
    del providers[name]


def _add_table(parent: Any, name: str, values: dict[str, Any], before: list[Table]) -> None:
    """Append table name to parent; before lists the tables it will follow, last one last."""
    new = tomlkit.table()
    for key, value in values.items():
        if _worth_writing(key, value):
            new[key] = _toml_value(value)
    keep = _pop_trailing(before[-1], detached_only=True) if before else []
    parent[name] = new
    for item in keep:  # comments introducing what follows (e.g. the examples) stay last
        parent[name].add(item)
