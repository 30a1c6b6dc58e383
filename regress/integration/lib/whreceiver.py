#!/usr/bin/env python3
# A webhook receiver for webhooks_test.sh: the partner's side of authd's
# outbound events.
#
#   whreceiver.py DIR [FAILS]
#
# Listens on 127.0.0.1 (a free port, written to DIR/port once it
# listens), answers the first FAILS POSTs with 500 and the others with
# 200, and appends one JSON line per request to DIR/requests.jsonl:
#   {"n", "path", "status" (what it answered), "event_id", "timestamp",
#    "signature", "sig_ok", "body" (parsed JSON, or null)}
# sig_ok is checked as a partner would: X-Signature must be
# "sha256=" + hex HMAC-SHA256 keyed with the secret in DIR/secret (the
# api_secret as authd showed it, hex; the key is the bytes it encodes)
# of X-Timestamp + "." + the body.  Runs until killed.
import hashlib
import hmac
import http.server
import json
import os
import sys

DIR = sys.argv[1]
FAILS = int(sys.argv[2]) if len(sys.argv) > 2 else 0
count = 0


def secret():
    try:
        with open(os.path.join(DIR, "secret")) as f:
            return f.read().strip().encode()
    except (OSError, ValueError):
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        count += 1
        n = count
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        ts = self.headers.get("X-Timestamp", "")
        sig = self.headers.get("X-Signature", "")
        key = secret()
        ok = False
        if key is not None:
            mac = hmac.new(key, ts.encode() + b"." + raw, hashlib.sha256)
            ok = hmac.compare_digest("sha256=" + mac.hexdigest(), sig)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        status = 500 if n <= FAILS else 200
        rec = {"n": n, "path": self.path, "status": status,
               "event_id": self.headers.get("X-Event-Id"),
               "timestamp": ts, "signature": sig, "sig_ok": ok,
               "content_type": self.headers.get("Content-Type"),
               "body": body}
        with open(os.path.join(DIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        out = b'{"ok": true}' if status == 200 else b'{"error": "try later"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, fmt, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
tmp = os.path.join(DIR, "port.tmp")
with open(tmp, "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(tmp, os.path.join(DIR, "port"))
server.serve_forever()
