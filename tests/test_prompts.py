"""The prompt library's core: {{variables}}, filling them in, and the "/" fuzzy ranking."""

from __future__ import annotations

import pytest

from chatdesk.prompts import (
    MissingValueError,
    Prompt,
    Route,
    clean_name,
    fill,
    find,
    parse_route,
    parse_values,
    variables,
)


def prompt(name: str, text: str = "", uses: int = 0, last: str | None = None) -> Prompt:
    return Prompt(0, name, text or name, "2026-01-01", "2026-01-01", uses, last)


def test_variables_are_named_once_in_order_of_first_use() -> None:
    text = "Translate {{text}} into {{ language }}; keep {{text}} short. {{ }} {x} {{1bad}}"
    assert variables(text) == ["text", "language"]
    assert variables("no variables here") == []


def test_fill_replaces_every_occurrence_and_leaves_the_rest() -> None:
    text = "Dear {{name}}, {{ name }}! {single} stays"
    assert fill(text, {"name": "Ada", "unused": "x"}) == "Dear Ada, Ada! {single} stays"
    assert fill("a value may hold {{braces}}", {"braces": "{{x}}"}) == \
        "a value may hold {{x}}"  # not filled again


def test_a_missing_value_is_one_sentence_naming_all_of_them() -> None:
    with pytest.raises(MissingValueError) as caught:
        fill("{{a}} and {{b}} and {{c}}", {"b": "2"})
    message = str(caught.value)
    assert message.count(".") == 1 and message.endswith(".")
    assert "a, c" in message and "--var a=" in message and "--var c=" in message


def test_var_pairs_and_routes_parse() -> None:
    assert parse_values(["a=1", "b=x=y", "empty="]) == {"a": "1", "b": "x=y", "empty": ""}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_values(["novalue"])
    assert parse_route("ollama:llama3.2:3b") == Route("ollama", "llama3.2:3b")
    assert parse_route(" openai ") == Route("openai", None)
    assert str(Route("openai", "gpt-4o")) == "openai:gpt-4o"
    with pytest.raises(ValueError):
        parse_route(":model")


def test_names_are_one_trimmed_line() -> None:
    assert clean_name("  Weekly\n report ") == "Weekly report"
    with pytest.raises(ValueError):
        clean_name("   ")


def test_find_ranks_prefix_then_word_then_substring_then_text_then_subsequence() -> None:
    library = [
        prompt("sequence review", "look at it"),           # subsequence s-u-m? no
        prompt("code summary", "summarize the diff"),        # a word starts with "sum"
        prompt("assume nothing", "be careful"),              # "sum" inside the name
        prompt("translate", "then summarize it"),            # "sum" in the text only
        prompt("summarize", "Summarize {{text}}"),           # name prefix
        prompt("s_u_m_s", "plain"),                          # a word? "s" no; subsequence
        prompt("unrelated", "nothing"),
    ]
    names = [p.name for p in find(library, "sum")]
    assert names == ["summarize", "code summary", "assume nothing", "translate", "s_u_m_s"]
    assert find(library, "SUMM")[0].name == "summarize"  # case does not matter
    assert find(library, "zzz") == []


def test_ties_go_to_the_most_used_then_the_latest_then_by_name() -> None:
    library = [prompt("b"), prompt("a"), prompt("c", uses=3),
               prompt("d", uses=3, last="2026-02-01"), prompt("e", uses=1)]
    assert [p.name for p in find(library, "")] == ["d", "c", "e", "a", "b"]
