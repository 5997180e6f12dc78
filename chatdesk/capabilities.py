"""What a model can take: images, PDFs, how long a conversation (catalog, reports, settings)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

# The dated catalog shipped with the app: what each provider's documentation said on this
# date. A value a provider reports (Ollama's /api/show, OpenRouter's model list, Gemini's
# inputTokenLimit) wins over it, and a provider entry's settings (`vision`, `pdf`,
# `context_tokens`) win over both. Sources, per row group below and in docs/capabilities.md.
CATALOG_DATE = "2026-12-04"


@dataclass(frozen=True)
class Capabilities:
    """What one model takes; None: not known (see `takes_images` for what unknown means)."""

    vision: bool | None = None  # sees images
    pdf: bool | None = None  # reads PDFs as PDFs (else it gets their extracted text)
    context_tokens: int | None = None  # the longest conversation, in tokens

    def over(self, base: Capabilities) -> Capabilities:
        """These values where known, else `base`'s (the later source wins)."""
        return Capabilities(
            self.vision if self.vision is not None else base.vision,
            self.pdf if self.pdf is not None else base.pdf,
            self.context_tokens if self.context_tokens is not None else base.context_tokens)


@dataclass(frozen=True)
class Row:
    """A catalog row: a provider type and a model name pattern (fnmatch, lower case; the
    first row that matches wins, so narrow patterns come first)."""

    kind: str
    pattern: str
    caps: Capabilities


def _row(kind: str, pattern: str, vision: bool | None, pdf: bool | None,
         context: int | None) -> Row:
    return Row(kind, pattern, Capabilities(vision, pdf, context))


CATALOG: tuple[Row, ...] = (
    # Anthropic: docs.anthropic.com/en/docs/about-claude/models/overview (context windows),
    # .../build-with-claude/vision and .../pdf-support ("all active models" take images
    # and PDFs). Claude 2 and Instant took text only.
    _row("anthropic", "claude-2*", False, False, 100_000),
    _row("anthropic", "claude-instant*", False, False, 100_000),
    _row("anthropic", "claude-*", True, True, 200_000),
    # OpenAI: platform.openai.com/docs/models (context windows, "input: text, image"),
    # .../guides/pdf-files (PDF `file` inputs on the models that take text and images).
    # Rows apply to OpenAI's own endpoint; other OpenAI-compatible services are judged by
    # what they report, their settings, or not at all (see `lookup`).
    _row("openai", "gpt-3.5*", False, False, 16_385),
    _row("openai", "gpt-4o*", True, True, 128_000),
    _row("openai", "gpt-4.1*", True, True, 1_047_576),
    _row("openai", "gpt-4-turbo*", True, True, 128_000),
    _row("openai", "gpt-4-32k*", False, False, 32_768),
    _row("openai", "gpt-4", False, False, 8_192),
    _row("openai", "gpt-4-0*", False, False, 8_192),
    _row("openai", "gpt-5*", True, True, 400_000),
    _row("openai", "o1-mini*", False, False, 128_000),
    _row("openai", "o3-mini*", False, False, 200_000),
    _row("openai", "o1*", True, True, 200_000),
    _row("openai", "o3*", True, True, 200_000),
    _row("openai", "o4-mini*", True, True, 200_000),
    # Gemini: ai.google.dev/gemini-api/docs/models (input token limits; "inputs: audio,
    # images, video, text, and PDF"), .../docs/document-processing (PDFs inline).
    _row("gemini", "gemini-1.5-pro*", True, True, 2_097_152),
    _row("gemini", "gemini-*", True, True, 1_048_576),
    # Ollama: ollama.com/search?c=vision and each model's page (its "vision" tag);
    # /api/show reports the truth for the model actually installed. /api/chat takes
    # `images` only: no model gets a PDF as a PDF. Context is left to /api/show.
    _row("ollama", "llama3.2-vision*", True, False, None),
    _row("ollama", "llava*", True, False, None),
    _row("ollama", "bakllava*", True, False, None),
    _row("ollama", "moondream*", True, False, None),
    _row("ollama", "minicpm-v*", True, False, None),
    _row("ollama", "qwen2.5vl*", True, False, None),
    _row("ollama", "qwen3-vl*", True, False, None),
    _row("ollama", "llama4*", True, False, None),
    _row("ollama", "gemma3:1b*", False, False, None),
    _row("ollama", "gemma3*", True, False, None),
    _row("ollama", "mistral-small3.1*", True, False, None),
    _row("ollama", "mistral-small3.2*", True, False, None),
    _row("ollama", "llama3.2", False, False, None),
    _row("ollama", "llama3.1", False, False, None),
    _row("ollama", "llama3", False, False, None),
    _row("ollama", "qwen2.5", False, False, None),
    _row("ollama", "qwen3", False, False, None),
    _row("ollama", "mistral", False, False, None),
    _row("ollama", "phi3*", False, False, None),
    _row("ollama", "phi4", False, False, None),
    _row("ollama", "deepseek-r1", False, False, None),
    _row("ollama", "*", None, False, None),
)

