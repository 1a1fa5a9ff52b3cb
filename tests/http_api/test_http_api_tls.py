"""Client certificates and TLS failures against a real local HTTPS server."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.errors import ConnectionFailedError
from toucan_connectors.http_api import HttpAPIConnector

from .helpers import FAST, make_source

x509 = pytest.importorskip("cryptography.x509")
hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of a test CA and of the server and client certificates it signed."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_both: Path
    stranger_cert: Path
    stranger_key: Path


def _name(common_name: str) -> object:
    return x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str, key: object, issuer: str, issuer_key: object, *, ca: bool = False
) -> object:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: object | None = None, key: object | None = None) -> Path:
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]
    if key is not None:
        data += key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """Make a CA, a server certificate for 127.0.0.1 and two client certificates."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, server_key, client_key, stranger_key = (
        ec.generate_private_key(ec.SECP256R1()) for _ in range(4)
    )
    ca = _issue("Test CA", ca_key, "Test CA", ca_key, ca=True)
    server = _issue("127.0.0.1", server_key, "Test CA", ca_key)
    client = _issue("client", client_key, "Test CA", ca_key)
    stranger = _issue("stranger", stranger_key, "stranger", stranger_key)
    return TlsFiles(
        ca=_write(folder / "ca.pem", ca),
        server_cert=_write(folder / "server.pem", server),
        server_key=_write(folder / "server.key", key=server_key),
        client_cert=_write(folder / "client.pem", client),
        client_key=_write(folder / "client.key", key=client_key),
        client_both=_write(folder / "client-both.pem", client, client_key),
        stranger_cert=_write(folder / "stranger.pem", stranger),
        stranger_key=_write(folder / "stranger.key", key=stranger_key),
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        subject = dict(item[0] for item in peer["subject"]) if peer else {}
        body = json.dumps([{"client": subject.get("commonName")}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


@pytest.fixture
def https_server(tls_files: TlsFiles) -> Iterator[str]:
    """Serve HTTPS on 127.0.0.1, asking every client for a certificate of the test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
    context.load_verify_locations(tls_files.ca)
    context.verify_mode = ssl.CERT_REQUIRED

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def trust_test_ca(tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))


@pytest.mark.parametrize("files", ["pair", "both"])
def test_client_certificate_is_presented(
    https_server: str, tls_files: TlsFiles, trust_test_ca: None, files: str
) -> None:
    cert = (
        [str(tls_files.client_cert), str(tls_files.client_key)]
        if files == "pair"
        else [str(tls_files.client_both)]
    )
    connector = HttpAPIConnector(name="api", baseroute=https_server, cert=cert, retry_policy=FAST)

    df = connector.get_df(make_source(url="me"))

    assert_frame_equal(df, pd.DataFrame({"client": ["client"]}))


def test_unknown_server_certificate_fails_once_and_points_to_verify(
    https_server: str, tls_files: TlsFiles, sleeps: list[float]
) -> None:
    cert = [str(tls_files.client_cert), str(tls_files.client_key)]
    connector = HttpAPIConnector(name="api", baseroute=https_server, cert=cert, retry_policy=FAST)

    with pytest.raises(
        ConnectionFailedError,
        match=r"failed the TLS handshake \(.*certificate verify failed.*\): check the server's "
        "certificate, the connector's `verify` setting and its client `cert`.",
    ):
        connector.get_df(make_source(url="me"))

    assert sleeps == []


def test_client_certificate_of_another_authority_is_refused_clearly(
    https_server: str, tls_files: TlsFiles, trust_test_ca: None, sleeps: list[float]
) -> None:
    cert = [str(tls_files.stranger_cert), str(tls_files.stranger_key)]
    connector = HttpAPIConnector(name="api", baseroute=https_server, cert=cert, retry_policy=FAST)

    with pytest.raises(
        ConnectionFailedError,
        match=r"failed the TLS handshake \(.*\): check the server's "
        "certificate, the connector's `verify` setting and its client `cert`.",
    ):
        connector.get_df(make_source(url="me"))

    assert sleeps == []
