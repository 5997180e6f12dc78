"""Reading ChatGPT's data export (conversations.json / conversations-NNN.json, a mapping tree)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatdesk.transfer.chatgpt_parts import (
    CANVAS_TOOL,
    Canvas,
    cited,
    searched,
    thoughts_text,
)
from chatdesk.transfer.common import (
    ImportedAttachment,
    ImportedConversation,
    ImportedPreset,
    RawNode,
    SideOutcome,
    fence,
    first_user_title,
    flatten,
    iso_from_unix,
    quoted,
)
from chatdesk.transfer.export_stream import ExportFiles, ExportReader
from chatdesk.transfer.formats import why_not
from chatdesk.transfer.shapes import as_dict, as_list, as_text

# Context the model was given, not part of the conversation the person saw.
_SKIPPED_TYPES = frozenset({"app_pairing_content"})
_ROLES = {"user": "user", "assistant": "assistant", "tool": "tool", "system": "system"}


class ChatGPTReader(ExportReader):
    """An ExportReader that also gathers the account's custom instructions and memory
    while reading (presets once the conversations are read) and says what became of them."""

    account: _Account

    @property
    def presets(self) -> list[ImportedPreset]:
        return self.account.presets()

    @property
    def side(self) -> list[SideOutcome]:
        return self.account.side()


def read_chatgpt(path: Path) -> ChatGPTReader:
    """The conversations of a ChatGPT export (.zip, folder, or a conversations*.json), streamed.

    Raises `ImportFormatError` (one line) when the export cannot be read, either here or
    while iterating. Empty conversations are yielded with no messages.
    """
    account = _Account()
    reader = ChatGPTReader(Path(path), "ChatGPT", lambda item, assets: _conversation(
        item, assets, account), _foreign)
    reader.account = account
    return reader


def _foreign(index: int, item: dict[str, Any]) -> str | None:
    """Why `item` (the index-th of the file) is not a ChatGPT conversation, or None."""
    return why_not("chatgpt", index, item, "`mapping` (the messages of a ChatGPT conversation)")


class _Account:
    """What every conversation of the account was given beside its turns: the custom
    instructions (each text once, a preset the conversations follow) and the memory (the
    newest version, a preset)."""

    def __init__(self) -> None:
        self.instructions: dict[str, str] = {}  # the text -> its preset's name
        self.memory: tuple[str, str] | None = None  # (when, the text)
        self.memories: set[str] = set()

    def instructed(self, content: dict[str, Any], metadata: dict[str, Any]) -> str | None:
        """The preset of these custom instructions (None when they say nothing)."""
        given = as_dict(metadata.get("user_context_message_data"))
        about = as_text(given.get("about_user_message")) or _said(content.get("user_profile"))
        how = as_text(given.get("about_model_message")) or _said(content.get("user_instructions"))
        parts = [f"About me:\n{about.strip()}" if about.strip() else "",
                 f"How to respond:\n{how.strip()}" if how.strip() else ""]
        text = "\n\n".join(p for p in parts if p)
        if not text:
            return None
        if text not in self.instructions:
            number = len(self.instructions) + 1
            self.instructions[text] = _INSTRUCTIONS + (f" {number}" if number > 1 else "")
        return self.instructions[text]

    def remembered(self, content: dict[str, Any], when: str | None) -> None:
        text = as_text(content.get("model_set_context")).strip()
        if not text:
            return
        self.memories.add(text)
        if self.memory is None or (when or "") > self.memory[0]:
            self.memory = (when or "", text)

    def presets(self) -> list[ImportedPreset]:
        made = [ImportedPreset(name, text) for text, name in self.instructions.items()]
        if self.memory is not None:
            made.append(ImportedPreset(_MEMORY, self.memory[1]))
        return made

    def side(self) -> list[SideOutcome]:
        said = []
        if self.instructions:
            n = len(self.instructions)
            said.append(SideOutcome("custom instructions", imported=n, became=(
                "a preset its conversations follow" if n == 1
                else "presets their conversations follow"),
                presets=tuple(self.instructions.values())))
        if self.memory is not None:
            older = len(self.memories) - 1
            said.append(SideOutcome("memory", imported=1, became=f"the preset “{_MEMORY}”",
                                    skipped=older, why="older versions of the same memory",
                                    presets=(_MEMORY,)))
        return said


_INSTRUCTIONS = "ChatGPT custom instructions"
_MEMORY = "ChatGPT memory"


def _said(value: Any) -> str:
    """A custom instruction without ChatGPT's lead-in ("The user provided … :")."""
    return re.sub(r"^The user provided [^:]*:\s*", "", as_text(value))


