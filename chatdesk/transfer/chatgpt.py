"""Reading ChatGPT's data export (conversations.json / conversations-NNN.json, a mapping tree)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatdesk.transfer.common import (
    ImportedAttachment,
    ImportedConversation,
    RawNode,
    fence,
    first_user_title,
    flatten,
    iso_from_unix,
    quoted,
)
from chatdesk.transfer.export_stream import ExportFiles, ExportReader
from chatdesk.transfer.formats import kind_of_conversation, wrong_kind

# Context the model was given, not part of the conversation the person saw.
_SKIPPED_TYPES = frozenset(
    {"user_editable_context", "model_editable_context", "reasoning_recap", "app_pairing_content"}
)
_ROLES = {"user": "user", "assistant": "assistant", "tool": "tool", "system": "system"}


def read_chatgpt(path: Path) -> ExportReader:
    """The conversations of a ChatGPT export (.zip, folder, or a conversations*.json), streamed.

    Raises `ImportFormatError` (one line) when the export cannot be read, either here or
    while iterating. Empty conversations are yielded with no messages.
    """
    return ExportReader(Path(path), "ChatGPT", _conversation, _foreign)


def _foreign(index: int, item: dict[str, Any]) -> str | None:
    """Why `item` (the index-th of the file) is not a ChatGPT conversation, or None."""
    found = kind_of_conversation(item)
    if found == "chatgpt":
        return None
    if found is not None:
        return wrong_kind(found, "chatgpt")
    which = "its conversations have" if index == 1 else f"conversation {index:,} has"
    return (f"this is not a ChatGPT export: {which} no `mapping` (the messages of a "
            "ChatGPT conversation)")


def _conversation(item: dict[str, Any], assets: ExportFiles) -> ImportedConversation:
    mapping = item.get("mapping")
    if not isinstance(mapping, dict):
        mapping = {}
    created = iso_from_unix(item.get("create_time"))
    default_model = _text(item.get("default_model_slug")) or None
    nodes: dict[str, RawNode] = {}
    for key, node in mapping.items():
        if not isinstance(node, dict):
            continue
        parent = node.get("parent")
        msg = node.get("message")
        raw = RawNode(str(key), parent if isinstance(parent, str) else None, None, "", None)
        if isinstance(msg, dict):
            _fill(raw, msg, _Files(assets, msg), default_model)
        nodes[raw.key] = raw
    leaf = item.get("current_node")
    messages = flatten(nodes, leaf if isinstance(leaf, str) else None, created)
    title = _text(item.get("title")).strip() or first_user_title(messages)
    source_id = _text(item.get("conversation_id") or item.get("id"))
    if not source_id:  # never seen in real exports; a stable id keeps re-imports idempotent
        source_id = f"untitled-{item.get('create_time')}-{title}"
    return ImportedConversation(
        source_id=source_id,
        title=title,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=iso_from_unix(item.get("update_time")),
        messages=messages,
    )


class _Files:
    """One message's files: those the export holds become its attachments (each once),
    those it does not hold a placeholder in its text, counted."""

    def __init__(self, assets: ExportFiles, msg: dict[str, Any]) -> None:
        self.assets = assets
        self.found: list[ImportedAttachment] = []
        self.missing = 0
        self._seen: set[str] = set()
        # what the person uploaded, by id: the names they gave their files
        self.uploads = {_text(a.get("id")): a for a in map(_obj, _items(
            _obj(msg.get("metadata")).get("attachments"))) if _text(a.get("id"))}

    def name(self, asset_id: str) -> str:
        given = _text(_obj(self.uploads.get(asset_id)).get("name"))
        return given or _file_name(self.assets.get(asset_id) or asset_id)

    def take(self, asset_id: str, placeholder: str) -> str:
        """'' when the file is the message's attachment now, else the placeholder."""
        if asset_id in self._seen:
            return ""
        self._seen.add(asset_id)
        found = self.assets.attachment(asset_id, self.name(asset_id))
        if found is None:
            self.missing += 1
            return placeholder
        self.found.append(found)
        return ""

    def uploaded(self) -> list[str]:
        """The uploads no content part showed (PDFs, text files): attached, or placeholders."""
        notes = []
        for asset_id, upload in self.uploads.items():
            name = _text(upload.get("name")) or asset_id
            note = self.take(asset_id, f"[file: {name}]")
            if note:
                notes.append(note)
        return notes


def _file_name(base: str) -> str:
    """`file-AbC123-cat.jpg` → `cat.jpg`: the name without the export's id in front."""
    if base.startswith(("file-", "file_")) and "-" in base[5:]:
        rest = base[5:].split("-", 1)[1]
        return rest or base
    return base


