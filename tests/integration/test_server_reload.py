"""Reload without dropping mail (src/server/reload.hpp), over real TCP:

  * SIGHUP and `mailroom reload` re-read the config: a listener added is bound, one removed is
    closed, one changed gives its next sessions the new settings while a session opened before
    keeps the old ones (and can still send);
  * a config that does not load, or a listener address that cannot be bound, changes nothing and
    is said in one line (`mailroom reload` exits 1 or 2; SIGHUP logs event=reload_failed);
  * settings that need a restart are named, and kept;
  * a rotated certificate is served from the next handshake;
  * under load, with reloads all the while, every message gets its 250 and is delivered once.
Nothing here measures time: each step waits for the reply, exit code or log line that says it
happened, with bounds that only catch hangs.
"""
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import tomllib

import pytest

from conftest import HOSTNAME, RawSmtp, free_port, render_toml
from queue_support import wait_until
from test_hostile_support import USER, connect, listener, make_server

SIZE_BEFORE = 1_000_000
SIZE_AFTER = 2_000_000


def rewrite_config(srv, listeners, server=None, extra=None):
    """Rewrites srv's config file with `listeners` in place of its [[listener]] tables, `server`
    keys merged into [server] and `extra` tables set; everything else stays as it was. The
    addresses go to srv.listeners, so srv.port(name) follows."""
    tables = tomllib.loads(srv.config_path.read_text())
    tables["listener"] = listeners
    tables["server"].update(server or {})
    tables.update(extra or {})
    srv.listeners = {l["name"]: l for l in listeners}
    srv.config_path.write_text(render_toml(tables))


def ehlo_size(c):
    lines = c.expect("EHLO client.example.org", 250)
    sizes = [l[4:].split()[1] for l in lines if l[4:].startswith("SIZE")]
    return int(sizes[0])


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def reload_ok(srv):
    r = srv.cli("reload")
    assert r.stdout.startswith("reloaded: listeners"), r.stdout
    return r.stdout.strip()


def send_one(c, subject):
    c.expect("MAIL FROM:<chris@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(f"Subject: {subject}\r\n\r\nbody\r\n.\r\n")
    c.expect(None, 250)


def test_reload_adds_removes_and_changes_listeners(mailroom):
    a = listener(name="inbound", address=f"127.0.0.1:{free_port()}", max_message_size=SIZE_BEFORE)
    b = listener(name="second", address=f"127.0.0.1:{free_port()}")
    srv = make_server(mailroom, [a, b])
    before = connect(srv, "inbound", ehlo=None)
    assert ehlo_size(before) == SIZE_BEFORE
    b_port = srv.port("second")

    c = listener(name="third", address=f"127.0.0.1:{free_port()}")
    rewrite_config(srv, [dict(a, max_message_size=SIZE_AFTER), c])
    out = reload_ok(srv)
    assert out == "reloaded: listeners added [third], kept [inbound], removed [second]", out

    after = connect(srv, "inbound", ehlo=None)
    assert ehlo_size(after) == SIZE_AFTER
    assert ehlo_size(before) == SIZE_BEFORE  # the old session keeps what it started with
    send_one(before, "sent by a session older than the reload")
    assert refused(b_port)
    third = connect(srv, "third")
    send_one(third, "sent through the added listener")
    srv.wait_for_mail(USER, count=2)

    # SIGHUP does the same as `mailroom reload`: back to the first settings.
    rewrite_config(srv, [a, b])
    srv.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "removed [third]" in srv.log_text(), timeout=30, what="the SIGHUP reload")
    assert ehlo_size(connect(srv, "inbound", ehlo=None)) == SIZE_BEFORE
    connect(srv, "second")
    assert refused(int(c["address"].rsplit(":", 1)[1]))


def test_a_config_that_does_not_load_changes_nothing(mailroom):
    a = listener(name="inbound", address=f"127.0.0.1:{free_port()}", max_message_size=SIZE_BEFORE)
    srv = make_server(mailroom, [a])
    good = srv.config_path.read_text()
    broken = good.replace("[limits]", "[limits\n")
    srv.config_path.write_text(broken)

    # `mailroom reload` reads the file first: a file that does not load is said at once (exit 2)
    # and no signal is sent.
    r = srv.cli("reload", check=False)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "event=reload" not in srv.log_text()

    # SIGHUP: the server refuses it with one line and runs on as it was.
    srv.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "event=reload_failed" in srv.log_text(), timeout=30, what="the refusal")
    line = [l for l in srv.log_text().splitlines() if "event=reload_failed" in l]
    assert len(line) == 1 and "reload refused, nothing changed" in line[0], line
    c = connect(srv, "inbound", ehlo=None)
    assert ehlo_size(c) == SIZE_BEFORE
    send_one(c, "after a refused reload")
    srv.wait_for_mail(USER, count=1)


def test_an_address_that_cannot_be_bound_changes_nothing(mailroom):
    a = listener(name="inbound", address=f"127.0.0.1:{free_port()}", max_message_size=SIZE_BEFORE)
    srv = make_server(mailroom, [a])
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    try:
        rewrite_config(srv, [dict(a, max_message_size=SIZE_AFTER),
                             listener(name="new", address=f"127.0.0.1:{taken}")])
        r = srv.cli("reload", check=False)
        assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and "reload refused, nothing changed" in err[0], err
        assert f"127.0.0.1:{taken}" in err[0] and "cannot listen" in err[0], err
        # The change to the listener that exists was not applied either: all or nothing.
        assert ehlo_size(connect(srv, "inbound", ehlo=None)) == SIZE_BEFORE
    finally:
        squatter.close()
    # Once the address is free, the same config reloads.
    out = reload_ok(srv)
    assert "added [new]" in out, out
    assert ehlo_size(connect(srv, "inbound", ehlo=None)) == SIZE_AFTER
    connect(srv, "new")


