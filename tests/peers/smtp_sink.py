#!/usr/bin/env python3
"""Scriptable SMTP sink for tests (pip install aiosmtpd; see tests/peers/venv.sh).

  python3 smtp_sink.py --listen 127.0.2.3:25 --out DIR [--tls CERT KEY] [--auth USER:PASS]
                       [--size N] [--refuse "421 4.3.2 busy"] [--tls-max-1.1]

Recipient local parts choose the answer:
  rcpt-NNN@...       -> RCPT answered NNN (e.g. rcpt-550, rcpt-451, rcpt-452)
  data-NNN@...       -> RCPT ok, end of DATA answered NNN
  once-rcpt-NNN@...  -> like rcpt-NNN the first time this sink sees the address, then accepted
  once-data-NNN@...  -> like data-NNN the first time, then accepted
  anything else      -> accepted; stored as DIR/<n>.eml + DIR/<n>.json (envelope)

Without --tls no STARTTLS is offered; --tls-max-1.1 offers it but speaks at most TLS 1.1, so
a client requiring TLS >= 1.2 fails the handshake. --size N announces and enforces SIZE N (default: 32 MiB,
aiosmtpd's default). --refuse LINE greets every connection with LINE (e.g. a 421 or 554
greeting), answers any command with 503, and saves nothing. Every MAIL and RCPT command is appended to DIR/transcript.jsonl
({"cmd", "arg", "options", "peer", "peer_port", "tls"}), so tests can prove what was (or was
not) sent; peer_port tells connections apart.
"""
import argparse, asyncio, json, re, ssl, threading
from pathlib import Path
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

TEXT = {"4": "4.3.0 temporary failure (test)", "5": "5.7.1 rejected (test)"}
RX = re.compile(r"^(once-)?(rcpt|data)-([45]\d\d)(?:[+.-].*)?@", re.I)


class Sink:
    def __init__(self, out):
        self.out, self.lock = Path(out), threading.Lock()
        self.out.mkdir(parents=True, exist_ok=True)
        self.n = len(list(self.out.glob("*.eml")))
        self.seen = set()  # addresses whose once- failure was already given

    def scripted(self, address, stage):
        """The scripted code for `address` at `stage` (rcpt/data), or None to accept."""
        m = RX.match(address)
        if not m or m.group(2).lower() != stage:
            return None
        if m.group(1):
            key = (stage, address.lower())
            with self.lock:
                if key in self.seen:
                    return None
                self.seen.add(key)
        return m.group(3)

    def record(self, session, cmd, arg, options):
        line = json.dumps({"cmd": cmd, "arg": arg, "options": options, "peer": session.peer[0],
                           "peer_port": session.peer[1], "tls": session.ssl is not None})
        with self.lock, open(self.out / "transcript.jsonl", "a") as f:
            f.write(line + "\n")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.record(session, "MAIL", address, mail_options)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.record(session, "RCPT", address, options)
        code = self.scripted(address, "rcpt")
        if code:
            return f"{code} " + ("5.1.1 user unknown (test)" if code[0] == "5" else TEXT["4"])
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for r in envelope.rcpt_tos:
            code = self.scripted(r, "data")
            if code:
                return f"{code} {TEXT[code[0]]}"
        with self.lock:
            self.n += 1
            base = self.out / f"{self.n:04d}"
        base.with_suffix(".eml").write_bytes(envelope.original_content)
        base.with_suffix(".json").write_text(json.dumps({
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "peer": session.peer[0], "peer_port": session.peer[1], "helo": session.host_name,
            "tls": session.ssl is not None,
            "auth": session.auth_data}))
        return f"250 2.0.0 OK queued as {base.name}"


def refuse_forever(host, port, line):
    """A server that only ever refuses (RFC 5321 §3.1 greeting with a 4xx/5xx code)."""
    async def client(reader, writer):
        writer.write(line.encode() + b"\r\n")
        await writer.drain()
        try:
            while await reader.readline():
                writer.write(b"503 5.5.1 go away (test)\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def run():
        server = await asyncio.start_server(client, host, int(port))
        print(f"listening on {host}:{port}", flush=True)
        await server.serve_forever()

    asyncio.run(run())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.3:25")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--size", type=int, metavar="N")
    ap.add_argument("--refuse", metavar="LINE")
    ap.add_argument("--tls-max-1.1", dest="tls_legacy", action="store_true")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    if a.refuse:
        return refuse_forever(host, port, a.refuse)
    kw = {}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.tls)
        if a.tls_legacy:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        kw["tls_context"] = ctx
    if a.auth:
        user, pw = a.auth.split(":", 1)
        def ok(srv, sess, env, mech, data):
            good = (data.login.decode(), data.password.decode()) == (user, pw)
            return AuthResult(success=good, handled=False, auth_data=user if good else None)
        kw.update(authenticator=ok, auth_required=True, auth_require_tls=bool(a.tls))
    else:
        kw["auth_require_tls"] = False
    if a.size is not None:
        kw["data_size_limit"] = a.size
    c = Controller(Sink(a.out), hostname=host, port=int(port),
                   server_hostname=f"sink-{host}", decode_data=False, **kw)
    c.start()
    print(f"listening on {host}:{port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
