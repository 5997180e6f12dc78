"""chatdesk: a desktop chat client for many AI providers that survives their outages."""


def __getattr__(name: str) -> str:
    # Read lazily: importlib.metadata costs ~25 ms at every start of the command line.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("chatdesk")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0"
    raise AttributeError(name)
