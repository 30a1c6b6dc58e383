#!/usr/bin/python3
"""A local SMTP sink for authd's tests and `make run`.

Accepts every message on HOST:PORT (aiosmtpd, Debian's python3-aiosmtpd)
and writes each into a maildir, with Return-Path and Delivered-To headers
naming the envelope as a delivering MTA would.  Runs until SIGTERM or
SIGINT.

    smtpsink.py --listen 127.0.0.1:2525 --maildir ./var/mail \
        [--pidfile FILE] [--fail N]

--fail N answers "451 try again later" to the first N messages, to test
the sender's retries.  The pid file is written once the port accepts
connections, so a script can wait for it.
"""

import argparse
import mailbox
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, path, fail):
        self.maildir = mailbox.Maildir(path, create=True)
        self.fail = fail
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail > 0:
                self.fail -= 1
                return "451 4.3.0 try again later (smtpsink --fail)"
            head = "Return-Path: <%s>\r\n" % (envelope.mail_from or "")
            for rcpt in envelope.rcpt_tos:
                head += "Delivered-To: %s\r\n" % rcpt
            self.maildir.add(head.encode("utf-8") + envelope.content)
        return "250 2.0.0 message accepted"


def main():
    ap = argparse.ArgumentParser(description="SMTP sink writing a maildir")
    ap.add_argument("--listen", default="127.0.0.1:2525",
                    help="HOST:PORT to listen on")
    ap.add_argument("--maildir", required=True, help="maildir to fill")
    ap.add_argument("--pidfile", help="written once listening")
    ap.add_argument("--fail", type=int, default=0,
                    help="answer 451 to the first N messages")
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    handler = MaildirHandler(args.maildir, args.fail)
    ctl = Controller(handler, hostname=host or "127.0.0.1", port=int(port),
                     enable_SMTPUTF8=True)
    ctl.start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)
    print("smtpsink: listening on %s, writing %s" % (args.listen,
          args.maildir), file=sys.stderr, flush=True)
    while not stop.wait(1):
        pass
    ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
