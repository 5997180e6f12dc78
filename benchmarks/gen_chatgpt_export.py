"""Writes a realistic ChatGPT data export (.zip) of any size, streamed, for the import benchmark.

Every conversation has a root node without a message, a hidden system message, and then
`messages_per_conversation` importable messages alternating user / assistant, with the
fields and metadata a real export carries. Every tenth conversation has a regenerated
last answer (one of its messages is an alternate branch). One sentence in 25 holds the
word `zymurgy` (about one message in ten), so a search for it ranks many hits.
"""

from __future__ import annotations

import argparse
import json
import random
import zipfile
from pathlib import Path

SEARCH_WORD = "zymurgy"
_START = 1_700_000_000.0
_WORDS = (
    "the of and to in is that for it as with was on be by this are or from at which an have "
    "not but can all will one they more about if their has would there what so when out up "
    "data model python function error memory server request value file table query index "
    "system network cache thread process design answer example result test build deploy "
    "garden recipe travel budget music history science energy climate market language "
    "über café naïve résumé 東京 数据 привет мир مرحبا שלום 🙂 🚀"
).split()


def _sentences(rng: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        words = rng.choices(_WORDS, k=rng.randint(6, 22))
        if i % 25 == 0:
            words[rng.randrange(len(words))] = SEARCH_WORD
        out.append(" ".join(words).capitalize() + ".")
    return out


def _uuid(conv: int, node: int) -> str:
    """A uuid-shaped id, unique per (conversation, node) and the same on every run."""
    high, mid, low = node >> 16 & 0xFFFF, node >> 4 & 0xFFF, node & 0xF
    return f"{conv:08x}-{high:04x}-4{mid:03x}-8{low:03x}-{conv:012x}"


def _message(mid: str, role: str, when: float, text: str, parent: str, model: str) -> str:
    if role == "assistant":
        meta = (
            '{"finish_details": {"type": "stop", "stop_tokens": [200002]}, "is_complete": true,'
            ' "citations": [], "content_references": [], "model_slug": "' + model + '",'
            ' "default_model_slug": "' + model + '", "parent_id": "' + parent + '",'
            ' "request_id": "8f1c2a7e9b3d4c10-AMS", "timestamp_": "absolute"}'
        )
        author = '{"role": "assistant", "name": null, "metadata": {}}'
        end_turn = "true"
    else:
        meta = (
            '{"selected_github_repos": [], "serialization_metadata": {"custom_symbol_offsets": []},'
            ' "request_id": "8f1c2a7e9b3d4c10-AMS", "message_source": null,'
            ' "timestamp_": "absolute", "message_type": null}'
        )
        author = '{"role": "user", "name": null, "metadata": {}}'
        end_turn = "null"
    return (
        f'{{"id": "{mid}", "author": {author}, "create_time": {when:.6f}, "update_time": null,'
        f' "content": {{"content_type": "text", "parts": [{text}]}},'
        f' "status": "finished_successfully", "end_turn": {end_turn}, "weight": 1.0,'
        f' "metadata": {meta}, "recipient": "all", "channel": null}}'
    )


def _node(nid: str, message: str, parent: str | None, children: list[str]) -> str:
    kids = ", ".join(f'"{c}"' for c in children)
    par = f'"{parent}"' if parent else "null"
    return (
        f'"{nid}": {{"id": "{nid}", "message": {message}, "parent": {par},'
        f' "children": [{kids}]}}'
    )


def _conversation(c: int, n: int, pool: list[str], rng: random.Random) -> str:
    start = _START + c * 3600.0
    root, system = _uuid(c, 0), _uuid(c, 1)
    ids = [_uuid(c, i + 2) for i in range(n)]
    branch = c % 10 == 9 and n >= 4
    main = ids[:-1] if branch else ids  # with a branch, the last id is the regeneration
    nodes = [_node(root, "null", None, [system])]
    system_msg = (
        f'{{"id": "{system}", "author": {{"role": "system", "name": null, "metadata": {{}}}},'
        ' "create_time": null, "update_time": null,'
        ' "content": {"content_type": "text", "parts": [""]}, "status": "finished_successfully",'
        ' "end_turn": true, "weight": 0.0, "metadata": {"is_visually_hidden_from_conversation":'
        ' true}, "recipient": "all", "channel": null}'
    )
    nodes.append(_node(system, system_msg, root, [main[0]]))
    model = "gpt-4o" if c % 3 else "o3"
    for i, mid in enumerate(main):
        parent = main[i - 1] if i else system
        kids = [main[i + 1]] if i + 1 < len(main) else []
        if branch and i == len(main) - 2:
            kids.append(ids[-1])  # the answer was regenerated: a second child of the question
        role = "user" if i % 2 == 0 else "assistant"
        k = rng.randrange(len(pool))
        sentences = pool[k : k + (1 if role == "user" else 4)]
        text = json.dumps(" ".join(sentences), ensure_ascii=False)
        message = _message(mid, role, start + i * 30, text, parent, model)
        nodes.append(_node(mid, message, parent, kids))
    if branch:
        alt, parent = ids[-1], main[-2]
        text = json.dumps(pool[rng.randrange(len(pool))], ensure_ascii=False)
        msg = _message(alt, "assistant", start + (len(main) - 1) * 30 + 5, text, parent, model)
        nodes.append(_node(alt, msg, parent, []))
    conv_id = _uuid(c, 0xFFFFFF)
    title = json.dumps(" ".join(pool[c % len(pool)].split()[:5]), ensure_ascii=False)
    return (
        f'{{"title": {title}, "create_time": {start:.6f}, "update_time": {start + n * 30:.6f},'
        f' "mapping": {{{", ".join(nodes)}}}, "moderation_results": [],'
        f' "current_node": "{main[-1]}", "plugin_ids": null, "conversation_id": "{conv_id}",'
        ' "conversation_template_id": null, "gizmo_id": null, "gizmo_type": null,'
        ' "is_archived": false, "is_starred": null, "safe_urls": [], "blocked_urls": [],'
        f' "default_model_slug": "{model}", "conversation_origin": null, "voice": null,'
        ' "async_status": null, "disabled_tool_ids": [], "is_do_not_remember": false,'
        f' "memory_scope": "global_enabled", "sugar_item_id": null, "id": "{conv_id}"}}'
    )


def make_chatgpt_export(path: Path, conversations: int, messages_per_conversation: int) -> Path:
    """Write the export zip at `path` (conversations.json beside chat.html, user.json, …)."""
    rng = random.Random(1234)
    pool = _sentences(rng, 4096)
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("conversations.json", "w", force_zip64=True) as raw:
            buf: list[str] = ["["]
            for c in range(conversations):
                if c:
                    buf.append(", ")
                buf.append(_conversation(c, messages_per_conversation, pool, rng))
                if len(buf) > 512:
                    raw.write("".join(buf).encode())
                    buf.clear()
            buf.append("]")
            raw.write("".join(buf).encode())
        zf.writestr("chat.html", "<html><body><div id='root'></div><script>var jsonData = [];"
                    "</script></body></html>")  # fmt: skip
        user = {"id": "user-bench", "email": "bench@example.com", "chatgpt_plus_user": True}
        zf.writestr("user.json", json.dumps(user))
        zf.writestr("message_feedback.json", "[]")
        zf.writestr("shared_conversations.json", "[]")
        zf.writestr("file-BenchImage01-photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    ns = parser.parse_args()
    make_chatgpt_export(ns.output, ns.conversations, ns.messages)
    print(ns.output, ns.output.stat().st_size, "bytes")
