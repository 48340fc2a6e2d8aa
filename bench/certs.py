"""certs: the one TLS certificate both servers present, so STARTTLS costs the same crypto on each.

ECDSA P-256, self-signed, made with the openssl command line. The benchmark's client does not
verify it (it measures cost, not trust).
"""

import os

from common import WORK_DIR, run_checked

TLS_DIR = os.path.join(WORK_DIR, "tls")


def bench_certificate(hostname="mx.example.test"):
    """Returns (cert_file, key_file), creating them on first use."""
    cert = os.path.join(TLS_DIR, "cert.pem")
    key = os.path.join(TLS_DIR, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        return cert, key
    os.makedirs(TLS_DIR, exist_ok=True)
    run_checked(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={hostname}",
                 "-addext", f"subjectAltName=DNS:{hostname}"],
                "generating the benchmark TLS certificate")
    os.chmod(key, 0o644)  # Postfix's smtpd and mailroom may read it after dropping privileges
    return cert, key