@dataclass
class _Fold:
    """A message shown as part of the answer after it: thinking, or a document written."""

    reasoning: str = ""
    content: str = ""


def _conversation(item: dict[str, Any], assets: ExportFiles,
                  account: _Account) -> ImportedConversation:
    mapping = item.get("mapping")
    if not isinstance(mapping, dict):
        mapping = {}
    created = iso_from_unix(item.get("create_time"))
    default_model = as_text(item.get("default_model_slug")) or None
    nodes: dict[str, RawNode] = {}
    folds: dict[str, _Fold] = {}
    canvases: dict[str, Canvas] = {}
    turn = _Turn(mapping, account, folds)
    for key in _tree_order(mapping):
        node = mapping[key]
        parent = node.get("parent")
        msg = node.get("message")
        raw = RawNode(key, parent if isinstance(parent, str) else None, None, "", None)
        canvas = canvases.get(raw.parent or "", _NO_CANVAS)
        if isinstance(msg, dict):
            canvas = turn.fill(raw, msg, assets, default_model, canvas)
        canvases[key] = canvas
        nodes[key] = raw
    _fold_into_answers(nodes, folds)
    leaf = item.get("current_node")
    messages = flatten(nodes, leaf if isinstance(leaf, str) else None, created)
    title = as_text(item.get("title")).strip() or first_user_title(messages)
    source_id = as_text(item.get("conversation_id") or item.get("id"))
    if not source_id:  # never seen in real exports; a stable id keeps re-imports idempotent
        source_id = f"untitled-{item.get('create_time')}-{title}"
    return ImportedConversation(
        source_id=source_id,
        title=title,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=iso_from_unix(item.get("update_time")),
        messages=messages,
        preset=turn.preset,
    )


_NO_CANVAS = Canvas()


def _tree_order(mapping: dict[str, Any]) -> list[str]:
    """The node ids, each parent before its children (siblings in the file's order), so
    what a message changes (a canvas) is known to the messages under it."""
    seen_first: set[str] = set()
    for key, node in mapping.items():  # exports list their nodes so almost always
        parent = node.get("parent") if isinstance(node, dict) else None
        if isinstance(parent, str) and parent != key and parent not in seen_first \
                and isinstance(mapping.get(parent), dict):
            break
        seen_first.add(key)
    else:
        return [k for k, n in mapping.items() if isinstance(n, dict)]
    children: dict[str, list[str]] = {}
    roots = []
    for key, node in mapping.items():
        if not isinstance(node, dict):
            continue
        parent = node.get("parent")
        if isinstance(parent, str) and parent != key and isinstance(mapping.get(parent), dict):
            children.setdefault(parent, []).append(key)
        else:
            roots.append(key)
    order: list[str] = []
    seen: set[str] = set()
    stack = list(reversed(roots))
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        order.append(key)
        stack.extend(reversed(children.get(key, ())))
    # a loop of parents has no root: its nodes still count (flatten breaks the loop)
    order += [k for k, n in mapping.items() if isinstance(n, dict) and k not in seen]
    return order


