"""Certificates for TLS tests, made with the openssl command line: a private CA and server
certificates it signs (valid, expired, or for another name), ECDSA P-256.

    pki = Pki(tmp_dir)
    cert, key = pki.server("mx1.dom.test")                # valid 30 days, SAN = the name
    cert, key = pki.server("mx1.dom.test", expired=True)  # notAfter before notBefore: expired
    pki.ca_file                                           # trust this ([delivery] tls_ca_file)
"""
import pathlib
import ssl
import subprocess


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr}")


class Pki:
    def __init__(self, directory, ca_name="mailroom test CA"):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.dir / "ca.pem"
        self.ca_key = self.dir / "ca.key"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(self.ca_key), "-out", str(self.ca_file), "-days", "30",
                 "-subj", f"/CN={ca_name}", cwd=self.dir)

    def server(self, name, expired=False, alt_names=()):
        stem = self.dir / f"{name}{'-expired' if expired else ''}"
        key, csr, cert, ext = (pathlib.Path(f"{stem}{s}") for s in (".key", ".csr", ".pem", ".ext"))
        sans = ",".join(f"DNS:{n}" for n in (name, *alt_names))
        ext.write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}", cwd=self.dir)
        # -days -1: notAfter a day before now, the certificate is expired the moment it exists.
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca_file), "-CAkey",
                 str(self.ca_key), "-CAcreateserial", "-out", str(cert),
                 "-days", "-1" if expired else "30", "-extfile", str(ext), cwd=self.dir)
        return cert, key

    def server_context(self, name, expired=False):
        cert, key = self.server(name, expired)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx
