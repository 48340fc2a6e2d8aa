"""Bad input from the other side (issue 13): remote SMTP servers that refuse, hang at each stage,
answer garbage, overlong lines, multi-line replies with mixed codes, replies nobody asked for,
drop the connection after the end of data, or say 421 mid-session.

Each test has a misbehaving preferred MX (127.0.0.2) and, where the message should move on, a
well-behaved second MX (127.0.0.3), both scripted peers that count what they accepted. The rule
checked every time: the message is delivered (or deferred, or bounced with the right code), never
lost, and never sent again after a peer answered its end of data with 250. A duplicate is allowed
only where the peer took the body but gave no verdict (RFC 5321 6.1 and the issue: "a duplicate
there is allowed, a loss is not").
"""
import re
import time

import pytest

from conftest import RawSmtp
from peer_support import DROP, HANG, ScriptedDns, ScriptedSmtp, mx_port
from queue_support import send_message, wait_until
from remote_support import (SENDER, SHORT_TIMEOUTS, delivery_status, dsns_for, queue_listing,
                            start_relay, wait_queue_empty)

BODY = ("From: Chris <chris@example.test>\r\nTo: Bob <bob@dom.test>\r\nSubject: misbehaving\r\n"
        "\r\nLine one\r\n.leading dot\r\n\r\nend\r\n")
TWO_MX = {("dom.test", "MX"): [(10, "mx1.dom.test"), (20, "mx2.dom.test")],
          ("mx1.dom.test", "A"): ["127.0.0.2"], ("mx2.dom.test", "A"): ["127.0.0.3"]}
ONE_MX = {("dom.test", "MX"): [(10, "mx1.dom.test")], ("mx1.dom.test", "A"): ["127.0.0.2"]}


@pytest.fixture
def port():
    return mx_port()


@pytest.fixture
def dns():
    with ScriptedDns(TWO_MX) as d:
        yield d


@pytest.fixture
def one_mx_dns():
    with ScriptedDns(ONE_MX) as d:
        yield d


def dsn_files(srv):
    d = srv.maildir(SENDER)
    return list(d.iterdir()) if d.is_dir() else []


def relay(mailroom, dns, port, **delivery):
    opts = dict(SHORT_TIMEOUTS)
    opts.update(delivery)
    return start_relay(mailroom, dns.address, port, **opts)


def send(srv, rcpts=("bob@dom.test",)):
    code, line, qid = send_message(srv.port(), SENDER, list(rcpts), BODY)
    assert code == 250, line
    return qid


def assert_body(msg):
    assert msg.data.endswith(BODY.encode()), msg.data[-300:]


# The preferred MX misbehaves at one stage; the message must end up at mx2, exactly once.
def case(stage, action, name):
    return pytest.param(stage, action, id=f"{stage}-{name}")


@pytest.mark.parametrize("stage,action", [
    *[case(stage, HANG, "hang") for stage in ("banner", "ehlo", "mail", "rcpt", "data", "eod")],
    case("banner", DROP, "drop"), case("rcpt", DROP, "drop"),
    case("banner", "421 4.3.2 mx1 shutting down", "421"),
    case("banner", "554 5.7.1 mx1 does not want you", "554"),
    *[case(stage, "421 4.3.2 closing", "421") for stage in ("mail", "rcpt", "data", "eod")],
    case("rcpt", "451 4.3.0 try later", "451"),
    case("eod", "451 4.3.0 try later", "451"),
    case("banner", "hello, I am not an SMTP server", "garbage"),
    case("mail", "\x00\xff\xfe binary garbage", "binary-garbage"),
    case("ehlo", "250-mx1\r\n250-" + "x" * 5000 + "\r\n250 SIZE", "overlong-line"),
    case("rcpt", "250-2.1.5 Ok\r\n550 5.1.1 mixed codes", "mixed-codes"),
    case("eod", "250-2.0.0 Ok\r\n451 4.3.0 mixed codes", "mixed-codes"),
    case("data", "250 2.0.0 a 250 where 354 belongs", "wrong-kind"),
    case("rcpt", "354 a 354 where 250 belongs", "wrong-kind"),
    # Replies nobody asked for: one more after the EHLO reply, and two answers to one RCPT.
    case("ehlo", "250-mx1\r\n250 PIPELINING\r\n250 2.1.0 unsolicited", "unsolicited"),
    case("rcpt", "250 2.1.5 Ok\r\n250 2.1.5 Ok again", "unsolicited"),
])
def test_misbehaving_mx_is_left_for_the_next(mailroom, dns, port, stage, action):
    with ScriptedSmtp("127.0.0.2", port, default={stage: action}) as mx1, \
            ScriptedSmtp("127.0.0.3", port) as mx2:
        srv = relay(mailroom, dns, port)
        qid = send(srv)
        (msg,) = mx2.wait_for(1)
        assert msg.rcpts == ["bob@dom.test"]
        assert_body(msg)
        wait_queue_empty(srv)
        assert mx1.delivered == [], "mx1 never said 250 to the end of data"
        assert len(mx2.delivered) == 1
        log = srv.log_text()
        assert re.search(rf"id={qid} to=<bob@dom.test> status=delivered", log), log[-3000:]