def _fold_into_answers(nodes: dict[str, RawNode], folds: dict[str, _Fold]) -> None:
    """Give each answer the thinking and documents of the folded messages above it (up to
    the question); folded messages no answer follows (a stop while thinking) become one."""
    used: set[str] = set()
    for key, node in nodes.items():
        if node.role == "assistant" and key not in folds:
            chain = _folds_above(nodes, folds, node)
            if chain:
                _take(node, [folds[k] for k in chain])
                used.update(chain)
    left = [k for k in folds if k not in used and k in nodes]
    covered = {k for u in left for k in _folds_above(nodes, folds, nodes[u])}
    for end in (k for k in left if k not in covered):
        node = nodes[end]
        _take(node, [folds[k] for k in _folds_above(nodes, folds, node)] + [folds[end]])
        if node.content.strip() or node.reasoning:
            node.role = "assistant"


def _folds_above(nodes: dict[str, RawNode], folds: dict[str, _Fold], node: RawNode
                 ) -> list[str]:
    """The folded messages between `node` and the shown message above it, oldest first."""
    chain: list[str] = []
    passed: set[str] = set()  # a loop of parents ends the walk
    step = node.parent
    while step is not None and step in nodes and step not in passed:
        passed.add(step)
        if step in folds:
            chain.append(step)
        elif nodes[step].role is not None:
            break
        step = nodes[step].parent
    return chain[::-1]


def _take(node: RawNode, above: list[_Fold]) -> None:
    reasoning = [f.reasoning for f in above] + [node.reasoning or ""]
    node.reasoning = "\n\n".join(r for r in reasoning if r.strip()) or None
    node.content = "\n\n".join(p for p in [*(f.content for f in above), node.content]
                                if p.strip())


class _Files:
    """One message's files: those the export holds become its attachments (each once),
    those it does not hold a placeholder in its text, counted."""

    def __init__(self, assets: ExportFiles, metadata: dict[str, Any]) -> None:
        self.assets = assets
        self.found: list[ImportedAttachment] = []
        self.missing = 0
        self._seen: set[str] = set()
        # what the person uploaded, by id: the names they gave their files
        # (an upload without an id, seen in 2025 files, goes by its name)
        listed = as_list(metadata.get("attachments"))
        self.uploads = {as_text(a.get("id")) or as_text(a.get("name")): a for a in map(
            as_dict, listed) if as_text(a.get("id") or a.get("name"))} if listed else {}

    def name(self, asset_id: str) -> str:
        given = as_text(as_dict(self.uploads.get(asset_id)).get("name"))
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
            name = as_text(upload.get("name")) or asset_id
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


