"""The design tokens of docs/design.md: type scale, spacing, radii, and the two palettes."""

from __future__ import annotations

from dataclasses import dataclass, fields

# Sizes are CSS pixels at 100 % scale (Qt's device-independent pixels): Qt multiplies them
# by the screen's scale, so 15 px is 15 px at 100 % and 30 physical pixels at 200 %.
BODY_PX = 15
SMALL_PX = 13  # provenance, timestamps, the conversation list's second line
CAPTION_PX = 12  # the shortest labels only (keyboard hints, sizes); never sentences
CODE_PX = 14
HEADING_PX = (24, 20, 17)  # h1, h2, h3; h4-h6 are body size, bold
LINE_HEIGHT = 1.5  # of body text; headings 1.25, code 1.45
CODE_LINE_HEIGHT = 1.45

COLUMN_MAX_PX = 760  # the text column; the composer has the same width and is centred with it
SIDEBAR_PX = 272  # its default width; the user may drag it between 200 and 420
SIDEBAR_RANGE_PX = (200, 420)
SPACE = (4, 8, 12, 16, 24, 32, 48)  # every gap and padding is one of these
RADIUS_CONTROL = 6  # buttons, fields, chips
RADIUS_CARD = 10  # your messages, code blocks, notices
RADIUS_COMPOSER = 14
USER_BUBBLE_MAX = 0.85  # your message's bubble: at most this part of the column

# Contrast floors (WCAG 2.2): text and its background; focus rings and control borders
# against what surrounds them (1.4.11, non-text contrast).
TEXT_CONTRAST = 4.5
NON_TEXT_CONTRAST = 3.0


@dataclass(frozen=True)
class Palette:
    """One theme's colours, as #rrggbb."""

    window: str  # behind everything: the transcript and the composer's surround
    surface: str  # the sidebar
    raised: str  # the composer, menus, the conversation panel
    text: str
    muted: str  # second lines, provenance, placeholders
    accent: str  # the send button, the focus ring, the selected row's bar
    on_accent: str  # text on accent
    link: str
    user_bubble: str  # your message's background, set apart from the assistant's text
    selected: str  # the selected conversation row's background
    code_bg: str
    code_header: str  # the code block's header (language, Copy)
    quote_bar: str
    border: str  # control outlines (non-text contrast against window and raised)
    warning: str  # text: pending, stopped
    warning_bg: str
    danger: str  # text: failed, refused
    danger_bg: str
    success: str  # text: up
    highlight: str  # selected text and the selected list row
    on_highlight: str
    disabled: str  # text of a control that cannot be used now


LIGHT = Palette(
    window="#ffffff",
    surface="#f5f6f8",
    raised="#ffffff",
    text="#1f2328",
    muted="#57606a",
    accent="#0b63ce",
    on_accent="#ffffff",
    link="#0a5ac2",
    user_bubble="#e6ecf4",
    selected="#e3e9f2",
    code_bg="#f4f6f8",
    code_header="#e9edf1",
    quote_bar="#c4ccd6",
    border="#8c959f",
    warning="#7d4e00",
    warning_bg="#fff4d6",
    danger="#b3261e",
    danger_bg="#fdecea",
    success="#1a7f37",
    highlight="#0b63ce",
    on_highlight="#ffffff",
    disabled="#8c959f",
)

DARK = Palette(
    window="#1e1f22",
    surface="#26282c",
    raised="#2b2d31",
    text="#e6e8eb",
    muted="#a3abb5",
    accent="#4c8dff",
    on_accent="#0b0d10",
    link="#79b8ff",
    user_bubble="#2f3339",
    selected="#353a42",
    code_bg="#16181b",
    code_header="#23262a",
    quote_bar="#4b525c",
    border="#7b838d",
    warning="#e3b341",
    warning_bg="#3a3220",
    danger="#ff8a80",
    danger_bg="#3d2323",
    success="#56d364",
    highlight="#2f6fdc",
    on_highlight="#ffffff",
    disabled="#7d8188",
)

PALETTES = {"light": LIGHT, "dark": DARK}

# Every pair the window draws text with: (text token, background token).
TEXT_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (fg, bg)
    for fg in ("text", "muted", "link")
    for bg in ("window", "surface", "raised", "user_bubble", "selected", "code_bg",
               "code_header")
) + (
    ("on_accent", "accent"),
    ("warning", "warning_bg"), ("warning", "window"),
    ("danger", "danger_bg"), ("danger", "window"),
    ("success", "window"), ("success", "surface"),
    ("on_highlight", "highlight"),
)
# Things people must see that are not text: (token, background token).
NON_TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("accent", "window"), ("accent", "surface"), ("accent", "raised"),
    ("accent", "selected"), ("border", "window"), ("border", "raised"),
    ("highlight", "window"), ("highlight", "surface"),
    # Disabled text is exempt from 4.5:1 (WCAG 1.4.3) but must still be seen.
    ("disabled", "window"), ("disabled", "raised"),
)


def tokens() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Palette))


def relative_luminance(color: str) -> float:
    """WCAG 2.2's relative luminance of #rrggbb."""
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# The usage plot's series, one per provider in order (Okabe–Ito, told apart with colour-blind
# eyes too; the dark set is lightened to stand out against the dark window).
CHART_LIGHT = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c6d1f")
CHART_DARK = ("#4ea8ea", "#f0b429", "#2fc597", "#e39ac4", "#8fd0f5", "#ff8a4c", "#d9c36a")
