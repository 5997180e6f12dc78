"""HTTPS trust (ca_bundle, SSL_CERT_FILE, REQUESTS_CA_BUNDLE), TLS errors named as such, and
no key sent in clear over plain http:// to another machine."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk import wording
from chatdesk.cli import main
from chatdesk.providers import errors
from chatdesk.providers.base import Endpoint, Provider
from chatdesk.providers.registry import make_provider, new_http_client
from chatdesk.settings import ProviderSettings, plain_http_host
from tests.fakes.server import FakeProvider

pytest.importorskip("cryptography")
from tests.fakes.certs import CertFiles, make_certs  # noqa: E402


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_fake(certs: CertFiles) -> Iterator[FakeProvider]:
    with FakeProvider("openai", tls=certs.server_context()) as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR"):
        monkeypatch.delenv(var, raising=False)


def settings_for(fake: FakeProvider, ca_bundle: str | None = None) -> ProviderSettings:
    return ProviderSettings("tls", "openai", "gpt-test", base_url=fake.base_url,
                            ca_bundle=ca_bundle)


async def models(fake: FakeProvider, ca_bundle: str | None = None) -> list[str]:
    p = settings_for(fake, ca_bundle)
    async with new_http_client([p]) as client:
        provider: Provider = make_provider(
            "openai", Endpoint("tls", fake.base_url, fake.api_key), client)
        return [m.id for m in await provider.list_models()]


async def test_an_unknown_ca_is_a_certificate_error_that_says_what_to_set(
    tls_fake: FakeProvider,
) -> None:
    with pytest.raises(errors.CertificateError) as err:
        await models(tls_fake)
    assert err.value.kind == errors.ErrorClass.CERTIFICATE
    assert isinstance(err.value, errors.ConnectionFailed)  # fails over like an outage
    sentence = wording.provider_failure(err.value, "tls", tls_fake.base_url)
    assert sentence.startswith(f"The certificate of 127.0.0.1:{tls_fake.port} could not be "
                               "verified (certificate verify failed: ")
    assert "set ca_bundle for this provider or SSL_CERT_FILE" in sentence
    assert "connection failed" not in sentence.lower()
    assert "ca_bundle" in wording.advice(err.value)
    assert tls_fake.requests == []


async def test_ca_bundle_makes_the_same_server_trusted(
    tls_fake: FakeProvider, certs: CertFiles,
) -> None:
    assert await models(tls_fake, str(certs.ca_pem)) == tls_fake.models
    assert tls_fake.requests[-1].headers["authorization"] == f"Bearer {tls_fake.api_key}"


@pytest.mark.parametrize("var", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
async def test_the_ca_variables_are_honoured(
    tls_fake: FakeProvider, certs: CertFiles, monkeypatch: pytest.MonkeyPatch, var: str,
) -> None:
    monkeypatch.setenv(var, str(certs.ca_pem))
    assert await models(tls_fake) == tls_fake.models


async def test_ca_bundle_applies_to_its_own_host_only(
    tls_fake: FakeProvider, certs: CertFiles,
) -> None:
    other = ProviderSettings("other", "openai", "m", base_url="https://example.invalid/v1",
                             ca_bundle=str(certs.ca_pem))
    async with new_http_client([other]) as client:
        provider = make_provider("openai", Endpoint("tls", tls_fake.base_url, "k"), client)
        with pytest.raises(errors.CertificateError):
            await provider.list_models()


async def test_https_to_a_plain_http_port_is_a_tls_error() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    async with server, new_http_client() as client:
        provider = make_provider("openai", Endpoint("x", url, "k"), client)
        with pytest.raises(errors.TlsError) as err:
            await provider.list_models()
    assert not isinstance(err.value, errors.CertificateError)
    assert "TLS handshake" in wording.provider_failure(err.value, "x", url)


# -- plain http:// off this machine --------------------------------------------------------

@pytest.mark.parametrize(
    ("url", "host"),
    [("http://10.0.0.5:8000/v1", "10.0.0.5:8000"), ("http://gpu-box", "gpu-box"),
     ("https://10.0.0.5", None), ("http://localhost:1234", None),
     ("http://127.0.0.2:80", None), ("http://[::1]:8080", None), ("http://a.localhost", None)],
)
def test_plain_http_host(url: str, host: str | None) -> None:
    assert plain_http_host(url) == host


async def test_a_key_is_not_sent_in_clear_unless_the_entry_allows_it() -> None:
    async with new_http_client() as client:
        with pytest.raises(errors.InsecureHttp) as err:
            make_provider("openai", Endpoint("lan", "http://10.0.0.5:8000/v1", "sk-x"), client)
        line = "set `allow_insecure_http = true` under [providers.lan] in settings.toml"
        assert line in str(err.value)
        assert line in wording.provider_failure(err.value, "lan", "http://10.0.0.5:8000/v1")
        assert "sk-x" not in str(err.value)
        # No key, a loopback host, or the entry's consent: the provider is made.
        make_provider("ollama", Endpoint("lan", "http://10.0.0.5:11434"), client)
        make_provider("openai", Endpoint("lan", "http://127.0.0.1:8000/v1", "sk-x"), client)
        make_provider("openai", Endpoint("lan", "http://10.0.0.5:8000/v1", "sk-x", True), client)


def test_ask_refuses_a_plain_http_provider_and_says_which_line_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(data))
    data.mkdir()
    # TEST-NET-1: were anything sent, it would hang until the connect timeout.
    (data / "settings.toml").write_text(
        '[failover]\norder = ["lan"]\nconnect_timeout_s = 30\n\n[providers.lan]\n'
        'type = "openai"\nmodel = "m"\nbase_url = "http://192.0.2.1:9/v1"\n'
        'api_key_env = "LAN_KEY"\n')
    monkeypatch.setenv("LAN_KEY", "sk-lan-secret")
    started = time.monotonic()
    code = main(["ask", "hello"])
    out, err = capsys.readouterr()
    assert code != 0 and time.monotonic() - started < 10, err
    assert "set `allow_insecure_http = true` under [providers.lan] in settings.toml" in err
    assert "sk-lan-secret" not in err + out


def test_the_failover_line_of_a_certificate_error_says_what_to_set() -> None:
    line = wording.attempt_summary("corp", errors.ErrorClass.CERTIFICATE, None, "")
    assert line == ("corp failed: certificate not verified (set ca_bundle for corp or "
                    "SSL_CERT_FILE)")


def test_the_default_context_built_ahead_is_used_once_under_the_same_variables(
    certs: CertFiles, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chatdesk.providers import tls

    built: list[str | None] = []
    real = tls.ssl_context

    def counting(ca_bundle: str | None = None, environ: object = None) -> object:
        built.append(ca_bundle)
        return real(ca_bundle)

    monkeypatch.setattr(tls, "ssl_context", counting)
    tls.prepare_default_context()
    first = tls.default_context()
    assert built == [None]  # the one prepared: nothing built again
    second = tls.default_context()
    assert second is not first  # taken once; the next is new, reading its CAs when used
    assert built == [None] and isinstance(second, tls._CertsAtFirstUse)
    # Built under other CA variables than the send's: not used.
    tls.prepare_default_context()
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca_pem))
    third = tls.default_context()
    assert len(built) == 2 and isinstance(third, tls._CertsAtFirstUse)
    assert [c["subject"] for c in third.get_ca_certs()] == [
        ((("commonName", "chatdesk test CA"),),)]


# -- the default context reads its CA certificates at its first TLS connection -----------

@pytest.fixture
def ca_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each time any context in this process reads CA certificates."""
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, cafile: object = None, capath: object = None,
                 cadata: object = None) -> None:
        loads.append(cafile or capath)
        real(self, cafile, capath, cadata)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    return loads


