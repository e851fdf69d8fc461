"""SMTP notifier against a real aiosmtpd server that requires STARTTLS and AUTH."""

from __future__ import annotations

import datetime
import email
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bridge.notify.base import MessageRef, Outcome
from bridge.notify.email_smtp import SmtpConfig, SmtpNotifier
from tests.bridge.notify.helpers import assert_no_secret_leak, sample_notification
from tests.harness.services import free_port

PASSWORD = "smtp-pa55word-secret"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost that is its own CA, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    messages: list[Message] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)
    answer: str = "250 Message accepted for delivery"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answer.startswith("250"):
            self.messages.append(email.message_from_bytes(envelope.content))
            self.over_tls.append(session.ssl is not None)
        return self.answer


@dataclass
class SmtpServer:
    port: int
    ca_file: Path
    received: Received


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(
        _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    received = Received()
    port = free_port()
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    yield SmtpServer(port, cert, received)
    controller.stop()


def _notifier(server: SmtpServer, *, password: str = PASSWORD) -> SmtpNotifier:
    config = SmtpConfig(
        host="127.0.0.1",
        port=server.port,
        username="secmon",
        password=password,
        ca_file=server.ca_file,
        from_address="secmon@example.com",
        to=["security-team@example.com", "ciso@example.com"],
        message_id_domain="secmon.example.com",
    )
    return SmtpNotifier(name="email_security_team", config=config)


async def test_sends_multipart_over_starttls(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = _notifier(smtp_server)

    first = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert first.outcome is Outcome.OK
    assert first.ref == MessageRef(
        "email_security_team", "<secmon.a-42.firing.0@secmon.example.com>"
    )
    resolved = sample_notification(state="resolved", previous=first.ref)
    assert (await notifier.send(payload=notifier.build_payload(resolved))).outcome is Outcome.OK

    assert smtp_server.received.over_tls == [True, True]
    message, update = smtp_server.received.messages
    assert message["Subject"] == "[secmon CRITICAL] Kong admin API exposed"
    assert message["To"] == "security-team@example.com, ciso@example.com"
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_payload(decode=True) for p in message.walk()}
    assert b"Remediation:" in parts["text/plain"]
    assert b"<h2>Kong admin API exposed</h2>" in parts["text/html"]
    assert update["In-Reply-To"] == "<secmon.a-42.firing.0@secmon.example.com>"
    assert update["Subject"] == "[secmon CRITICAL] RESOLVED: Kong admin API exposed"
    assert_no_secret_leak(PASSWORD, caplog)


async def test_wrong_password_is_permanent_and_leaks_nothing(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-smtp-password-1"
    notifier = _notifier(smtp_server, password=wrong)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.status) == (Outcome.PERMANENT, 535)
    assert_no_secret_leak(wrong, caplog, texts=[result.error])


async def test_transient_4xx_is_retryable(smtp_server: SmtpServer) -> None:
    smtp_server.received.answer = "451 Requested action aborted: local error"
    notifier = _notifier(smtp_server)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.status) == (Outcome.RETRYABLE, 451)


async def test_untrusted_certificate_is_refused_retryably(smtp_server: SmtpServer) -> None:
    config = SmtpConfig(
        host="127.0.0.1",
        port=smtp_server.port,
        from_address="secmon@example.com",
        to=["security-team@example.com"],
    )
    notifier = SmtpNotifier(name="email_ciso", config=config)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert result.outcome is Outcome.RETRYABLE
    assert smtp_server.received.messages == []
