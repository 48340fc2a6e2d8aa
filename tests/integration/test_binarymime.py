"""BODY=BINARYMIME (RFC 3030 3) from the wire to the mailbox, byte for byte (issue 11, defect 1).

RFC 3030 requires binary content to be passed on unaltered. A message received with
BODY=BINARYMIME is stored in its queue file as received and written to the Maildir with its
line ends as received (a CRLF Maildir file, which Dovecot reads): the binary part, holding CRLF,
bare LF, bare CR, NUL and 0x80-0xff octets, must come out of the Maildir exactly as it went in,
and out of Dovecot's IMAP BINARY fetch (RFC 3516) as Dovecot renders it. An ordinary 8BITMIME
message keeps the LF Maildir convention; a DSN returns a binary original's headers only.
"""
import re
import shutil

from conftest import RawSmtp
from queue_support import (MAILDIR_NAME_RE, Dovecot, hand_maildir_to, imap_session,
                           queue_id, wait_until, world_traversable_dir)

BINARY_PART = (b"\r\n\n\r\x00\x01\x02\r\r\n" + bytes(range(256)) + b"\n\r\n.\r\n\x00"
               + bytes(range(255, -1, -1)) + b"\r")
BOUNDARY = b"=_binary_boundary"
MESSAGE = (b"From: chris@contoso.com\r\n"
           b"To: kate@example.test\r\n"
           b"Subject: binary attachment\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"" + BOUNDARY + b"\"\r\n"
           b"\r\n"
           b"--" + BOUNDARY + b"\r\n"
           b"Content-Type: text/plain\r\n"
           b"\r\n"
           b"see attachment\r\n"
           b"--" + BOUNDARY + b"\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n"
           b"\r\n" + BINARY_PART + b"\r\n"
           b"--" + BOUNDARY + b"--\r\n")


def plain_listener():
    return {"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}


def send_binarymime(port, message, chunks=3):
    c = RawSmtp(port)
    try:
        assert c.reply()[0] == 220
        c.expect("EHLO contoso.com", 250)
        c.expect("MAIL FROM:<chris@contoso.com> BODY=BINARYMIME", 250)
        c.expect("RCPT TO:<kate@example.test>", 250)
        step = len(message) // chunks + 1
        pieces = [message[i:i + step] for i in range(0, len(message), step)]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            c.send(b"BDAT %d%s\r\n" % (len(piece), b" LAST" if last else b"") + piece)
            code, lines = c.reply()
            assert code == 250, lines
        qid = queue_id(lines[-1])
        assert qid, lines
        c.expect("QUIT", 221)
        return qid
    finally:
        c.close()


def test_binarymime_body_reaches_the_maildir_byte_for_byte(mailroom):
    base = world_traversable_dir("mailroom-binary-")
    try:
        data_dir = base / "data"
        srv = mailroom([plain_listener()], server={"data_dir": str(data_dir)})
        srv.add_user("kate@example.test", "kate-pw")
        srv.start()
        qid = send_binarymime(srv.port(), MESSAGE)

        maildir = data_dir / "mailboxes" / "example.test" / "kate"
        files = wait_until(lambda: list((maildir / "new").glob("*")), what="kate's message")
        assert len(files) == 1
        data = files[0].read_bytes()
        # Our trace headers, in the file's line-end convention (CRLF), then the message as sent.
        head = data[:len(data) - len(MESSAGE)]
        assert data.endswith(MESSAGE), "the stored message differs from the one sent"
        assert head.startswith(b"Return-Path: <chris@contoso.com>\r\nDelivered-To: kate@example.test\r\n")
        assert re.search(rb"\r\n\tby mx\.example\.test \(mailroom\) with ESMTP id " + qid.encode(), head)
        assert b"\n" not in head.replace(b"\r\n", b"")
        nm = MAILDIR_NAME_RE.match(files[0].name)
        assert nm and nm.group("qid") == qid, files[0].name
        assert int(nm.group("size")) == len(data)
        # Dovecot's W=: the size with every bare LF counted as CRLF.
        assert int(nm.group("vsize")) == len(data) + len(re.findall(rb"(?<!\r)\n", data))

        # Dovecot reads the CRLF file and hands the binary part back unaltered (RFC 3516 BINARY).
        hand_maildir_to(Dovecot.MAIL_USER, data_dir, maildir)
        with Dovecot(base / "dovecot", maildir) as dovecot:
            with imap_session(dovecot) as imap:
                typ, n = imap.select("INBOX")
                assert typ == "OK" and n == [b"1"], (n, dovecot.log())
                typ, fetched = imap.fetch(b"1", "(BINARY.PEEK[2])")
                assert typ == "OK", fetched
                # Dovecot turns a bare LF into CRLF whatever the file holds (its IMAP line-end
                # rule); every other octet, "\r\r\n" and NUL included, is as sent. From the old
                # LF file it returned "\r\r\n" as "\r\n".
                assert fetched[0][1] == re.sub(rb"(?<!\r)\n", b"\r\n", BINARY_PART), dovecot.log()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_8bitmime_message_keeps_lf_line_ends(mailroom):
    srv = mailroom([plain_listener()])
    srv.add_user("kate@example.test", "kate-pw")
    srv.start()
    c = RawSmtp(srv.port())
    assert c.reply()[0] == 220
    c.expect("EHLO contoso.com", 250)
    c.expect("MAIL FROM:<chris@contoso.com> BODY=8BITMIME", 250)
    c.expect("RCPT TO:<kate@example.test>", 250)
    body = "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n".encode()
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    assert c.reply()[0] == 250
    c.close()
    data = srv.wait_for_mail("kate@example.test")[0].read_bytes()
    assert b"\r\n" not in data and data.endswith(body.replace(b"\r\n", b"\n"))


def test_binarymime_bounce_returns_headers_only(mailroom):
    """A DSN cannot carry a binary original inside message/rfc822 (RFC 2046 5.2.1: 7bit or 8bit
    only, and the DSN itself travels without BINARYMIME): it returns the original's headers as
    text/rfc822-headers, whatever RET asks."""
    srv = mailroom([{"name": "inbound", "tls": "none", "auth": "none", "relay": "ranges",
                     "relay_ranges": ["127.0.0.0/8"]}], extra={"queue": {"min_backoff_s": 3600}})
    srv.add_user("chris@example.test", "chris-pw")
    srv.start()
    c = RawSmtp(srv.port())
    assert c.reply()[0] == 220
    c.expect("EHLO contoso.com", 250)
    c.expect("MAIL FROM:<chris@example.test> BODY=BINARYMIME RET=FULL", 250)
    c.expect("RCPT TO:<bob@remote.test>", 250)
    c.send(b"BDAT %d LAST\r\n" % len(MESSAGE) + MESSAGE)
    code, lines = c.reply()
    qid = queue_id(lines[-1])
    assert code == 250 and qid, lines
    c.close()
    wait_until(lambda: "deferred (1 attempt" in srv.cli("queue", "list").stdout, what="deferral")
    srv.cli("queue", "bounce", qid)
    dsn = srv.wait_for_mail("chris@example.test")[0].read_bytes()
    assert b"Content-Type: text/rfc822-headers" in dsn
    assert b"message/rfc822" not in dsn
    assert b"Subject: binary attachment" in dsn
    assert b"see attachment" not in dsn and b"\x00" not in dsn