async def test_plain_http_never_reads_the_ca_certificates(ca_loads: list[object]) -> None:
    with FakeProvider("openai") as fake:
        async with new_http_client([settings_for(fake)]) as client:
            provider = make_provider("openai", Endpoint("local", fake.base_url,
                                                        fake.api_key), client)
            assert [m.id for m in await provider.list_models()] == fake.models
            assert [m.id for m in await provider.list_models()] == fake.models
    assert ca_loads == []


async def test_the_cas_are_read_once_at_the_first_tls_connection(
    tls_fake: FakeProvider, certs: CertFiles, monkeypatch: pytest.MonkeyPatch,
    ca_loads: list[object],
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca_pem))
    async with new_http_client([settings_for(tls_fake)]) as client:
        provider = make_provider("openai", Endpoint("tls", tls_fake.base_url,
                                                    tls_fake.api_key), client)
        assert ca_loads == []
        assert [m.id for m in await provider.list_models()] == tls_fake.models
    async with new_http_client([settings_for(tls_fake)]) as client:
        provider = make_provider("openai", Endpoint("tls", tls_fake.base_url,
                                                    tls_fake.api_key), client)
        await provider.list_models()
        await provider.list_models()
    assert ca_loads == [str(certs.ca_pem)] * 2  # one per client, none per connection


@pytest.mark.parametrize("variable", [None, "SSL_CERT_FILE", "SSL_CERT_DIR", "broken"])
def test_the_context_read_at_first_use_is_the_one_ssl_context_makes(
    certs: CertFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, variable: str | None,
) -> None:
    from chatdesk.providers import tls

    if variable == "SSL_CERT_DIR":
        monkeypatch.setenv(variable, str(certs.ca_pem.parent))
    elif variable == "broken":  # a file that is not PEM: a warning, and certifi's CAs
        (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "broken.pem"))
    elif variable:
        monkeypatch.setenv(variable, str(certs.ca_pem))
    eager = tls.ssl_context()
    warned = [r.getMessage() for r in caplog.records]
    caplog.clear()
    lazy = tls.certs_at_first_use()
    assert isinstance(lazy, tls._CertsAtFirstUse)
    for attribute in ("protocol", "options", "verify_mode", "verify_flags", "check_hostname",
                      "minimum_version", "maximum_version", "post_handshake_auth"):
        assert getattr(lazy, attribute) == getattr(eager, attribute), attribute
    assert lazy.get_ca_certs(binary_form=True) == eager.get_ca_certs(binary_form=True)
    assert lazy.cert_store_stats() == eager.cert_store_stats()
    assert [r.getMessage() for r in caplog.records] == warned
    assert bool(warned) == (variable == "broken")


def test_ask_reads_no_ca_file_ahead_unless_a_provider_uses_https(tmp_path: Path) -> None:
    from chatdesk.context import AppContext
    from chatdesk.providers import tls

    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text(
        '[failover]\norder = ["local"]\n\n[providers.local]\ntype = "openai"\nmodel = "m"\n'
        'base_url = "http://127.0.0.1:9/v1"\n')
    ctx = AppContext.create(str(data))
    try:
        tls.default_context()  # takes whatever an earlier test prepared
        ctx.prepare_to_send()
        assert tls._prepared is None
        with open(data / "settings.toml", "a") as f:
            f.write('\n[providers.cloud]\ntype = "anthropic"\nmodel = "m"\n')
        ctx = AppContext.create(str(data))
        ctx.prepare_to_send()
        assert tls._prepared is not None
        assert not isinstance(tls.default_context(), tls._CertsAtFirstUse)
    finally:
        ctx.close()