def _fill(raw: RawNode, msg: dict[str, Any], files: _Files, default: str | None) -> None:
    """Set role, content, time and model of a node from its message (role None = hidden)."""
    raw.created_at = iso_from_unix(msg.get("create_time"))
    metadata = _obj(msg.get("metadata"))
    if metadata.get("is_visually_hidden_from_conversation"):
        return
    author = _obj(msg.get("author"))
    role = _ROLES.get(_text(author.get("role")))
    content = msg.get("content") or {}
    if role is None or not isinstance(content, dict):
        return
    kind = _text(content.get("content_type")) or "text"
    if kind in _SKIPPED_TYPES:
        return
    raw.content = _render(kind, content, files)
    if kind == "execution_output":  # a plot it drew is kept aside, with the code it ran
        images = _output_images(metadata.get("aggregate_result"), files)
        raw.content = "\n\n".join(p for p in (raw.content, *images) if p)
    uploads = files.uploaded()
    if uploads:
        raw.content = "\n\n".join(p for p in (*uploads, raw.content) if p)
    raw.attachments, raw.missing_files = files.found, files.missing
    if role == "tool" and not raw.content.strip():  # web.run keeps what it found aside
        raw.content = _search_results(metadata.get("search_result_groups"))
    raw.role = role
    if role == "assistant":
        raw.provider = "openai"
        raw.model = _text(metadata.get("model_slug")) or default
    elif role == "tool":  # a tool turn keeps the tool's name where a model's would be
        raw.model = _text(author.get("name")) or None


def _render(kind: str, content: dict[str, Any], assets: _Files) -> str:
    """Markdown for one content type; unknown types keep whatever text they carry."""
    if kind == "text":
        return "\n".join(p for p in _items(content.get("parts")) if isinstance(p, str))
    if kind == "multimodal_text":
        return "\n\n".join(
            filter(None, (_part(p, assets) for p in _items(content.get("parts"))))
        )
    if kind == "code":
        language = _text(content.get("language"))
        text = _text(content.get("text"))
        return fence(text, None if language in ("", "unknown") else language) if text else ""
    if kind == "execution_output":  # "<<ImageDisplayed>>" stands for a plot (see _fill)
        text = _text(content.get("text")).replace("<<ImageDisplayed>>", "")
        return fence(text.strip("\n"), "output") if text.strip() else ""
    if kind == "tether_browsing_display":
        return _text(content.get("result")).strip() or _text(content.get("summary"))
    if kind == "tether_quote":
        text = _text(content.get("text"))
        source = _link(content.get("title") or content.get("domain"), content.get("url"))
        return quoted(text, "Quote") + (f"\n\n— {source}" if source else "") if text else ""
    if kind == "system_error":
        text = _text(content.get("text"))
        return f"**Error ({_text(content.get('name')) or 'system'}):** {text}" if text else ""
    if kind == "thoughts":
        steps = []
        for thought in _items(content.get("thoughts")):
            if isinstance(thought, dict):
                summary = _text(thought.get("summary")).strip()
                body = _text(thought.get("content")).strip()
                steps.append(f"**{summary}**\n\n{body}" if summary and body else summary or body)
        text = "\n\n".join(s for s in steps if s)
        return quoted(text, "Thinking:") if text else ""
    if kind == "sonic_webpage":
        link = _link(content.get("title"), content.get("url"))
        return "\n\n".join(filter(None, (link, _text(content.get("text")))))
    parts = [p for p in _items(content.get("parts")) if isinstance(p, str)]
    parts += [_text(content.get(k)) for k in ("text", "result") if isinstance(content.get(k), str)]
    return "\n\n".join(p for p in parts if p.strip())


def _output_images(result: Any, assets: _Files) -> list[str]:
    """Placeholders for the images a code run showed (`aggregate_result.messages`)."""
    shown = []
    for message in _items(_obj(result).get("messages")):
        message = _obj(message)
        if message.get("message_type") == "image" and _text(message.get("image_url")):
            pointer = {"content_type": "image_asset_pointer",
                       "asset_pointer": message["image_url"]}
            shown.append(_part(pointer, assets))
    return [s for s in shown if s]


def _search_results(groups: Any) -> str:
    """A web search's results (`metadata.search_result_groups`) as a list of links."""
    links: list[str] = []
    for group in _items(groups):
        for entry in _items(_obj(group).get("entries")):
            link = _link(_obj(entry).get("title"), _obj(entry).get("url"))
            if link and f"- {link}" not in links:
                links.append(f"- {link}")
    return "\n".join(links)


def _part(part: Any, files: _Files) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    kind = part.get("content_type")
    if kind == "image_asset_pointer":
        pointer = _text(part.get("asset_pointer"))
        asset = pointer.split("://", 1)[-1]
        name = files.assets.get(asset, asset) or "image"
        prompt = _obj(_obj(part.get("metadata")).get("dalle")).get("prompt")
        said = f"(prompt: {prompt})" if isinstance(prompt, str) else ""
        # an image the export holds is the message's attachment now; its prompt stays
        placeholder = files.take(asset, f"[image: {name}]")
        return " ".join(p for p in (placeholder, said) if p)
    if kind in ("audio_asset_pointer", "real_time_user_audio_video_asset_pointer"):
        return ""  # the words are in the audio_transcription part beside it
    return _text(part.get("text"))


def _link(title: Any, url: Any) -> str:
    text, address = _text(title), _text(url)
    if address:
        return f"[{text or address}]({address})"
    return text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
