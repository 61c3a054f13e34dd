"""A broker of its own for the TLS and SASL tests, as a managed cluster would present itself: a
throw-away CA and a broker certificate made here, one listener per security protocol (PLAINTEXT,
SSL, SASL_PLAINTEXT, SASL_SSL), SASL PLAIN and SCRAM-SHA-256/512 users. Started by `bin/stack
broker` from the stack's own broker settings on free ports, with its data in the test's folder,
so the broker the other tests share stays as it is."""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.deployment import ROOT, free_port

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
USER, PASSWORD = "minicrm", "test-password-1"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: x509.Name, key, issuer: x509.Name, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(folder: Path, name: str) -> tuple[Path, object, x509.Certificate]:
    """A CA of its own: (its certificate's file, its key, its certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(_name(name), key, _name(name), key, ca=True)
    path = folder / f"{name}.pem"
    path.write_bytes(_pem(cert))
    return path, key, cert


def broker_keystore(folder: Path, ca_key, ca_cert: x509.Certificate) -> Path:
    """The broker's PEM key store: its key (PKCS#8) and its certificate, issued by the CA for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(_name("kafka-broker"), key, ca_cert.subject, ca_key, ca=False)
    path = folder / "broker-keystore.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(key_pem + _pem(cert) + _pem(ca_cert))
    return path


@dataclass
class SecureBroker:
    name: str
    ports: dict[str, int]
    ca_file: Path
    other_ca_file: Path

    def bootstrap(self, protocol: str) -> str:
        return f"127.0.0.1:{self.ports[protocol]}"

    def stop(self) -> None:
        subprocess.run([str(ROOT / "bin" / "stack"), "stop", self.name], check=True)


def start(folder: Path) -> SecureBroker:
    """Writes the CA, the key store and the broker's settings into `folder`, starts the broker and
    waits until it serves."""
    ca_file, ca_key, ca_cert = make_ca(folder, "minicrm-test-ca")
    other_ca_file, _, _ = make_ca(folder, "another-ca")
    keystore = broker_keystore(folder, ca_key, ca_cert)
    ports = {protocol: free_port() for protocol in (*PROTOCOLS, "CONTROLLER")}
    base = (ROOT / "stack" / "server.properties").read_text()
    for placeholder, value in {
        "@NODE@": "1",
        "@PORT@": str(ports["PLAINTEXT"]),
        "@CONTROLLER_PORT@": str(ports["CONTROLLER"]),
        "@VOTERS@": f"1@127.0.0.1:{ports['CONTROLLER']}",
        "@DATA@": str(folder / "data"),
        "@REPLICAS@": "1",
        "@MIN_ISR@": "1",
    }.items():
        base = base.replace(placeholder, value)
    listeners = ",".join(f"{p}://127.0.0.1:{ports[p]}" for p in PROTOCOLS)
    jaas = {
        "plain": f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}="{PASSWORD}";',
        "scram-sha-256": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "scram-sha-512": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
    }
    lines = [
        f"listeners={listeners},CONTROLLER://127.0.0.1:{ports['CONTROLLER']}",
        f"advertised.listeners={listeners}",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT," + ",".join(f"{p}:{p}" for p in PROTOCOLS),
        "sasl.enabled.mechanisms=" + ",".join(MECHANISMS),
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={keystore}",
        *(
            f"listener.name.{listener}.{mechanism}.sasl.jaas.config={config}"
            for listener in ("sasl_plaintext", "sasl_ssl")
            for mechanism, config in jaas.items()
        ),
    ]
    conf = folder / "server.properties"
    conf.write_text(
        base + "\n# the secure-Kafka test's listeners (the last value of a key counts)\n" + "\n".join(lines) + "\n"
    )
    name = f"secure-kafka-{uuid.uuid4().hex[:6]}"
    scram = [arg for m in MECHANISMS[1:] for arg in ("--add-scram", f"{m}=[name={USER},password={PASSWORD}]")]
    subprocess.run(
        [str(ROOT / "bin" / "stack"), "broker", name, str(conf), str(ports["SASL_SSL"]), *scram],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return SecureBroker(name, ports, ca_file, other_ca_file)
