"""Acceptance for issue 4, local delivery: what a 250 leads to in the mailbox.

- seed 002's session (kate@fabrikam.com, NOTIFY=success,failure) ends in kate's Maildir new/ with
  Return-Path, Delivered-To and our Received: trace header; a private Dovecot (dovecot-imapd,
  own config on a loopback port) lists and fetches it over IMAP, so the Maildir is standard;
- an alias fans out to one copy per mailbox, each with its own Delivered-To;
- plus-addresses reach the Maildir++ folder their tag names when it exists (Dovecot sees it);
- a recipient that fails at delivery time is returned to the sender in an RFC 3464 DSN.
"""
import re
import shutil

from conftest import RawSmtp
from queue_support import (MAILDIR_NAME_RE, Dovecot, hand_maildir_to, header_block,
                           imap_session, maildir_messages, parse_maildir_file, send_message,
                           smtp_transaction, wait_until, world_traversable_dir)

RFC5322_DATE = r"\w{3}, \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"
SEED_HOST = "mail1.fabrikam.com"


def plain_listener():
    return {"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}


def test_seed_002_message_reaches_kates_maildir_and_dovecot_serves_it(mailroom):
    base = world_traversable_dir("mailroom-imap-")
    try:
        # Server.data_dir names the fixture's default; this test's data lives under `base`.
        data_dir = base / "data"
        srv = mailroom([plain_listener()], server={"hostname": SEED_HOST, "data_dir": str(data_dir),
                                                    "local_domains": ["fabrikam.com"]})
        srv.add_user("kate@fabrikam.com", "kate-password")
        srv.start()

        # The seed's session, line by line (seed 002, step 3).
        c = RawSmtp(srv.port())
        assert c.reply()[0] == 220
        c.expect("EHLO contoso.com", 250)
        c.expect("MAIL FROM: <chris@contoso.com>", 250, "2.1.0 Sender OK")
        c.expect("RCPT TO: <kate@fabrikam.com> NOTIFY=success,failure", 250, "2.1.5 Recipient OK")
        c.expect("DATA", 354)
        c.send("Subject: Test from Contoso\r\n\r\nThis is a test message\r\n")
        line = c.expect(".", 250)[-1]
        m = re.fullmatch(r"250 2\.6\.0 <([0-9a-z]+)@mail1\.fabrikam\.com> Queued mail for delivery", line)
        assert m, line
        qid = m.group(1)
        c.expect("QUIT", 221)
        c.close()

        maildir = data_dir / "mailboxes" / "fabrikam.com" / "kate"
        files = wait_until(lambda: list((maildir / "new").glob("*")), what="kate's message")
        assert len(files) == 1
        path = files[0]
        data = path.read_bytes()
        # Maildir spec: unique name with Dovecot's S= (file size) and W= (size with CRLF).
        nm = MAILDIR_NAME_RE.match(path.name)
        assert nm, path.name
        assert int(nm.group("size")) == len(data)
        assert int(nm.group("vsize")) == len(data) + data.count(b"\n")
        assert nm.group("qid") == qid
        assert not any((maildir / "tmp").iterdir())
        assert b"\r\n" not in data  # Maildir stores LF line ends

        headers = header_block(data).split("\n")
        assert headers[0] == "Return-Path: <chris@contoso.com>"
        assert headers[1] == "Delivered-To: kate@fabrikam.com"
        received = "\n".join(headers[2:6])
        assert re.fullmatch(
            r"Received: from contoso\.com \(\[127\.0\.0\.1\]\)\n"
            r"\tby mail1\.fabrikam\.com \(mailroom\) with ESMTP id " + qid + r"\n"
            r"\tfor <kate@fabrikam\.com>; " + RFC5322_DATE + "\nSubject: Test from Contoso", received), received
        msg = parse_maildir_file(data)
        assert msg.get_payload() == "This is a test message\n"

        # NOTIFY=SUCCESS: a delivery report for chris@contoso.com is queued; contoso.com cannot
        # be resolved here (the tests' DNS is a closed loopback port), so it waits, deferred with
        # the reason, rather than vanishing.
        def report_deferred():
            out = srv.cli("queue", "list").stdout
            return "chris@contoso.com" in out and "4.4.3 Host or domain name not found" in out and out
        listing = wait_until(report_deferred, what="the deferred delivery report")
        assert "MAILER-DAEMON" in listing

        # Dovecot reads the Maildir as it is.
        hand_maildir_to(Dovecot.MAIL_USER, data_dir, maildir)
        with Dovecot(base / "dovecot", maildir) as dovecot:
            with imap_session(dovecot) as imap:
                typ, data_sel = imap.select("INBOX")
                assert typ == "OK" and data_sel == [b"1"], (data_sel, dovecot.log())
                typ, found = imap.search(None, "SUBJECT", '"Test from Contoso"')
                assert found == [b"1"]
                typ, fetched = imap.fetch(b"1", "(RFC822.SIZE RFC822)")
                assert typ == "OK"
                meta, body = fetched[0]
                assert body == data.replace(b"\n", b"\r\n")
                assert f"RFC822.SIZE {int(nm.group('vsize'))}".encode() in meta
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_alias_fans_out_one_copy_per_mailbox(mailroom):
    srv = mailroom([plain_listener()])
    for u in ("kate", "chris", "dana"):
        srv.add_user(f"{u}@example.test", "pw-" + u)
    srv.cli("alias", "add", "sales@example.test", "kate@example.test", "chris@example.test",
            "dana@example.test")
    srv.start()
    # kate is named directly and through the alias: she still gets one copy.
    code, line, qid = send_message(srv.port(), "buyer@contoso.com",
                                   ["sales@example.test", "kate@example.test"],
                                   "Subject: order\r\n\r\nthree boxes\r\n")
    assert code == 250 and qid, line
    for u in ("kate", "chris", "dana"):
        files = srv.wait_for_mail(f"{u}@example.test")
        assert len(files) == 1, files
        h = header_block(files[0].read_bytes())
        assert h.startswith(f"Return-Path: <buyer@contoso.com>\nDelivered-To: {u}@example.test\n"), h
        assert f"id {qid}" in h
    # Nothing left behind in the queue.
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
               what="an empty queue")
    for u in ("kate", "chris", "dana"):
        assert len(maildir_messages(srv.data_dir / "mailboxes" / "example.test" / u)) == 1


