"""[tls] cert_file/key_file with a real certificate chain (src/net/tls_context.hpp).

A private root CA signs an intermediate CA, which signs the server's certificate for
mx.example.test; cert_file holds the server's certificate followed by the intermediate, as a CA
delivers them. A client that trusts only the root must be able to verify the server by name,
over STARTTLS and implicit TLS alike, which it can only if the server sends the whole chain. No
certificate is generated into data_dir/tls/ then. A key that does not match the certificate, or a
file that is not there, is a configuration error (issue 11): `check-config` and `serve` exit 2
with one line naming the key and the file, and nothing listens.
"""
import socket
import ssl
import subprocess

import pytest

from conftest import HOSTNAME, RawSmtp
from test_hostile_support import listener, make_server


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """root -> intermediate -> mx.example.test, all ECDSA P-256. -> dict of paths."""
    d = tmp_path_factory.mktemp("pki")
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\n"
                              "keyUsage=critical,keyCertSign,cRLSign\n")
    (d / "leaf.ext").write_text(f"basicConstraints=critical,CA:FALSE\n"
                                f"subjectAltName=DNS:{HOSTNAME}\n"
                                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    for name in ("root", "intermediate", "leaf", "other"):
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=d)
    openssl("req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=mailroom test root",
            "-days", "2", "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "root.pem", cwd=d)
    for name, subject, issuer, ext in (("intermediate", "/CN=mailroom test intermediate", "root",
                                        "ca.ext"),
                                       ("leaf", f"/CN={HOSTNAME}", "intermediate", "leaf.ext")):
        openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr",
                cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey",
                f"{issuer}.key", "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext,
                "-out", f"{name}.pem", cwd=d)
    (d / "chain.pem").write_text((d / "leaf.pem").read_text() +
                                 (d / "intermediate.pem").read_text())
    return {"root": d / "root.pem", "chain": d / "chain.pem", "leaf_only": d / "leaf.pem",
            "key": d / "leaf.key", "other_key": d / "other.key"}


def verifying_context(root):
    return ssl.create_default_context(cafile=str(root))  # check_hostname, CERT_REQUIRED


def starttls_verified(srv, root, name=None):
    """EHLO, STARTTLS, a handshake verifying the server as mx.example.test against `root` only."""
    c = RawSmtp(srv.port(name))
    assert c.reply()[0] == 220
    c.expect("EHLO client.example.org", 250)
    c.expect("STARTTLS", 220)
    c.sock = verifying_context(root).wrap_socket(c.sock, server_hostname=HOSTNAME)
    c.expect("EHLO client.example.org", 250)
    return c


def tls_servers(mailroom, pki, cert):
    return make_server(mailroom, [listener(name="starttls", tls="starttls"),
                                  listener(name="implicit", tls="implicit")],
                       extra={"tls": {"cert_file": str(cert), "key_file": str(pki["key"])}})


def test_configured_chain_is_served_and_verifies_by_name(mailroom, pki):
    srv = tls_servers(mailroom, pki, pki["chain"])
    c = starttls_verified(srv, pki["root"], "starttls")
    assert c.sock.getpeercert()["subject"] == ((("commonName", HOSTNAME),),)
    c.expect("QUIT", 221)
    raw = socket.create_connection(("127.0.0.1", srv.port("implicit")), timeout=10)
    with verifying_context(pki["root"]).wrap_socket(raw, server_hostname=HOSTNAME) as s:
        assert s.recv(512).startswith(b"220 ")
    assert not (srv.data_dir / "tls").exists(), "a certificate was generated although one is set"


def test_control_leaf_without_its_intermediate_does_not_verify(mailroom, pki):
    """The check above can fail: the same server certificate without the intermediate cannot be
    verified by a client that trusts only the root."""
    srv = tls_servers(mailroom, pki, pki["leaf_only"])
    with pytest.raises(ssl.SSLCertVerificationError):
        starttls_verified(srv, pki["root"], "starttls")


@pytest.mark.parametrize("problem", ["key does not match", "missing file"])
def test_unusable_certificate_stops_serve_with_one_line(mailroom, pki, problem, tmp_path):
    tls = {"cert_file": str(pki["chain"]), "key_file": str(pki["other_key"])}
    key, named = "tls.key_file", "other.key"
    if problem == "missing file":
        tls = {"cert_file": str(tmp_path / "nope.pem"), "key_file": str(pki["key"])}
        key, named = "tls.cert_file", "nope.pem"
    srv = mailroom([listener(tls="starttls")], extra={"tls": tls})
    for command in (["check-config"], ["serve"]):
        r = srv.cli(*command, check=False)
        assert r.returncode == 2, (command, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0] and named in lines[0], (command, lines)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port()), timeout=5).close()