class _Turn:
    """Reads one conversation's messages into nodes: what is shown, what folds into the
    answer after it (thinking, canvas documents), what the account was given."""

    def __init__(self, mapping: dict[str, Any], account: _Account,
                 folds: dict[str, _Fold]) -> None:
        self.mapping = mapping
        self.account = account
        self.folds = folds
        self.preset: str | None = None

    def fill(self, raw: RawNode, msg: dict[str, Any], assets: ExportFiles,
             default: str | None, canvas: Canvas) -> Canvas:
        """Set role, content, time and model of a node from its message (role None =
        hidden); returns the canvas as it stands after the message."""
        raw.created_at = iso_from_unix(msg.get("create_time"))
        metadata = as_dict(msg.get("metadata"))
        author = as_dict(msg.get("author"))
        role = _ROLES.get(as_text(author.get("role")))
        content = msg.get("content") or {}
        if role is None or not isinstance(content, dict):
            return canvas
        kind = as_text(content.get("content_type")) or "text"
        if kind == "user_editable_context":
            self.preset = self.account.instructed(content, metadata) or self.preset
            return canvas
        if kind == "model_editable_context":
            self.account.remembered(content, raw.created_at)
            return canvas
        tool = as_text(author.get("name"))
        recipient = as_text(msg.get("recipient"))
        if role == "tool" and tool.startswith(CANVAS_TOOL):  # "Successfully created …"
            return canvas.with_id(raw.parent or "", _canvas_id(content, metadata))
        if metadata.get("is_visually_hidden_from_conversation") or kind in _SKIPPED_TYPES:
            return canvas
        model = as_text(metadata.get("model_slug")) or default
        if role == "assistant" and recipient.startswith(CANVAS_TOOL):
            shown, canvas = canvas.call(recipient[len(CANVAS_TOOL):], _code(content),
                                        raw.key, self._refused(raw.key))
            self.folds[raw.key] = _Fold(content=shown)
            raw.provider, raw.model = "openai", model
            return canvas
        if kind in _THINKING_TYPES or metadata.get("reasoning_status") == "is_reasoning":
            self.folds[raw.key] = _Fold(reasoning=_thinking(
                kind, content, metadata, role, recipient, tool))
            raw.provider, raw.model = "openai", model
            return canvas
        files = _Files(assets, metadata)
        raw.content = _render(kind, content, files)
        if role == "assistant" and recipient not in ("", "all"):  # a web search is said so
            raw.content = searched(metadata, _code(content)) or raw.content
        if kind == "execution_output":  # a plot it drew is kept aside, with the code it ran
            images = _output_images(metadata.get("aggregate_result"), files)
            raw.content = "\n\n".join(p for p in (raw.content, *images) if p)
        if role == "assistant" and kind in ("text", "multimodal_text"):
            raw.content = cited(raw.content, metadata)
        uploads = files.uploaded()
        if uploads:
            raw.content = "\n\n".join(p for p in (*uploads, raw.content) if p)
        raw.attachments, raw.missing_files = files.found, files.missing
        if role == "tool" and not raw.content.strip():  # web.run keeps what it found aside
            raw.content = _search_results(metadata.get("search_result_groups"))
        raw.role = role
        if role == "assistant":
            raw.provider = "openai"
            raw.model = model
        elif role == "tool":  # a tool turn keeps the tool's name where a model's would be
            raw.model = tool or None
        return canvas

    def _refused(self, key: str) -> bool:
        """Whether the canvas tool answered call `key` with "Failed with error" (the
        model then tried again: the person saw only the attempt that worked)."""
        for child in as_list(as_dict(self.mapping.get(key)).get("children")):
            msg = as_dict(as_dict(self.mapping.get(child)).get("message"))
            if as_dict(msg.get("author")).get("role") == "tool":
                said = _render("text", as_dict(msg.get("content")), None).lstrip()
                if said.startswith("Failed with error"):
                    return True
        return False


# Messages of a reasoning model's thinking; they fold into the answer's reasoning.
_THINKING_TYPES = frozenset({"thoughts", "reasoning_recap"})


def _thinking(kind: str, content: dict[str, Any], metadata: dict[str, Any], role: str,
              recipient: str, tool: str) -> str:
    """What one message of a model's thinking adds to the answer's reasoning: its
    thoughts, a tool it ran and what came back, the pages a search found."""
    if kind == "thoughts":
        return thoughts_text(content)
    if kind == "reasoning_recap":
        return ""  # "Thought for 7 seconds": the app's label, not the model's words
    if role == "assistant" and recipient not in ("", "all"):
        code = _code(content)
        if search := searched(metadata, code):
            return search
        language = as_text(content.get("language"))
        shown = fence(code, None if language in ("", "unknown") else language)
        return f"Ran `{recipient}`:\n\n{shown}" if code.strip() else ""
    if role == "tool":
        if kind == "execution_output":
            output = as_text(content.get("text")).replace("<<ImageDisplayed>>", "").strip("\n")
            return fence(output, "output") if output.strip() else ""
        found = _search_results(metadata.get("search_result_groups"))
        return f"Found:\n\n{found}" if found else ""
    return _render(kind, content, None)


def _code(content: dict[str, Any]) -> str:
    """The text of a tool call (a `code` message's text, or a `text` message's parts)."""
    if isinstance(content.get("text"), str):
        return str(content["text"])
    return "\n".join(p for p in as_list(content.get("parts")) if isinstance(p, str))