OPENAI_HOST = "api.openai.com"


def catalog(kind: str, model: str, host: str | None = None) -> Capabilities:
    """What the shipped catalog says of this model of this provider type; an OpenAI
    -compatible entry not at api.openai.com gets only "no PDFs" from it (most such
    servers take no `file` parts; OpenRouter reports its own)."""
    if kind == "openai" and host is not None and host != OPENAI_HOST:
        return Capabilities(pdf=False)
    name = model.lower().removeprefix("models/")
    names = [name]
    if kind == "ollama":
        name = name.removeprefix("library/")
        names = [name, name.removesuffix(":latest"), name.partition(":")[0]]
    for row in CATALOG:
        if row.kind == kind and any(fnmatch.fnmatchcase(n, row.pattern) for n in names):
            return row.caps
    return Capabilities()


def from_settings(vision: bool | None, pdf: bool | None,
                  context_tokens: int | None) -> Capabilities:
    """A provider entry's overrides (`vision`, `pdf`, `context_tokens` in its table)."""
    return Capabilities(vision, pdf, context_tokens)


# -- what providers report ----------------------------------------------------------------

def _whole(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def from_ollama_show(payload: Any) -> Capabilities:
    """From Ollama's `POST /api/show` (docs.ollama.com/api/show): `capabilities` lists
    "vision" for a model that sees images; `model_info` holds `<arch>.context_length`.
    /api/chat has no documents, so never PDFs."""
    if not isinstance(payload, dict):
        return Capabilities()
    listed = payload.get("capabilities")
    vision = "vision" in listed if isinstance(listed, list) else None
    info = payload.get("model_info")
    context = None
    if isinstance(info, dict):
        arch = info.get("general.architecture")
        context = _whole(info.get(f"{arch}.context_length")) if isinstance(arch, str) else None
    return Capabilities(vision, False, context)


def from_openrouter_models(payload: Any, model: str) -> Capabilities:
    """From OpenRouter's `GET /models` (openrouter.ai/docs/models): the model's
    `architecture.input_modalities` ("image", "file") and `context_length`."""
    items = payload.get("data") if isinstance(payload, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("id") != model:
            continue
        arch = item.get("architecture")
        modalities = arch.get("input_modalities") if isinstance(arch, dict) else None
        if isinstance(modalities, list):
            return Capabilities("image" in modalities, "file" in modalities,
                                _whole(item.get("context_length")))
        return Capabilities(context_tokens=_whole(item.get("context_length")))
    return Capabilities()


def from_gemini_model(payload: Any) -> Capabilities:
    """From Gemini's `GET /v1beta/models/{model}` (ai.google.dev/api/models): its
    `inputTokenLimit`; what it sees is not reported."""
    if not isinstance(payload, dict):
        return Capabilities()
    return Capabilities(context_tokens=_whole(payload.get("inputTokenLimit")))


def merged(catalogued: Capabilities, reported: Capabilities | None,
           overrides: Capabilities) -> Capabilities:
    """The capabilities to act on: settings over reports over the catalog."""
    caps = catalogued
    if reported is not None:
        caps = reported.over(caps)
    return overrides.over(caps)
