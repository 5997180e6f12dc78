"""Test-wide setup: headless Qt, no real keyring, loopback fake providers."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch a developer's real keyring or data dir from a test.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
for _var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
             "MISTRAL_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST", "CHATDESK_DATA_DIR"):
    os.environ.pop(_var, None)
pytest_plugins = ["tests.fakes.fixtures"]