# After the peer said 250 to the end of data, whatever it does next cannot make the message go
# out again: not to it, not to mx2.
@pytest.mark.parametrize("after", [
    {"quit": HANG}, {"quit": DROP}, {"quit": "garbage"},
    {"eod": "250 2.0.0 Ok\r\n250 2.0.0 and again"},
    {"eod": "250 2.0.0 Ok\r\n421 4.3.2 bye now"},
], ids=["quit-hang", "quit-drop", "quit-garbage", "extra-250", "421-after-250"])
def test_after_a_250_the_message_is_never_sent_again(mailroom, dns, port, after):
    with ScriptedSmtp("127.0.0.2", port, default=after) as mx1, \
            ScriptedSmtp("127.0.0.3", port) as mx2:
        srv = relay(mailroom, dns, port, connection_cache_s=0)
        qid = send(srv)
        mx1.wait_for(1)
        wait_queue_empty(srv)
        # A second message: a cached or broken connection must not take it down with it.
        send(srv)
        wait_until(lambda: len(mx1.delivered) + len(mx2.delivered) >= 2, what="second message")
        wait_queue_empty(srv)
        assert len(mx1.delivered) + len(mx2.delivered) == 2, (mx1.delivered, mx2.delivered)
        log = srv.log_text()
        assert len(re.findall(rf"id={qid} to=<bob@dom.test> status=delivered", log)) == 1


def test_recipient_refused_for_now_is_retried_alone(mailroom, dns, port):
    # bob is accepted and the message taken; amy gets 450: only amy goes to mx2.
    with ScriptedSmtp("127.0.0.2", port,
                      default={"rcpt:amy@dom.test": "450 4.2.1 amy is busy"}) as mx1, \
            ScriptedSmtp("127.0.0.3", port) as mx2:
        srv = relay(mailroom, dns, port)
        send(srv, ["bob@dom.test", "amy@dom.test"])
        (first,) = mx1.wait_for(1)
        assert first.rcpts == ["bob@dom.test"]
        (second,) = mx2.wait_for(1)
        assert second.rcpts == ["amy@dom.test"]
        wait_queue_empty(srv)
        assert len(mx1.delivered) == 1 and len(mx2.delivered) == 1


def test_drop_after_end_of_data_is_retried_on_the_same_host(mailroom, one_mx_dns, port):
    # The only MX reads the whole body and closes without a verdict: the message may or may not
    # have been taken, so it is sent again (a duplicate is allowed there, a loss is not).
    with ScriptedSmtp("127.0.0.2", port, scripts=[{"eod": DROP}]) as mx1:
        srv = relay(mailroom, one_mx_dns, port)
        qid = send(srv)
        (msg,) = mx1.wait_for(1, timeout=40)
        assert msg.connection >= 1
        assert_body(msg)
        assert len(mx1.bodies_read) == 2
        wait_queue_empty(srv)
        log = srv.log_text()
        assert re.search(rf"id={qid} to=<bob@dom.test> status=deferred .*"
                         r"4\.4\.2 lost connection with server in state end-of-data", log), log[-3000:]


@pytest.mark.parametrize("stage", ["eod", "rcpt"])
def test_hang_on_the_only_mx_defers_then_retries(mailroom, one_mx_dns, port, stage):
    with ScriptedSmtp("127.0.0.2", port, scripts=[{stage: HANG}]) as mx1:
        srv = relay(mailroom, one_mx_dns, port)
        qid = send(srv)
        (msg,) = mx1.wait_for(1, timeout=40)
        assert msg.connection == 1
        wait_queue_empty(srv)
        log = srv.log_text()
        assert re.search(rf"id={qid} to=<bob@dom.test> status=deferred .*4\.4\.2 timeout waiting for server",
                         log), log[-3000:]


