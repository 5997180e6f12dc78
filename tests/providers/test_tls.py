"""HTTPS trust (ca_bundle, SSL_CERT_FILE, REQUESTS_CA_BUNDLE), TLS errors named as such, and
no key sent in clear over plain http:// to another machine."""

from __future__ import annotations

import asyncio
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
    assert tls.default_context() is not first  # taken once; the next is new
    assert len(built) == 2
    # Built under other CA variables than the send's: not used.
    tls.prepare_default_context()
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca_pem))
    tls.default_context()
    assert len(built) == 4
