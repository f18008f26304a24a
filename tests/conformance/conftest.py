"""Conformance harness: drives a real `sesame serve` with unmodified boto3 and the aws CLI.

Environment:
  SESAME_BIN           the sesame binary (run.sh sets it; default: target/debug/sesame)
  SESAME_DATABASE_URL  when set, the server and the CLI use this store (PostgreSQL); run.sh
                       creates a fresh database per run. Unset: SQLite in a temp data dir.
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
# One instance key for every server of the session: servers that share the PostgreSQL database
# are nodes of one deployment, and nodes must share the key that seals secrets (the
# `master_key` setting) — a node with another key cannot open the operator DKIM key.
SESSION_MASTER_KEY = os.environ.get("SESAME_MASTER_KEY") or uuid.uuid4().hex + uuid.uuid4().hex
REGION = "us-east-1"
READY_TIMEOUT = 30.0


def sesame_bin() -> str:
    b = os.environ.get("SESAME_BIN") or str(REPO / "target" / "debug" / "sesame")
    if not os.path.exists(b):
        pytest.exit(f"sesame binary not found at {b}: run `cargo build -p sesame` or set SESAME_BIN", 2)
    return b


def unique(prefix: str = "t") -> str:
    """A short unique DNS label, so tests never collide on the shared server."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def address(prefix: str = "u") -> str:
    """A unique address identity. Tests that do not need DKIM use addresses (or v1
    VerifyDomainIdentity) because each v2 domain create generates an RSA-2048 key, which takes
    seconds on a busy machine."""
    return f"{unique(prefix)}@{unique()}.example.net"


