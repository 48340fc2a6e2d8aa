"""`mailroom mx`: the seeds' nslookup step against a private dnsmasq — MX by preference with
addresses and PTRs, implicit MX, null MX, NXDOMAIN and a silent resolver; text and JSON (checked
against docs/json/mx.schema.json); exit status per case."""
import json

import pytest

from dns_support import DnsServer
from tester_support import check_schema, run_mailroom


@pytest.fixture(scope="module")
def dns():
    d = DnsServer(mx=[("fabrikam.test", "mail2.fabrikam.test", 20),
                      ("fabrikam.test", "mail1.fabrikam.test", 10), ("null.test", ".", 0)],
                  hosts=[("mail1.fabrikam.test", "127.0.0.2"), ("mail2.fabrikam.test", "127.0.0.3"),
                         ("plain.test", "127.0.0.5")])
    yield d
    d.stop()


def test_mx_by_preference_with_addresses_and_ptr(dns):
    r = run_mailroom("mx", "fabrikam.test", "--dns", dns.address)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "fabrikam.test:"
    assert "MX preference = 10" in lines[1] and "mail1.fabrikam.test" in lines[1]
    assert "MX preference = 20" in lines[2] and "mail2.fabrikam.test" in lines[2]
    assert any("127.0.0.2" in l and "PTR mail1.fabrikam.test" in l for l in lines)
    doc = check_schema(json.loads(run_mailroom("mx", "fabrikam.test", "--dns", dns.address,
                                               "--json").stdout), "mx")
    assert [h["name"] for h in doc["hosts"]] == ["mail1.fabrikam.test", "mail2.fabrikam.test"]
    assert doc["hosts"][0]["addresses"][0]["ip"] == "127.0.0.2"
    assert doc["deliverable"] is True


@pytest.mark.parametrize("domain,rc,words,status", [
    ("null.test", 1, "null MX (RFC 7505)", "ok"),
    ("nowhere.test", 1, "does not exist (NXDOMAIN)", "nxdomain"),
    ("plain.test", 0, "implicit MX", "nodata"),
])
def test_mx_special_cases(dns, domain, rc, words, status):
    r = run_mailroom("mx", domain, "--dns", dns.address)
    assert r.returncode == rc, r.stdout
    assert words in r.stdout
    doc = check_schema(json.loads(run_mailroom("mx", domain, "--dns", dns.address,
                                               "--json").stdout), "mx")
    assert doc["mx_status"] == status


def test_mx_silent_resolver_is_temporary():
    r = run_mailroom("mx", "fabrikam.test", "--dns", "127.0.0.1:9", timeout=60)
    assert r.returncode == 3, r.stdout
    assert "deferred until DNS answers" in r.stdout


def test_mx_bad_arguments():
    r = run_mailroom("mx")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = run_mailroom("mx", "fabrikam.test", "--dns", "not-an-address")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
