"""Which certificates HTTPS trusts: the CA variables (or certifi), plus a provider's ca_bundle."""

from __future__ import annotations

import logging
import os
import ssl
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Variables naming a PEM file that replaces the default CAs, as OpenSSL and requests read them.
CA_FILE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
CA_DIR_VAR = "SSL_CERT_DIR"


def _from_environment(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(cafile, capath) named by the variables, skipping (and logging) ones that do not exist."""
    cafile = capath = None
    for var in CA_FILE_VARS:
        value = environ.get(var, "").strip()
        if value and Path(value).is_file():
            cafile = value
            break
        if value:
            log.warning("%s names %s, which is not a file; ignored", var, value)
    value = environ.get(CA_DIR_VAR, "").strip()
    if value and Path(value).is_dir():
        capath = value
    elif value:
        log.warning("%s names %s, which is not a folder; ignored", CA_DIR_VAR, value)
    return cafile, capath


def ssl_context(ca_bundle: str | None = None,
                environ: Mapping[str, str] = os.environ) -> ssl.SSLContext:
    """A verifying client context: SSL_CERT_FILE / REQUESTS_CA_BUNDLE / SSL_CERT_DIR if set,
    else certifi's CAs; `ca_bundle` (a PEM file) adds to them."""
    cafile, capath = _from_environment(environ)
    if cafile is None and capath is None:
        import certifi

        cafile = certifi.where()
    try:
        ctx = ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        _warn_unloadable(cafile or capath, exc)
        import certifi

        ctx = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        try:
            ctx.load_verify_locations(cafile=os.path.expanduser(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            # settings.toml was checked on load; the file changed since. The certificate
            # error that follows names ca_bundle.
            log.warning("ca_bundle %s could not be loaded (%s)", ca_bundle, exc)
    return ctx


def _warn_unloadable(where: str | None, exc: Exception) -> None:
    log.warning("the CA certificates in %s could not be loaded (%s); using certifi's",
                where, exc)


class _CertsAtFirstUse(ssl.SSLContext):
    """ssl_context() without a ca_bundle, whose CA certificates are read at its first TLS
    connection: reading certifi's ~150 (~200 M instructions, ~25 ms of CPU) is most of what
    `chatdesk ask` costs beyond its imports, and a process that only talks plain http:// (a
    local server) never needs them. The CA variables are read when it is made, as before."""

    _cafile: str | None
    _capath: str | None
    _loaded: bool
    _lock: threading.Lock

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            cafile, capath = self._cafile, self._capath
            if cafile is None and capath is None:
                import certifi

                cafile = certifi.where()
            try:
                self.load_verify_locations(cafile, capath)
            except (OSError, ssl.SSLError) as exc:
                # OpenSSL reads a CA file whole or not at all (and before the folder), so
                # this holds certifi's CAs only, as the fresh context ssl_context() makes.
                _warn_unloadable(cafile or capath, exc)
                import certifi

                self.load_verify_locations(cafile=certifi.where())

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # asyncio's and anyio's
        self._load()
        return super().wrap_bio(*args, **kwargs)

    def get_ca_certs(self, binary_form: bool = False) -> Any:
        self._load()
        return super().get_ca_certs(binary_form)

    def cert_store_stats(self) -> dict[str, int]:
        self._load()
        return super().cert_store_stats()


def certs_at_first_use(environ: Mapping[str, str] = os.environ) -> ssl.SSLContext:
    """ssl_context() (no ca_bundle) that reads its CA certificates only when it first makes
    a TLS connection (or is asked what it holds)."""
    # As ssl.create_default_context makes a client context, less the loading.
    ctx = _CertsAtFirstUse(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment and hasattr(ctx, "keylog_filename"):
        ctx.keylog_filename = keylog
    ctx._cafile, ctx._capath = _from_environment(environ)
    ctx._loaded = False
    ctx._lock = threading.Lock()
    return ctx


# The default context built ahead on another thread (prepare_default_context), with the
# CA variables it was built under; default_context() takes it once.
_prepared: Future[tuple[tuple[str, ...], ssl.SSLContext]] | None = None
_prepared_lock = threading.Lock()


def _ca_variables(environ: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(environ.get(var, "") for var in (*CA_FILE_VARS, CA_DIR_VAR))


def prepare_default_context() -> None:
    """Start building the default context on a thread, for the next default_context():
    OpenSSL reads the CA file (~15 ms) without holding the GIL, so this overlaps whatever
    the caller does next (the command line: importing the chat engine). Its errors are
    left to default_context()."""
    global _prepared
    future: Future[tuple[tuple[str, ...], ssl.SSLContext]] = Future()
    variables = _ca_variables(os.environ)

    def build() -> None:
        try:
            future.set_result((variables, ssl_context()))
        except BaseException as exc:
            future.set_exception(exc)

    with _prepared_lock:
        _prepared = future
    threading.Thread(target=build, name="chatdesk-tls", daemon=True).start()


def default_context() -> ssl.SSLContext:
    """ssl_context(): the one prepared ahead when it was built under the same variables,
    else a new one that reads its CA certificates at its first TLS connection."""
    global _prepared
    with _prepared_lock:
        future, _prepared = _prepared, None
    if future is not None:
        try:
            variables, ctx = future.result()
        except Exception:
            pass  # built again below, where its error (if any) belongs
        else:
            if variables == _ca_variables(os.environ):
                return ctx
    return certs_at_first_use()
