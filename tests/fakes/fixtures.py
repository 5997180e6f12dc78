"""pytest fixtures that start loopback fake providers for one test and stop them after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .ports import BlackHole
from .server import FakeProvider


def _serve(provider_type: str) -> Iterator[FakeProvider]:
    with FakeProvider(provider_type) as fake:
        yield fake


@pytest.fixture
def fake_anthropic() -> Iterator[FakeProvider]:
    yield from _serve("anthropic")


@pytest.fixture
def fake_openai() -> Iterator[FakeProvider]:
    yield from _serve("openai")


@pytest.fixture
def fake_gemini() -> Iterator[FakeProvider]:
    yield from _serve("gemini")


@pytest.fixture
def fake_ollama() -> Iterator[FakeProvider]:
    yield from _serve("ollama")


@pytest.fixture
def fake_provider() -> Iterator[Callable[..., FakeProvider]]:
    """Factory: `fake_provider("openai", api_key=..., require_auth=...)` → a started fake.
    Every fake made is stopped when the test ends."""
    made: list[FakeProvider] = []

    def make(provider_type: str, **kwargs: Any) -> FakeProvider:
        fake = FakeProvider(provider_type, **kwargs).start()
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.stop()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    """A listener whose connects hang: point a client at `black_hole.base_url` for a
    connect timeout."""
    with BlackHole() as hole:
        yield hole
