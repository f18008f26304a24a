"""DNS verification seen through unmodified boto3 (docs/verification.md; spec D-39, D-99;
DECISIONS Q-82, Q-85, Q-99): a real authoritative knot serves the customer's zone, records are
published at runtime with knotc, `sesame identity check` runs the check, and the SES APIs report
the result: v2 `VerificationInfo` (ErrorType, timestamps, SOARecord), `DkimAttributes.Status`,
`MailFromAttributes.MailFromDomainStatus`, and the v1 attribute operations.

Needs knotd/knotc (Debian `knot`); skipped without them. Knot listens on 127.0.6.8:5353."""

import datetime
import shutil
import subprocess
import time

import pytest

from conftest import REPO, Server, create_account

DNS = ("127.0.6.8", 5353)
ZONE = "verify.test"
SD = "platform.test"


class Knot:
    def __init__(self, base):
        self.dir = base
        (base / "zones").mkdir()
        (base / "zones" / f"{ZONE}.zone").write_text(
            f"$ORIGIN {ZONE}.\n$TTL 60\n@ 300 IN SOA ns.{ZONE}. hostmaster.{ZONE}. 7 3600 600 86400 60\n"
            f"@ 300 IN NS ns.{ZONE}.\n"
        )
        conf = (REPO / "tests" / "peers" / "knot.conf").read_text()
        conf = conf.replace("@DIR@", str(base)).replace("@LISTEN@", f"{DNS[0]}@{DNS[1]}")
        conf += f"  - domain: {ZONE}\n"
        (base / "knot.conf").write_text(conf)
        self.sock = str(base / "knot.sock")
        self.log = open(base / "log", "wb")
        self.proc = subprocess.Popen([shutil.which("knotd") or "/usr/sbin/knotd", "-c", str(base / "knot.conf")],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while self.knotc("zone-status", ZONE, check=False).returncode != 0:
            assert self.proc.poll() is None, (base / "log").read_text()
            assert time.monotonic() < deadline, "knot did not start"
            time.sleep(0.1)

    def knotc(self, *args, check=True):
        return subprocess.run([shutil.which("knotc") or "/usr/sbin/knotc", "-s", self.sock, *args],
                              capture_output=True, text=True, check=check)

    def change(self, op, owner, rtype, value=None):
        self.knotc("zone-begin", ZONE)
        if op == "set":
            self.knotc("zone-set", ZONE, owner, "60", rtype, value)
        else:
            self.knotc("zone-unset", ZONE, owner, rtype)
        self.knotc("zone-commit", ZONE)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def dns_env(tmp_path_factory):
    if not (shutil.which("knotd") or shutil.which("/usr/sbin/knotd")):
        pytest.skip("knotd not installed (Debian package knot)")
    knot = Knot(tmp_path_factory.mktemp("knot"))
    data = tmp_path_factory.mktemp("sesame-verification") / "data"
    data.mkdir()
    server = Server(data)
    server.env.update({
        "SESAME_RESOLVER": f"{DNS[0]}:{DNS[1]}",
        "SESAME_SERVICE_DOMAIN": SD,
        # The server's own loop stays out of the way: checks come from the CLI.
        "SESAME_VERIFICATION_PENDING_INTERVAL_SECONDS": "3600",
        "SESAME_VERIFICATION_POLL_SECONDS": "3600",
    })
    try:
        server.start()
        yield knot, server, create_account(server)
        server.stop()
    finally:
        # Also when the server failed to start: a knotd left behind would hold the address.
        knot.stop()


def check(server, acct, identity):
    return server.cli("identity", "check", "--account", acct.account_id, identity).stdout


def test_verification_info_after_checks(dns_env):
    knot, server, acct = dns_env
    v2, v1 = acct.sesv2, acct.ses
    tokens = v2.create_email_identity(EmailIdentity=ZONE)["DkimAttributes"]["Tokens"]
    got = v2.get_email_identity(EmailIdentity=ZONE)
    assert got["VerificationStatus"] == "PENDING"

    out = check(server, acct, ZONE)
    assert "HOST_NOT_FOUND" in out, out
    got = v2.get_email_identity(EmailIdentity=ZONE)
    info = got["VerificationInfo"]
    assert info["ErrorType"] == "HOST_NOT_FOUND"
    assert isinstance(info["LastCheckedTimestamp"], datetime.datetime)
    assert "LastSuccessTimestamp" not in info
    assert info["SOARecord"] == {"PrimaryNameServer": f"ns.{ZONE}", "AdminEmail": f"hostmaster.{ZONE}",
                                 "SerialNumber": 7}

    for t in tokens:
        knot.change("set", f"{t}._domainkey", "CNAME", f"{t}.dkim.{SD}.")
    out = check(server, acct, ZONE)
    assert "changed: DKIM PENDING -> SUCCESS" in out, out
    got = v2.get_email_identity(EmailIdentity=ZONE)
    assert got["VerificationStatus"] == "SUCCESS"
    assert got["VerifiedForSendingStatus"] is True
    assert got["DkimAttributes"]["Status"] == "SUCCESS"
    assert "ErrorType" not in got["VerificationInfo"]
    assert isinstance(got["VerificationInfo"]["LastSuccessTimestamp"], datetime.datetime)
    dk = v1.get_identity_dkim_attributes(Identities=[ZONE])["DkimAttributes"][ZONE]
    assert dk["DkimVerificationStatus"] == "Success"
    va = v1.get_identity_verification_attributes(Identities=[ZONE])["VerificationAttributes"][ZONE]
    assert va["VerificationStatus"] == "Success"

    # Custom MAIL FROM: two MX → not verified; one MX → Success.
    v2.put_email_identity_mail_from_attributes(EmailIdentity=ZONE, MailFromDomain=f"bounce.{ZONE}",
                                               BehaviorOnMxFailure="REJECT_MESSAGE")
    knot.change("set", "bounce", "MX", f"10 feedback-smtp.us-east-1.{SD}.")
    knot.change("set", "bounce", "MX", f"20 other.{ZONE}.")
    check(server, acct, ZONE)
    mf = v1.get_identity_mail_from_domain_attributes(Identities=[ZONE])["MailFromDomainAttributes"][ZONE]
    assert mf["MailFromDomainStatus"] == "Pending"
    assert mf["BehaviorOnMXFailure"] == "RejectMessage"
    knot.change("unset", "bounce", "MX")
    knot.change("set", "bounce", "MX", f"10 feedback-smtp.us-east-1.{SD}.")
    check(server, acct, ZONE)
    got = v2.get_email_identity(EmailIdentity=ZONE)
    assert got["MailFromAttributes"]["MailFromDomainStatus"] == "SUCCESS"

    # A record removed: TEMPORARY_FAILURE in both APIs.
    knot.change("unset", f"{tokens[0]}._domainkey", "CNAME")
    check(server, acct, ZONE)
    got = v2.get_email_identity(EmailIdentity=ZONE)
    assert got["DkimAttributes"]["Status"] == "TEMPORARY_FAILURE"
    assert got["VerificationInfo"]["ErrorType"] == "HOST_NOT_FOUND"
    dk = v1.get_identity_dkim_attributes(Identities=[ZONE])["DkimAttributes"][ZONE]
    assert dk["DkimVerificationStatus"] == "TemporaryFailure"
