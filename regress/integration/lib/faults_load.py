#!/usr/bin/env python3
# Bounded load generators of faults_test.sh, against 127.0.0.1 only.
# Every request is logged, one line each, flushed at once, so that the
# test can read the log while the load runs and after it was stopped.
# Each mode stops after COUNT requests, after SECONDS, or as soon as the
# file STOP exists, whichever comes first.
#
#   create PORT TOKEN PREFIX LOG COUNT SECONDS STOP
#	POST /api/v1/users/ as admin, one new email a request, then GET
#	/api/v1/users/me; logs "TIME create EMAIL STATUS" and
#	"TIME me - STATUS" (TIME: seconds since the epoch when answered).
#   get PORT PATH LOG COUNT SECONDS STOP
#	GET PATH on a new connection each time; logs "STATUS" (000 when
#	the connection failed or there was no answer).
#   login PORT USER PASSWORD LOG COUNT SECONDS STOP
#	form logins; logs "STATUS GOOD" where GOOD says, for a 200, that
#	the body has an access_token of three non-empty dot-separated parts.
#   slowloris PORT NCONN TIMEOUT LOG
#	NCONN connections that send a partial request one byte a second;
#	logs, for each, the seconds until the server closed it, or "open"
#	after TIMEOUT + 6 seconds.
#   keepalive PORT TIMEOUT LOG
#	one connection: GET / four times, 0.6 TIMEOUT apart, logging
#	"answer STATUS" (000: no answer), then idle; logs "idle
#	SECONDS" when the server closed it after the last answer, or "idle
#	open" after TIMEOUT + 6 seconds.

import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

HOST = "127.0.0.1"


def request(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def bounded(count, seconds, stop):
    end = time.monotonic() + seconds
    for i in range(count):
        if time.monotonic() > end or os.path.exists(stop):
            return
        yield i


def mode_create(port, token, prefix, log, count, seconds, stop):
    auth = {"Authorization": "Bearer " + token,
            "Content-Type": "application/json"}
    with open(log, "a") as out:
        for i in bounded(int(count), float(seconds), stop):
            email = "%s%d@example.com" % (prefix, i)
            body = json.dumps({"email": email,
                               "username": "%s%d" % (prefix, i),
                               "password": "Faults-Pass-9x!Q"})
            st, _ = request(port, "POST", "/api/v1/users/", body, auth)
            out.write("%.3f create %s %03d\n" %
                      (time.time(), email, st))
            st, _ = request(port, "GET", "/api/v1/users/me", None,
                            {"Authorization": "Bearer " + token})
            out.write("%.3f me - %03d\n" % (time.time(), st))
            out.flush()
            time.sleep(0.02)


def mode_get(port, path, log, count, seconds, stop):
    with open(log, "a") as out:
        for _ in bounded(int(count), float(seconds), stop):
            st, _ = request(port, "GET", path, timeout=5)
            out.write("%03d\n" % st)
            out.flush()


def good_token(data):
    try:
        tok = json.loads(data)["access_token"]
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(tok, str):
        return False
    parts = tok.split(".")
    return len(parts) == 3 and all(parts)


def mode_login(port, user, password, log, count, seconds, stop):
    body = urllib.parse.urlencode({"username": user, "password": password})
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    with open(log, "a") as out:
        for _ in bounded(int(count), float(seconds), stop):
            st, data = request(port, "POST", "/api/v1/auth/login", body,
                               hdr, timeout=10)
            ok = "good" if st != 200 or good_token(data) else "BAD"
            out.write("%03d %s\n" % (st, ok))
            out.flush()


def mode_slowloris(port, nconn, timeout, log):
    # A request line and a header that never end: the server must close
    # the connection once its timeout has passed, however slowly the
    # bytes keep coming.
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    drip = b"a"
    nconn = int(nconn)
    limit = float(timeout) + 6
    socks = []
    for _ in range(nconn):
        s = socket.create_connection((HOST, int(port)), timeout=5)
        s.setblocking(False)
        socks.append([s, time.monotonic(), None])
    for ent in socks:
        try:
            ent[0].send(head[:10])
        except OSError:
            ent[2] = 0.0
    with open(log + ".ready", "w"):
        pass
    sent = 10
    while True:
        now = time.monotonic()
        left = [e for e in socks if e[2] is None]
        if not left or now - socks[0][1] > limit:
            break
        for ent in left:
            s = ent[0]
            try:
                # An answer (408, 400) may come before the close: only
                # the end of the stream counts.
                if s.recv(4096) == b"":
                    ent[2] = now - ent[1]
                    continue
            except BlockingIOError:
                pass
            except OSError:
                ent[2] = now - ent[1]
                continue
            chunk = head[sent:sent + 1] if sent < len(head) else drip
            try:
                s.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                ent[2] = now - ent[1]
        sent += 1
        time.sleep(1)
    with open(log, "w") as out:
        for s, _, closed in socks:
            out.write("open\n" if closed is None else "%.1f\n" % closed)
            s.close()


def mode_keepalive(port, timeout, log):
    # Every request has its own deadline: a kept-alive connection used
    # for longer than the timeout stays open while each request comes in
    # time, and is closed once left idle for the timeout.
    timeout = float(timeout)
    s = socket.create_connection((HOST, int(port)), timeout=timeout + 6)
    last = time.monotonic()
    with open(log, "w") as out:
        for i in range(4):
            if i > 0:
                time.sleep(0.6 * timeout)
            try:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                resp = http.client.HTTPResponse(s)
                resp.begin()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                status = "000"
            out.write("answer %s\n" % status)
            out.flush()
            if status == "000":
                break
            last = time.monotonic()
        try:
            while s.recv(4096) != b"":
                pass
            out.write("idle %.1f\n" % (time.monotonic() - last))
        except socket.timeout:
            out.write("idle open\n")
        except OSError:
            out.write("idle %.1f\n" % (time.monotonic() - last))
    s.close()


def main():
    modes = {"create": (mode_create, 7), "get": (mode_get, 6),
             "login": (mode_login, 7), "slowloris": (mode_slowloris, 4),
             "keepalive": (mode_keepalive, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in modes or \
            len(sys.argv) - 2 != modes[sys.argv[1]][1]:
        sys.exit("usage: faults_load.py "
                 "create|get|login|slowloris|keepalive ARGS")
    func, _ = modes[sys.argv[1]]
    func(*sys.argv[2:])


if __name__ == "__main__":
    main()