def test_settings_that_need_a_restart_are_named_and_kept(mailroom):
    a = listener(name="inbound", address=f"127.0.0.1:{free_port()}")
    srv = make_server(mailroom, [a])
    rewrite_config(srv, [a], server={"banner": "reloaded banner"},
                   extra={"queue": {"delivery_workers": 9}})
    out = reload_ok(srv)
    assert out.endswith("left as they were until a restart: queue.delivery_workers"), out
    c = RawSmtp(srv.port("inbound"))
    code, lines = c.reply()
    assert code == 220 and "reloaded banner" in lines[-1], lines


def test_reload_without_a_running_server_says_so(mailroom):
    srv = mailroom([listener(address=f"127.0.0.1:{free_port()}")])
    r = srv.cli("reload", check=False)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "no mailroom server runs" in r.stderr, r.stderr


# --- certificate rotation --------------------------------------------------------------------

def make_cert(dirpath, stem):
    key, cert = dirpath / f"{stem}.key", dirpath / f"{stem}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    f"/CN={HOSTNAME}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def served_certificate(srv, name="inbound"):
    c = connect(srv, name)
    c.starttls()
    der = c.sock.getpeercert(binary_form=True)
    c.expect("EHLO client.example.org", 250)
    c.expect("QUIT", 221)
    return der


def der_of(pem_path):
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text())


def test_rotated_certificate_is_served_from_the_next_handshake(mailroom, tmp_path):
    old_cert, old_key = make_cert(tmp_path, "old")
    new_cert, new_key = make_cert(tmp_path, "new")
    live_cert, live_key = tmp_path / "live.pem", tmp_path / "live.key"
    live_cert.write_bytes(old_cert.read_bytes())
    live_key.write_bytes(old_key.read_bytes())
    a = listener(name="inbound", address=f"127.0.0.1:{free_port()}", tls="starttls")
    tls = {"cert_file": str(live_cert), "key_file": str(live_key)}
    srv = make_server(mailroom, [a], extra={"tls": tls})
    assert served_certificate(srv) == der_of(old_cert)
    in_tls = connect(srv, "inbound")
    in_tls.starttls()
    in_tls.expect("EHLO client.example.org", 250)

    # The same file names, new contents (as certbot renews): the reload reads them again.
    live_cert.write_bytes(new_cert.read_bytes())
    live_key.write_bytes(new_key.read_bytes())
    rewrite_config(srv, [a], extra={"tls": tls})
    reload_ok(srv)
    assert served_certificate(srv) == der_of(new_cert)
    send_one(in_tls, "over the TLS session of the old certificate")
    srv.wait_for_mail(USER, count=1)

    # A key that does not match its certificate: refused, the new certificate stays in use.
    live_key.write_bytes(old_key.read_bytes())
    r = srv.cli("reload", check=False)
    assert r.returncode == 1 and "tls.key_file" in r.stderr, (r.returncode, r.stderr)
    assert served_certificate(srv) == der_of(new_cert)


# --- under load ----------------------------------------------------------------------------------

SENDERS = 4
RELOADS = 12


def test_reload_under_load_loses_nothing(mailroom):
    a = listener(name="inbound", address=f"127.0.0.1:{free_port()}", max_message_size=SIZE_BEFORE)
    extra = listener(name="extra", address=f"127.0.0.1:{free_port()}")
    srv = make_server(mailroom, [a])
    port = srv.port("inbound")
    stop = threading.Event()
    sent, errors = [], []
    lock = threading.Lock()

    def sender(n):
        # A connection kept across reloads, several messages per connection.
        i = 0
        while not stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                    for _ in range(5):
                        subject = f"s{n}-m{i}"
                        s.sendmail("chris@client.example.org", [USER],
                                   f"Subject: {subject}\r\n\r\nbody {subject}\r\n")
                        with lock:
                            sent.append(subject)
                        i += 1
            except Exception as e:  # any refusal, reset or error reply is a failure
                with lock:
                    errors.append(f"sender {n} after {i}: {e!r}")
                return

    threads = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(SENDERS)]
    for t in threads:
        t.start()
    try:
        for r in range(RELOADS):
            wait_until(lambda: len(sent) >= (r + 1) * 10 or errors, timeout=120,
                       what="mail between two reloads")
            size = SIZE_AFTER if r % 2 == 0 else SIZE_BEFORE
            listeners = [dict(a, max_message_size=size)] + ([extra] if r % 2 == 0 else [])
            rewrite_config(srv, listeners, server={"banner": f"generation {r}"})
            if r % 3 == 0:
                srv.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: srv.log_text().count("event=reloaded") >= r + 1, timeout=30,
                           what=f"reload {r}")
            else:
                reload_ok(srv)
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    assert not errors, errors
    assert srv.log_text().count("event=reloaded") == RELOADS
    delivered = srv.wait_for_mail(USER, count=len(sent), timeout=120)
    subjects = sorted(f.read_text().split("Subject: ", 1)[1].split("\n", 1)[0].strip()
                      for f in delivered)
    assert subjects == sorted(sent), "every 250 delivered exactly once"