class Server:
    """One `sesame serve` process on a fixed data dir; can be stopped, killed and restarted.
    `dev=True` runs `sesame serve --dev` (capture mode, tracking and unsubscribe URLs on the
    listener)."""

    def __init__(self, data_dir: Path, dev: bool = False):
        self.data_dir = data_dir
        self.serve_args = ["serve", "--dev"] if dev else ["serve"]
        self.proc = None
        self.addr = None
        self.stderr_path = data_dir.parent / "sesame-stderr.log"
        self._stderr = None
        self.env = dict(os.environ)
        self.env["SESAME_HTTP_ADDR"] = "127.0.0.1:0"
        # The API suite does not use SMTP (crates/sesame/tests/smtp_submission.rs does); without
        # a certificate `sesame serve` would refuse to start them.
        self.env.setdefault("SESAME_SUBMISSION_ADDR", "off")
        self.env.setdefault("SESAME_SUBMISSION_TLS_ADDR", "off")
        # The instance's dedicated IPs (test_dedicated_ips.py); loopback, never bound by this suite.
        self.env.setdefault("SESAME_OUTBOUND_IPS", "127.0.1.7,127.0.1.8,127.0.1.9")
        # The feedback MX's default port (2525) would collide between parallel servers.
        self.env.setdefault("SESAME_MX_ADDR", "off")
        self.env.setdefault("SESAME_DNS_ADDR", "off")
        self.env["SESAME_DATA_DIR"] = str(data_dir)
        self.env.setdefault("SESAME_MASTER_KEY", SESSION_MASTER_KEY)
        self.env.setdefault("SESAME_LOG", "info")
        self.env["NO_COLOR"] = "1"  # plain stderr logs for the failure dumps

    @property
    def endpoint(self) -> str:
        return f"http://{self.addr}"

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [sesame_bin(), "--data-dir", str(self.data_dir), *self.serve_args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=self.env,
        )
        line_box = {}

        def reader():
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("sesame ready http="):
                    # `sesame ready http=ADDR submission=ADDR submission_tls=ADDR mx=ADDR`
                    line_box["addr"] = line.split()[2].split("=", 1)[1]
                    break
            # keep draining stdout so the server never blocks on a full pipe
            for _ in self.proc.stdout:
                pass

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while "addr" not in line_box:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sesame serve exited with {self.proc.returncode}\n{self.stderr_text()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"sesame serve not ready after {READY_TIMEOUT}s\n{self.stderr_text()}")
            time.sleep(0.02)
        self.addr = line_box["addr"]
        # Port 0: a restart gets a new port; clients are rebuilt from `endpoint`.

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close()

    def kill(self):
        """`kill -9`: no graceful shutdown, no flush."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        self._close()

    def restart(self, hard: bool = False):
        self.kill() if hard else self.stop()
        self.start()

    def _close(self):
        if self._stderr:
            self._stderr.close()
            self._stderr = None

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs `sesame --data-dir DIR <args>` against the same store as the server."""
        p = subprocess.run(
            [sesame_bin(), "--data-dir", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"sesame {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p


class Account:
    def __init__(self, server: Server, creds: dict):
        self.server = server
        self.account_id = creds["account_id"]
        self.access_key_id = creds["access_key_id"]
        self.secret_access_key = creds["secret_access_key"]
        self.creds = creds

    def client(self, service: str, region: str = REGION, **overrides):
        kw = dict(
            endpoint_url=self.server.endpoint,
            region_name=region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        kw.update(overrides)
        return boto3.client(service, **kw)

    @property
    def sesv2(self):
        return self.client("sesv2")

    @property
    def ses(self):
        return self.client("ses")

    def arn(self, resource: str) -> str:
        return f"arn:aws:ses:{REGION}:{self.account_id}:{resource}"


def create_account(server: Server) -> Account:
    p = server.cli("account", "create", "--json")
    creds = json.loads(p.stdout.strip().splitlines()[-1])
    for k in ("account_id", "access_key_id", "secret_access_key", "smtp_username", "smtp_password"):
        assert k in creds, f"account create --json lacks {k}: {creds}"
    return Account(server, creds)


# ---------------------------------------------------------------- fixtures

_SERVERS = []


@atexit.register
def _kill_leftovers():
    # Belt and braces for an interrupted session: never leave a server running.
    for s in _SERVERS:
        s.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("sesame")
    data = base / "data"
    data.mkdir()
    s = Server(data)
    s.start()
    _SERVERS.append(s)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def account_a(server) -> Account:
    return create_account(server)


@pytest.fixture(scope="session")
def account_b(server) -> Account:
    return create_account(server)


@pytest.fixture(scope="session")
def account_prod(server) -> Account:
    """An account moved out of the sandbox by the operator (`sesame account production`)."""
    acct = create_account(server)
    server.cli("account", "production", "--account", acct.creds["account_id"])
    return acct


@pytest.fixture
def v2prod(account_prod):
    return account_prod.sesv2


@pytest.fixture
def v2(account_a):
    return account_a.sesv2


@pytest.fixture
def v1(account_a):
    return account_a.ses


@pytest.fixture
def v2b(account_b):
    return account_b.sesv2


@pytest.fixture
def v1b(account_b):
    return account_b.ses


@pytest.fixture
def restartable(server):
    """The shared server, for persistence tests: `restartable.restart()` (SIGTERM, start again on
    the same data dir / database) or `restartable.restart(hard=True)` (`kill -9`, start again).
    The port changes on restart; the per-test client fixtures read `server.endpoint` afresh.
    (One server per data dir: the instance key lives in the data dir, so a second server on
    the same PostgreSQL database with another data dir could not read the stored secrets.)"""
    yield server
    if server.proc is None or server.proc.poll() is not None:
        server.start()


class AwsCli:
    def __init__(self, account: Account):
        self.account = account

    def env(self):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("PYTHONPATH",)
        }
        env.update(
            AWS_ACCESS_KEY_ID=self.account.access_key_id,
            AWS_SECRET_ACCESS_KEY=self.account.secret_access_key,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
        )
        return env

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
        p = subprocess.run(
            [aws, "--endpoint-url", self.account.server.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=60,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def json(self, *args: str):
        out = self(*args).stdout.strip()
        return json.loads(out) if out else {}


@pytest.fixture
def aws(account_a) -> AwsCli:
    return AwsCli(account_a)


# ---------------------------------------------------------------- failure diagnostics

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for s in _SERVERS:
            if s.stderr_path.exists():
                tail = "\n".join(s.stderr_text().splitlines()[-30:])
                rep.sections.append((f"sesame stderr ({s.stderr_path})", tail))


def pytest_sessionfinish(session, exitstatus):
    if exitstatus not in (0, 5):
        for s in _SERVERS:
            txt = s.stderr_text()
            if txt:
                sys.stderr.write(f"\n==== sesame stderr ({s.stderr_path}), last lines ====\n")
                sys.stderr.write("\n".join(txt.splitlines()[-60:]) + "\n")


# ---------------------------------------------------------------- helpers used by tests

def err(excinfo):
    """(code, http status, message) of a botocore ClientError."""
    e = excinfo.value
    return (
        e.response["Error"]["Code"],
        e.response["ResponseMetadata"]["HTTPStatusCode"],
        e.response["Error"].get("Message", ""),
    )
