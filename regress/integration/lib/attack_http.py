#!/usr/bin/env python3
# Raw HTTP/1.1 over a socket for attacks_test.sh: what curl will not send
# (pipelined requests in one write, conflicting framing headers, huge
# headers) and the login timing measurement.  Prints JSON on stdout.
#
#   attack_http.py send PORT [WAIT]	request bytes on stdin, sent in ONE
#	write; reads until the server closes or is idle WAIT s (default 3);
#	prints {"responses": [{status, reason, headers, body}], "closed",
#	"error"} (header names in lower case; a repeated header joined by
#	", ").
#   attack_http.py timing PORT N USER_A USER_B PASSWORD
#	N alternating form logins each of USER_A and USER_B, each on a new
#	connection; prints {"a": [seconds...], "b": [...], "median_a",
#	"median_b", "statuses"}.

import json
import socket
import statistics
import sys
import time
import urllib.parse


def parse(buf):
    """Splits buf into complete responses; returns (list, rest)."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        head = buf[:end].decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError("not a status line: %r" % head[0])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            v = v.strip()
            headers[k] = headers[k] + ", " + v if k in headers else v
        rest = buf[end + 4:]
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                nl = rest.find(b"\r\n")
                if nl < 0:
                    return out, buf
                size = int(rest[:nl].split(b";")[0], 16)
                if len(rest) < nl + 2 + size + 2:
                    return out, buf
                body += rest[nl + 2:nl + 2 + size]
                rest = rest[nl + 2 + size + 2:]
                if size == 0:
                    break
        else:
            n = int(headers.get("content-length", "0"))
            if len(rest) < n:
                return out, buf
            body, rest = rest[:n], rest[n:]
        out.append({"status": int(parts[1]),
                    "reason": parts[2] if len(parts) > 2 else "",
                    "headers": headers,
                    "body": body.decode("utf-8", "replace")})
        buf = rest


def send(port, data, wait):
    res = {"responses": [], "closed": False, "error": None}
    buf = b""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        s.settimeout(wait)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                res["closed"] = True
                break
            buf += chunk
    except (ConnectionResetError, BrokenPipeError) as e:
        res["closed"] = True
        res["error"] = str(e)
    finally:
        s.close()
    try:
        res["responses"], rest = parse(buf)
        if rest:
            res["error"] = "trailing bytes: %r" % rest[:200]
    except ValueError as e:
        res["error"] = str(e)
    return res


def login_once(port, user, password):
    body = urllib.parse.urlencode({"username": user,
                                   "password": password}).encode()
    req = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
           + body)
    t0 = time.monotonic()
    r = send(port, req, 30)
    t = time.monotonic() - t0
    st = r["responses"][0]["status"] if r["responses"] else 0
    return t, st


def timing(port, n, ua, ub, pw):
    a, b, statuses = [], [], set()
    for _ in range(n):
        for user, acc in ((ua, a), (ub, b)):
            t, st = login_once(port, user, pw)
            acc.append(t)
            statuses.add(st)
    return {"a": a, "b": b, "median_a": statistics.median(a),
            "median_b": statistics.median(b), "statuses": sorted(statuses)}


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "send":
        wait = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
        print(json.dumps(send(port, sys.stdin.buffer.read(), wait)))
    elif cmd == "timing":
        print(json.dumps(timing(port, int(sys.argv[3]), sys.argv[4],
                                sys.argv[5], sys.argv[6])))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
