#!/usr/bin/env python3
"""A real SMTP server for Twofold's mail tests, built on aiosmtpd.

It listens on 127.0.0.1 (and ::1 on the same port when it can), prints `READY <port>`
once it accepts connections, and stores each message it accepts as `NNNNN.eml` in
--out, beside `NNNNN.json` with the envelope and how the session was secured. It stops
when its standard input closes, so it never outlives the test that started it.

  --tls starttls   offer STARTTLS and refuse mail before it; --tls implicit: TLS from
                   the first byte. Either way a CA and a certificate for `localhost`
                   are made with openssl in --certs, the CA as ca.pem.
  --user/--password  require AUTH (PLAIN or LOGIN) with these credentials.
  --greylist N     answer the first N messages with 451 (try again later).
"""
import argparse
import asyncio
import json
import logging
import os
import socket
import ssl
import subprocess
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    sys.exit(
        "smtp_sink: aiosmtpd is not installed: "
        "python3 -m pip install -r crates/server/tests/support/requirements.txt "
        "(or set TWOFOLD_TEST_SMTP_PYTHON to a Python that has it)"
    )


def make_certs(folder):
    """A throwaway CA and a `localhost` server certificate it signed."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    p = lambda name: os.path.join(folder, name)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"),
        "-days", "2", "-subj", "/CN=Twofold test CA")
    run("req", *ec, "-keyout", p("key.pem"), "-out", p("server.csr"), "-subj", "/CN=localhost")
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
        "-CAcreateserial", "-out", p("cert.pem"), "-days", "2", "-extfile", p("server.ext"))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(p("cert.pem"), p("key.pem"))
    return ctx


class Store:
    def __init__(self, out, greylist):
        self.out = out
        self.greylist = greylist
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.greylist > 0:
            self.greylist -= 1
            return "451 4.7.1 Greylisted, please try again later"
        self.count += 1
        base = os.path.join(self.out, f"{self.count:05}")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # session.ssl is set by STARTTLS; a TLS-from-the-start transport carries it.
            "tls": (session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None),
            "auth_login": (session.auth_data.login.decode()
                           if session.authenticated and session.auth_data else None),
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        # The .eml appears last and whole: a reader that sees it sees everything.
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    ap.add_argument("--certs")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--greylist", type=int, default=0)
    args = ap.parse_args()
    # aiosmtpd logs a deprecation warning of its own on every AUTH; keep test output clean.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    store = Store(args.out, args.greylist)
    ctx = make_certs(args.certs) if args.tls != "none" else None

    kw = {"hostname": "localhost", "loop": loop}
    if args.tls == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    if args.user:
        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword)
                  and data.login.decode() == args.user
                  and data.password.decode() == args.password)
            return AuthResult(success=ok, handled=False, auth_data=data if ok else None)
        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=args.tls != "none")
    factory = lambda: SMTP(store, **kw)
    wrap = ctx if args.tls == "implicit" else None

    server = loop.run_until_complete(
        loop.create_server(factory, "127.0.0.1", 0, ssl=wrap))
    port = server.sockets[0].getsockname()[1]
    try:  # `localhost` may resolve to ::1 first: answer there too.
        loop.run_until_complete(
            loop.create_server(factory, "::1", port, ssl=wrap, family=socket.AF_INET6))
    except OSError:
        pass

    def stdin_closed():
        if not sys.stdin.buffer.read1(4096):
            loop.stop()
    loop.add_reader(sys.stdin.fileno(), stdin_closed)
    print(f"READY {port}", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
