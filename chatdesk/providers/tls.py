"""Which certificates HTTPS trusts: the CA variables (or certifi), plus a provider's ca_bundle."""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path

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
        log.warning("the CA certificates in %s could not be loaded (%s); using certifi's",
                    cafile or capath, exc)
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
    else a new one."""
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
    return ssl_context()
