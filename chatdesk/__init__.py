"""chatdesk: a desktop chat client for many AI providers that survives their outages."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chatdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