@pytest.mark.parametrize("greeting", ["554 5.7.1 go away", "421 4.3.2 busy"])
def test_only_mx_refusing_at_the_greeting_defers(mailroom, one_mx_dns, port, greeting):
    # Postfix (smtp_skip_5xx_greeting): a host that will not talk is a host problem, not a verdict
    # on the recipient; the message waits for the host to change its mind.
    with ScriptedSmtp("127.0.0.2", port, scripts=[{"banner": greeting}] * 2) as mx1:
        srv = relay(mailroom, one_mx_dns, port)
        qid = send(srv)
        (msg,) = mx1.wait_for(1, timeout=40)
        assert msg.connection >= 2
        wait_queue_empty(srv)
        log = srv.log_text()
        status = "4" + greeting.split()[1][1:]
        assert re.search(rf"id={qid} to=<bob@dom.test> status=deferred .*reason=\"{status} host "
                         rf"mx1\.dom\.test\[127\.0\.0\.2\]:\d+ .*{greeting}", log), log[-3000:]
        assert not dsn_files(srv), "no bounce for a host that would not talk"


def test_5xx_at_rcpt_after_a_misbehaving_host_still_bounces(mailroom, dns, port):
    # mx1 hangs; mx2 refuses the recipient for good: a bounce quoting mx2, and only one DSN.
    with ScriptedSmtp("127.0.0.2", port, default={"banner": HANG}), \
            ScriptedSmtp("127.0.0.3", port,
                         default={"rcpt": "550 5.1.1 <bob@dom.test>: Recipient address rejected"}):
        srv = relay(mailroom, dns, port)
        send(srv)
        (dsn,) = dsns_for(srv)
        report = delivery_status(dsn)
        assert "Status: 5.1.1" in report and "Action: failed" in report, report
        assert "Remote-MTA: dns; mx2.dom.test" in report
        assert "Recipient address rejected" in report
        wait_queue_empty(srv)
        assert "Mail queue is empty" in queue_listing(srv)


def test_cached_connection_the_peer_closed_meanwhile(mailroom, one_mx_dns, port):
    # The peer answers 250 and then closes the connection without a word (idle timeout, restart)
    # while mailroom keeps it for the next message: that message is not lost.
    def accept_then_close(conn):
        conn.send(b"250 2.0.0 Ok: queued\r\n")
        conn.sock.close()
        return None

    with ScriptedSmtp("127.0.0.2", port, default={"eod": accept_then_close}) as mx1:
        srv = relay(mailroom, one_mx_dns, port, connection_cache_s=30)
        send(srv)
        mx1.wait_for(1, what="bodies_read")
        wait_queue_empty(srv)
        qid = send(srv)
        mx1.wait_for(2, what="bodies_read")
        wait_queue_empty(srv)
        assert mx1.connections == 2
        log = srv.log_text()
        assert not re.search(rf"id={qid} .*status=deferred", log), log[-2000:]


def test_peer_that_stops_reading_the_body(mailroom, dns, port):
    # mx1 says 354 and then reads nothing: our writes block once the socket buffers are full, and
    # the data transfer timeout ends the attempt; mx2 gets the message.
    big = BODY + ("y" * 998 + "\r\n") * 6000  # about 6 MB: more than loopback buffers hold
    with ScriptedSmtp("127.0.0.2", port, default={"data": stop_reading}) as mx1, \
            ScriptedSmtp("127.0.0.3", port) as mx2:
        srv = relay(mailroom, dns, port)
        code, line, qid = send_message(srv.port(), SENDER, ["bob@dom.test"], big)
        assert code == 250, line
        (msg,) = mx2.wait_for(1, timeout=60)
        assert len(msg.data) > 6_000_000
        wait_queue_empty(srv)
        assert mx1.delivered == []
        assert re.search(rf"delivery: id={qid} .*not delivered by mx1\.dom\.test\[127\.0\.0\.2\]"
                         r":\d+: 4\.4\.2 timeout waiting for server in state data-body",
                         srv.log_text()), srv.log_text()[-2000:]


def stop_reading(conn):
    conn.send(b"354 go ahead\r\n")
    time.sleep(30)  # the client gives up long before
    return DROP


def early_refusal(conn):
    # Exchange-style: the size limit is enforced while the body streams in, and the server
    # answers at once and hangs up.
    conn.send(b"354 go ahead\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n")
    time.sleep(0.2)
    return DROP