def test_plus_address_selects_an_existing_maildir_plus_folder(mailroom):
    base = world_traversable_dir("mailroom-plus-")
    try:
        data_dir = base / "data"
        srv = mailroom([plain_listener()], server={"data_dir": str(data_dir)})
        srv.add_user("kate@example.test", "kate-password")
        srv.start()
        inbox = data_dir / "mailboxes" / "example.test" / "kate"
        # First message creates the Maildir; then kate creates a Maildir++ folder ".lists".
        assert send_message(srv.port(), "a@contoso.com", ["kate@example.test"],
                            "Subject: plain\r\n\r\nx\r\n")[0] == 250
        wait_until(lambda: list((inbox / "new").glob("*")), what="the first message")
        for sub in ("tmp", "new", "cur"):
            (inbox / ".lists" / sub).mkdir(parents=True)
        assert send_message(srv.port(), "b@contoso.com", ["kate+lists@example.test"],
                            "Subject: to the folder\r\n\r\ny\r\n")[0] == 250
        # A tag without a folder goes to the INBOX.
        assert send_message(srv.port(), "c@contoso.com", ["kate+nofolder@example.test"],
                            "Subject: no such folder\r\n\r\nz\r\n")[0] == 250
        folder = wait_until(lambda: list((inbox / ".lists" / "new").glob("*")), what="folder delivery")
        assert len(folder) == 1
        fh = header_block(folder[0].read_bytes())
        assert "Subject: to the folder" in fh
        assert "Delivered-To: kate@example.test" in fh
        inbox_files = wait_until(lambda: len(list((inbox / "new").glob("*"))) == 2 and
                                 list((inbox / "new").glob("*")), what="two INBOX messages")
        assert any("Subject: no such folder" in header_block(f.read_bytes()) for f in inbox_files)

        hand_maildir_to(Dovecot.MAIL_USER, data_dir, inbox)
        with Dovecot(base / "dovecot", inbox) as dovecot:
            with imap_session(dovecot) as imap:
                typ, boxes = imap.list()
                assert typ == "OK"
                assert any(b.endswith(b'"lists"') or b.endswith(b" lists") for b in boxes), boxes
                typ, n = imap.select("lists")
                assert typ == "OK" and n == [b"1"], (n, dovecot.log())
                typ, fetched = imap.fetch(b"1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                assert b"Subject: to the folder" in fetched[0][1]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_recipient_failing_at_delivery_is_returned_to_the_sender_in_a_dsn(mailroom):
    srv = mailroom([plain_listener()])
    for u in ("kate", "bob", "chris"):
        srv.add_user(f"{u}@example.test", "pw-" + u)
    srv.start()
    # The message already went through bob's mailbox once: delivering it to bob again would be a
    # forwarding loop (Postfix local(8) rule), a permanent failure found only at delivery time.
    message = ("Delivered-To: bob@example.test\r\nSubject: looping report\r\n"
               "Message-ID: <loop-1@contoso.com>\r\n\r\nquarterly numbers\r\n")
    c = RawSmtp(srv.port())
    assert c.reply()[0] == 220
    c.expect("EHLO client.example.test", 250)
    code, line, qid = smtp_transaction(c, "chris@example.test",
                                       ["kate@example.test", "bob@example.test"], message)
    assert code == 250 and qid, line
    c.cmd("QUIT")
    c.close()

    assert len(srv.wait_for_mail("kate@example.test")) == 1
    dsn_files = srv.wait_for_mail("chris@example.test")
    assert len(dsn_files) == 1
    dsn_bytes = dsn_files[0].read_bytes()
    dsn = parse_maildir_file(dsn_bytes)
    assert dsn["Return-Path"] == "<>"  # RFC 5321 6.1: notifications use the null reverse-path
    assert dsn["Delivered-To"] == "chris@example.test"
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["Auto-Submitted"] == "auto-replied"
    parts = dsn.get_payload()
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status",
                                                     "message/rfc822"]
    status_blocks = parts[1].get_payload()
    per_message, per_rcpt = status_blocks[0], status_blocks[1:]
    assert per_message["Reporting-MTA"] == "dns; mx.example.test"
    assert len(per_rcpt) == 1  # kate was delivered and is not reported
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; bob@example.test"
    assert per_rcpt[0]["Action"] == "failed"
    assert per_rcpt[0]["Status"] == "5.4.6"
    returned = parts[2].get_payload()[0]
    assert returned["Message-ID"] == "<loop-1@contoso.com>"
    assert "quarterly numbers" in returned.get_payload()
    assert not srv.maildir("bob@example.test").exists() or not any(srv.maildir("bob@example.test").iterdir())
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout, what="an empty queue")