def _canvas_id(content: dict[str, Any], metadata: dict[str, Any]) -> str:
    """The textdoc id the canvas tool gave a document it created."""
    given = as_text(as_dict(metadata.get("canvas")).get("textdoc_id"))
    if given:
        return given
    found = re.search(r"textdoc_id\W+([0-9a-f]{16,})", _code(content))
    return found.group(1) if found else ""


def _render(kind: str, content: dict[str, Any], assets: _Files | None) -> str:
    """Markdown for one content type; unknown types keep whatever text they carry."""
    if kind == "text":
        parts = content.get("parts")
        if isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], str):
            return parts[0]  # most messages
        return "\n".join(p for p in as_list(parts) if isinstance(p, str))
    if kind == "multimodal_text":
        return "\n\n".join(
            filter(None, (_part(p, assets) for p in as_list(content.get("parts"))))
        )
    if kind == "code":
        language = as_text(content.get("language"))
        text = as_text(content.get("text"))
        return fence(text, None if language in ("", "unknown") else language) if text else ""
    if kind == "execution_output":  # "<<ImageDisplayed>>" stands for a plot (see _fill)
        text = as_text(content.get("text")).replace("<<ImageDisplayed>>", "")
        return fence(text.strip("\n"), "output") if text.strip() else ""
    if kind == "tether_browsing_display":
        return as_text(content.get("result")).strip() or as_text(content.get("summary"))
    if kind == "tether_quote":
        text = as_text(content.get("text"))
        source = _link(content.get("title") or content.get("domain"), content.get("url"))
        return quoted(text, "Quote") + (f"\n\n— {source}" if source else "") if text else ""
    if kind == "system_error":
        text = as_text(content.get("text"))
        return f"**Error ({as_text(content.get('name')) or 'system'}):** {text}" if text else ""
    if kind == "sonic_webpage":
        link = _link(content.get("title"), content.get("url"))
        return "\n\n".join(filter(None, (link, as_text(content.get("text")))))
    parts = [p for p in as_list(content.get("parts")) if isinstance(p, str)]
    parts += [as_text(content.get(k)) for k in ("text", "result")
              if isinstance(content.get(k), str)]
    return "\n\n".join(p for p in parts if p.strip())


def _output_images(result: Any, assets: _Files) -> list[str]:
    """Placeholders for the images a code run showed (`aggregate_result.messages`)."""
    shown = []
    for message in as_list(as_dict(result).get("messages")):
        message = as_dict(message)
        if message.get("message_type") == "image" and as_text(message.get("image_url")):
            pointer = {"content_type": "image_asset_pointer",
                       "asset_pointer": message["image_url"]}
            shown.append(_part(pointer, assets))
    return [s for s in shown if s]


def _search_results(groups: Any) -> str:
    """A web search's results (`metadata.search_result_groups`) as a list of links."""
    links: list[str] = []
    for group in as_list(groups):
        for entry in as_list(as_dict(group).get("entries")):
            link = _link(as_dict(entry).get("title"), as_dict(entry).get("url"))
            if link and f"- {link}" not in links:
                links.append(f"- {link}")
    return "\n".join(links)


def _part(part: Any, files: _Files | None) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    kind = part.get("content_type")
    if kind == "image_asset_pointer" and files is not None:
        pointer = as_text(part.get("asset_pointer"))
        asset = pointer.split("://", 1)[-1]
        name = files.name(asset) or "image"
        prompt = as_dict(as_dict(part.get("metadata")).get("dalle")).get("prompt")
        said = f"(prompt: {prompt})" if isinstance(prompt, str) else ""
        # an image the export holds is the message's attachment now; its prompt stays
        placeholder = files.take(asset, f"[image: {name}]")
        return " ".join(p for p in (placeholder, said) if p)
    if kind in ("audio_asset_pointer", "real_time_user_audio_video_asset_pointer"):
        return ""  # the words are in the audio_transcription part beside it
    return as_text(part.get("text"))


def _link(title: Any, url: Any) -> str:
    text, address = as_text(title), as_text(url)
    if address:
        return f"[{text or address}]({address})"
    return text