def test_refusal_during_the_body_is_never_a_delivery(mailroom, dns, port):
    with ScriptedSmtp("127.0.0.2", port, default={"data": early_refusal}) as mx1, \
            ScriptedSmtp("127.0.0.3", port) as mx2:
        srv = relay(mailroom, dns, port)
        qid = send(srv)
        wait_queue_empty(srv)
        assert mx1.delivered == []
        log = srv.log_text()
        line = re.search(rf"id={qid} to=<bob@dom.test> status=(\w+) .*", log).group(0)
        # Either the 552 is read as the verdict (a bounce quoting it) or the drop defers to mx2.
        if "status=failed" in line:
            assert "552 5.3.4" in line and mx2.delivered == []
        else:
            assert len(mx2.delivered) == 1, line


def test_shutdown_during_a_hung_delivery_keeps_the_message(mailroom, one_mx_dns, port):
    # mx1 swallows the body and never answers, with the default 10-minute end-of-data timeout:
    # SIGTERM must not wait for it, and the message must still be there after the restart.
    with ScriptedSmtp("127.0.0.2", port, scripts=[{"eod": HANG}]) as mx1:
        srv = start_relay(mailroom, one_mx_dns.address, port)
        qid = send(srv)
        mx1.wait_for(1, what="bodies_read")
        started = time.time()
        srv.stop()
        assert srv.proc.returncode == 0
        assert time.time() - started < 10, "shutdown waited for the hung delivery"
        srv.start()
        (msg,) = mx1.wait_for(1, timeout=40)
        assert msg.connection == 1  # the retry after the restart; the first one never said 250
        wait_queue_empty(srv)
        log = srv.log_text()
        assert re.search(rf"id={qid} to=<bob@dom.test> status=delivered", log), log[-2000:]


# Without PIPELINING every command waits for its reply: the same misbehaviour lands elsewhere.
@pytest.mark.parametrize("stage,action", [
    case("rcpt", "250 2.1.5 Ok\r\n250 2.1.5 Ok again", "unsolicited"),
    case("mail", "421 4.3.2 closing", "421"),
    case("eod", DROP, "drop"),
    case("rcpt", HANG, "hang"),
])
def test_misbehaving_mx_without_pipelining(mailroom, dns, port, stage, action):
    with ScriptedSmtp("127.0.0.2", port, default={stage: action}, pipelining=False) as mx1, \
            ScriptedSmtp("127.0.0.3", port, pipelining=False) as mx2:
        srv = relay(mailroom, dns, port)
        send(srv)
        (msg,) = mx2.wait_for(1)
        assert_body(msg)
        wait_queue_empty(srv)
        assert mx1.delivered == [] and len(mx2.delivered) == 1


@pytest.mark.parametrize("eightbit", [True, False], ids=["8bitmime", "no-8bitmime"])
def test_8bit_body_is_never_sent_damaged(mailroom, one_mx_dns, port, eightbit):
    # RFC 6152: an 8-bit body goes only to a server that announced 8BITMIME; otherwise it bounces
    # 5.6.3 (mailroom does not convert) and not one octet of it is sent.
    body = "From: <chris@example.test>\r\nSubject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu \u2014 \u00fcber\r\n"
    with ScriptedSmtp("127.0.0.2", port, eightbit=eightbit) as mx1:
        srv = relay(mailroom, one_mx_dns, port)
        c = RawSmtp(srv.port())
        try:
            assert c.reply()[0] == 220
            c.expect("EHLO client.test", 250)
            c.expect(f"MAIL FROM:<{SENDER}> BODY=8BITMIME", 250)
            c.expect("RCPT TO:<bob@dom.test>", 250)
            c.expect("DATA", 354)
            c.send(body.encode() + b".\r\n")
            assert c.reply()[0] == 250
        finally:
            c.close()
        if eightbit:
            (msg,) = mx1.wait_for(1)
            assert msg.data.endswith(body.encode())
            assert any(l.endswith("BODY=8BITMIME") for l in mx1.client_lines()[0]
                       if l.startswith("MAIL FROM"))
        else:
            (dsn,) = dsns_for(srv)
            report = delivery_status(dsn)
            assert "Status: 5.6.3" in report and "Action: failed" in report, report
            assert mx1.bodies_read == []
            assert not any(l.startswith("MAIL FROM") for c in mx1.client_lines() for l in c)
