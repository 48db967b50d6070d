#!/usr/bin/python3
"""A real SMTP server on loopback for Herald's email tests and benchmark (Debian's python3-aiosmtpd).

Usage: smtp-test-server.py --spool DIR [--tls-dir DIR] [--user U --password P] [--discard]

- Listens on 127.0.0.1, on a free port, and prints `READY <port>` on stdout once it accepts.
- With --tls-dir: makes a self-signed certificate for `localhost` and 127.0.0.1 there
  (cert.pem, key.pem, with openssl) and offers STARTTLS, which it then requires.
- With --user/--password: AUTH PLAIN and LOGIN are offered (after STARTTLS) and required.
- Each accepted message is written to the spool as <n>.eml (the DATA as received) and <n>.json
  (envelope: mail_from, rcpt_tos, peer, session: the connection it came on).
- Scripted answers, chosen by the recipient's local part:
  `flaky-...@`  answers DATA with 451 the first time each Message-ID is seen, then 250;
  `reject-...@` answers RCPT TO with `550 5.1.1 <address>: mailbox unavailable`.
- --discard: count messages instead of spooling them (the benchmark); prints nothing more.
Stops on SIGTERM or when stdin closes (the parent died).
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def make_certificate(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Handler:
    def __init__(self, spool, discard):
        self.spool = spool
        self.discard = discard
        self.count = 0
        self.deferred = set()
        self.sessions = {}

    def session_number(self, session):
        return self.sessions.setdefault(id(session), len(self.sessions) + 1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("reject-"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if any(r.split("@")[0].startswith("flaky-") for r in envelope.rcpt_tos):
            message_id = next((line for line in content.split(b"\r\n") if line.lower().startswith(b"message-id:")), b"")
            if message_id not in self.deferred:
                self.deferred.add(message_id)
                return "451 4.3.0 Temporary local problem, try again later"
        self.count += 1
        if not self.discard:
            base = os.path.join(self.spool, "%06d" % self.count)
            with open(base + ".eml.part", "wb") as f:
                f.write(content)
            with open(base + ".json", "w") as f:
                json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                           "peer": list(session.peer)[:2], "session": self.session_number(session)}, f)
            os.rename(base + ".eml.part", base + ".eml")  # a reader sees whole messages only
        return "250 2.0.0 Ok: queued as %d" % self.count


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spool", required=True)
    parser.add_argument("--tls-dir")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--discard", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.spool, exist_ok=True)
    context = make_certificate(args.tls_dir) if args.tls_dir else None
    handler = Handler(args.spool, args.discard)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd itself answers 535

    def factory():
        return SMTP(handler, hostname="herald-test-smtp", tls_context=context, require_starttls=context is not None,
                    auth_required=args.user is not None, auth_require_tls=context is not None,
                    authenticator=authenticator if args.user is not None else None, timeout=60)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # stdin closing (the parent is gone) also stops the server.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_stdin():
        await reader.read()
        stop.set()

    watcher = asyncio.ensure_future(watch_stdin())
    await stop.wait()
    if args.discard:
        print("ACCEPTED %d" % handler.count, flush=True)
    # At once, without waiting for clients' open connections (a TLS session's shutdown can wait for ever).
    os._exit(0)


asyncio.run(main())
