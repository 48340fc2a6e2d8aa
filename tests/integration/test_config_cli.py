"""`mailroom check-config` and `mailroom serve` with good and bad configuration files."""
import subprocess
import tomllib

import pytest

from conftest import BIN, free_port


def run(*args, timeout=30):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def test_check_config_prints_effective_config(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[server]\nhostname = "mx.example.test"\n\n[[listener]]\nname = "in"\naddress = "127.0.0.1:2525"\n')
    r = run("check-config", str(cfg))
    assert r.returncode == 0, r.stderr
    effective = tomllib.loads(r.stdout)  # the printed config is itself valid TOML
    assert effective["server"]["hostname"] == "mx.example.test"
    assert [l["name"] for l in effective["listener"]] == ["in"]
    assert effective["listener"][0]["max_message_size"] == 37748736
    assert effective["limits"]["hard_error_limit"] == 20
    # Feeding the output back in gives the same effective config.
    again = tmp_path / "again.toml"
    again.write_text(r.stdout)
    r2 = run("check-config", str(again))
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout == r.stdout


@pytest.mark.parametrize("text,message", [
    ('[[listener]]\ntls = "maybe"\n', 'listener[0].tls: must be one of "none" | "starttls" | "implicit" (got "maybe")'),
    ('[server]\nhostnme = "x"\n', "server.hostnme: unknown key"),
    ('[[listener]]\naddress = "nowhere"\n', 'listener[0].address: must be host:port (got "nowhere")'),
    ('[[listener]]\nrelay = "ranges"\n', 'listener[0].relay_ranges: must list at least one range when relay = "ranges"'),
    ('[limits]\nidle_timeout_s = "ten"\n', "limits.idle_timeout_s: must be an integer"),
    ('[[listener]]\nrelay = "ranges"\nrelay_ranges = ["192.168.1.1/24"]\n',
     'listener[0].relay_ranges: "192.168.1.1/24" has host bits set: write "192.168.1.0/24" for the'
     ' network or "192.168.1.1/32" for the host'),
])
def test_bad_config_one_line_exit_2(tmp_path, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    for args in (["check-config", str(cfg)], ["serve", "--config", str(cfg)]):
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip() == f"mailroom: {message}"


@pytest.mark.parametrize("data,message", [
    (b'[server]\nbanner = "caf\xe9"\n', "2:14: not UTF-8 (octet 0xE9) (byte offset 22)"),
    # Valid UTF-8 that Debian's toml++ 3.3 cannot read safely (marzer/tomlplusplus#295, #190).
    (b"\xcc\xaa\n", "1:1: non-ASCII character outside a string or comment (byte offset 0)"),
    (b's = """\\\n\xc2\xa7"""\n', "2:1: non-ASCII character first after a line-ending backslash "
     "(toml++ cannot read it there; write it as a \\u escape) (byte offset 9)"),
], ids=["invalid-utf8", "toml-295", "toml-190"])
def test_text_toml_cannot_read_is_refused_with_its_place(tmp_path, data, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_bytes(data)
    for args in (["check-config", str(cfg)], ["serve", "--config", str(cfg)]):
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip() == f"mailroom: {cfg}:{message}"


def test_utf8_in_strings_and_comments_is_read(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_bytes('# Größe\n[server]\nbanner = "Grüße § ̪" # schön\n'.encode())
    r = run("check-config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert tomllib.loads(r.stdout)["server"]["banner"] == "Grüße § ̪"


def test_missing_file(tmp_path):
    r = run("check-config", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert "cannot read file" in r.stderr


def test_port_in_use_is_fatal_with_one_line(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path}/data"\n[[listener]]\nname = "in"\naddress = "127.0.0.1:{port}"\ntls = "none"\nauth = "none"\n')
    r = run("serve", "--config", str(cfg))
    s.close()
    assert r.returncode == 1
    assert f"listener in (127.0.0.1:{port}): cannot listen" in r.stdout + r.stderr


def test_embedded_defaults_serve(tmp_path):
    """`mailroom serve` with no config: inbound on 2525 and submission on 2587, data in ./mailroom-data."""
    import socket
    import time
    for port in (2525, 2587):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"port {port} is busy on this machine")
    p = subprocess.Popen([BIN, "serve"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        banners = {}
        deadline = time.time() + 20
        for port in (2525, 2587):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                        banners[port] = c.recv(512).decode()
                        c.sendall(b"EHLO me.example\r\n")
                        time.sleep(0.2)
                        banners[port] += c.recv(4096).decode()
                    break
                except OSError:
                    assert time.time() < deadline and p.poll() is None, "server did not start"
                    time.sleep(0.1)
        assert banners[2525].startswith("220 ")
        assert "250-STARTTLS" in banners[2587]
        assert (tmp_path / "mailroom-data" / "tls" / "cert.pem").exists()
    finally:
        p.terminate()
        p.wait(timeout=15)


# --- [tls] files: loaded and matched before anything runs (issue 11, defect 3) -------------------

def make_cert(directory, name):
    """A self-signed ECDSA P-256 certificate and its key, as PEM files -> (cert, key)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=mx.example.test", "-days", "2", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def tls_config(tmp_path, cert, key):
    cfg = tmp_path / "tls.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path}/data"\n'
                   f'[[listener]]\nname = "in"\naddress = "127.0.0.1:{free_port()}"\ntls = "starttls"\n'
                   f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n')
    return cfg


def tls_cases(tmp_path):
    cert, key = make_cert(tmp_path, "good")
    other_cert, other_key = make_cert(tmp_path, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    encrypted = tmp_path / "encrypted.key"  # needs a passphrase nobody will type
    subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:secret",
                    "-out", str(encrypted)], check=True, capture_output=True)
    return {
        "missing_cert": (tmp_path / "missing.crt", key, "tls.cert_file"),
        "missing_key": (cert, tmp_path / "missing.key", "tls.key_file"),
        "garbage_cert": (garbage, key, "tls.cert_file"),
        "garbage_key": (cert, garbage, "tls.key_file"),
        "key_of_another_cert": (cert, other_key, "tls.key_file"),
        "encrypted_key": (cert, encrypted, "tls.key_file"),
    }


@pytest.mark.parametrize("case", ["missing_cert", "missing_key", "garbage_cert", "garbage_key",
                                  "key_of_another_cert", "encrypted_key"])
def test_unusable_tls_files_fail_check_config_and_serve(tmp_path, case):
    """A configured certificate or key that cannot be loaded, or that do not match, used to pass
    check-config while serve ran on without STARTTLS: both must refuse, exit 2, one line naming
    the key."""
    cert, key, named = tls_cases(tmp_path)[case]
    cfg = tls_config(tmp_path, cert, key)
    for args in (["check-config", str(cfg)], ["serve", "--config", str(cfg)]):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"mailroom: {named}: "), (args, r.stderr)


def test_matching_tls_files_pass_check_config(tmp_path):
    cert, key = make_cert(tmp_path, "good")
    r = run("check-config", str(tls_config(tmp_path, cert, key)))
    assert r.returncode == 0, r.stderr
    assert tomllib.loads(r.stdout)["tls"]["cert_file"] == str(cert)


# --- a file without [[listener]] (issue 11, defect 11) --------------------------------------------

def test_file_without_listener_says_the_default_listeners_apply(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[server]\nhostname = "mx.example.test"\n')
    r = run("check-config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"mailroom: note: {cfg} has no [[listener]]: the default listeners apply "
        "(inbound 127.0.0.1:2525, submission 127.0.0.1:2587)"], r.stderr
    assert [l["name"] for l in tomllib.loads(r.stdout)["listener"]] == ["inbound", "submission"]
    # A file with listeners gets no such note.
    cfg.write_text('[[listener]]\nname = "in"\naddress = "127.0.0.1:2525"\n')
    r = run("check-config", str(cfg))
    assert r.returncode == 0 and r.stderr == ""
