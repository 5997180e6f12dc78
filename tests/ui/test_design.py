"""The design tokens keep docs/design.md's promises: contrast, sizes, one palette shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatdesk.ui import design

DOC = Path(__file__).resolve().parents[2] / "docs" / "design.md"


def test_contrast_matches_known_values() -> None:
    assert design.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert design.contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert design.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert design.contrast("#ffffff", "#767676") == design.contrast("#767676", "#ffffff")


def low_pairs(theme: str, pairs: tuple[tuple[str, str], ...], floor: float) -> dict[str, float]:
    """The pairs of `theme` whose contrast is under `floor`, with their ratios."""
    palette = design.PALETTES[theme]
    ratios = {f"{fg} on {bg}": design.contrast(getattr(palette, fg), getattr(palette, bg))
              for fg, bg in pairs}
    return {pair: round(ratio, 2) for pair, ratio in ratios.items() if ratio < floor}


@pytest.mark.parametrize("theme", sorted(design.PALETTES))
def test_every_text_pair_reads_at_4_5_to_1(theme: str) -> None:
    assert low_pairs(theme, design.TEXT_PAIRS, design.TEXT_CONTRAST) == {}


@pytest.mark.parametrize("theme", sorted(design.PALETTES))
def test_focus_rings_and_borders_stand_out_at_3_to_1(theme: str) -> None:
    assert low_pairs(theme, design.NON_TEXT_PAIRS, design.NON_TEXT_CONTRAST) == {}


def test_the_assistant_and_you_are_told_apart_by_more_than_a_faint_panel() -> None:
    # Your bubble must be visible against the window as a shape (not only as a hint).
    for palette in design.PALETTES.values():
        assert design.contrast(palette.user_bubble, palette.window) >= 1.15


def test_every_colour_is_a_hex_triplet() -> None:
    for palette in design.PALETTES.values():
        for name in design.tokens():
            assert re.fullmatch(r"#[0-9a-f]{6}", getattr(palette, name)), name


def test_the_doc_states_the_numbers_the_code_uses() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for value in (f"{design.BODY_PX} px", f"{design.COLUMN_MAX_PX} px",
                  f"{design.LINE_HEIGHT}", f"{design.SMALL_PX} px"):
        assert value in doc, value
    for palette in design.PALETTES.values():
        for name in design.tokens():
            assert getattr(palette, name) in doc, name
    assert design.BODY_PX >= 14 and 1.4 <= design.LINE_HEIGHT <= 1.6
