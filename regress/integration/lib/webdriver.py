#!/usr/bin/env python3
"""Headless Chromium driven through chromedriver (W3C WebDriver over
HTTP, standard library only), for docs_test.sh: load the /docs and
/redoc pages, check what they render, take screenshots, and use Swagger
UI's "Authorize" and "Try it out" like a person would.

    webdriver.py page swagger|redoc URL DOC.json SHOT.png
    webdriver.py tryit URL USERNAME PASSWORD EMAIL SHOT.png

Exits 0 when the page passed, 1 with the reason on stderr otherwise.
The password comes from the environment variable named by PASSWORD
when it starts with '$', so that it is not on a command line.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
TIMEOUT = float(os.environ.get("WEBDRIVER_TIMEOUT", "150"))


class Fail(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Browser:
    def __init__(self):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="authd-chromium.")
        self.log = open(os.path.join(self.profile, "chromedriver.log"), "w")
        self.proc = subprocess.Popen(
            ["chromedriver", "--port=%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        self.sid = None
        deadline = time.time() + 30
        while True:
            try:
                if self.call("GET", "/status")["ready"]:
                    break
            except (OSError, Fail):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise Fail("chromedriver did not start")
            time.sleep(0.2)
        args = ["--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                "--user-data-dir=" + os.path.join(self.profile, "profile"),
                "--window-size=1280,2000"]
        # A busy page (ReDoc renders everything at once) may hold its
        # main thread longer than the default 30 s script timeout.
        caps = {"browserName": "chrome",
                "timeouts": {"script": int(TIMEOUT * 1000),
                             "pageLoad": int(TIMEOUT * 2000)},
                "goog:chromeOptions": {"binary": chromium(), "args": args},
                "goog:loggingPrefs": {"browser": "ALL"}}
        r = self.call("POST", "/session",
                      {"capabilities": {"alwaysMatch": caps}})
        self.sid = r["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as f:
                return json.load(f)["value"]
        except urllib.error.HTTPError as e:
            try:
                v = json.load(e)["value"]
                msg = "%s: %s" % (v.get("error"), v.get("message", "")[:300])
            except ValueError:
                msg = str(e)
            raise Fail("webdriver %s %s: %s" % (method, path, msg))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync",
                      {"script": script, "args": list(args)})

    def find(self, css, wait=TIMEOUT):
        deadline = time.time() + wait
        while True:
            found = self.s("POST", "/elements",
                           {"using": "css selector", "value": css})
            if found:
                return found[0][ELEMENT]
            if time.time() > deadline:
                raise Fail("no element %s after %.0f s" % (css, wait))
            time.sleep(0.25)

    def click(self, css):
        eid = self.find(css)
        # Scrolled into view by the driver; a click on a covered element
        # is an error, which is what a person would meet too.
        self.s("POST", "/element/%s/click" % eid, {})

    def type(self, css, text):
        eid = self.find(css)
        self.s("POST", "/element/%s/clear" % eid, {})
        self.s("POST", "/element/%s/value" % eid, {"text": text})

    def wait(self, script, what, *args):
        deadline = time.time() + TIMEOUT
        while True:
            try:
                v = self.js(script, *args)
            except Fail as e:
                if "script timeout" not in str(e):
                    raise
                v = None
            if v:
                return v
            if time.time() > deadline:
                raise Fail("timed out waiting for %s" % what)
            time.sleep(0.25)

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    def console(self):
        """The browser's console messages so far (CSP violations land
        there)."""
        try:
            return self.s("POST", "/se/log", {"type": "browser"})
        except Fail:
            return []

    def close(self):
        try:
            if self.sid is not None:
                self.call("DELETE", "/session/" + self.sid)
        except (OSError, Fail):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def chromium():
    # Debian's /usr/bin/chromium is a wrapper script; the driver wants
    # the program itself.
    for p in ("/usr/lib/chromium/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser")):
        if p is not None and os.access(p, os.X_OK):
            return p
    raise Fail("no chromium found")


def operations(doc):
    """(tag, operationId) of every operation of the document."""
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch"):
                ops.append((op["tags"][0], op["operationId"]))
    return ops


def csp_violations(msgs, origin):
    """Console messages saying that CSP blocked something of our own
    origin: those would mean the policy breaks the page.  Blocking
    anything elsewhere is the policy doing its job."""
    bad = []
    for m in msgs:
        text = m.get("message", "")
        if "Content Security Policy" not in text:
            continue
        # The blocked URL is quoted first: 'Loading the script 'URL'...'
        q = text.split("'")
        blocked = q[1] if len(q) > 2 else ""
        if blocked.startswith(origin) or not blocked.startswith("http"):
            bad.append(text[:300])
    return bad


REDOC_IDS = """
return Array.from(document.querySelectorAll('[id^="operation/"]'))
    .map(function (e) { return e.id.substring(10); });
"""


def page(kind, url, docfile, shot):
    with open(docfile) as f:
        doc = json.load(f)
    ops = operations(doc)
    origin = "/".join(url.split("/")[:3])
    b = Browser()
    try:
        b.go(url)
        if kind == "swagger":
            b.wait("return document.querySelectorAll('.opblock').length "
                   ">= arguments[0];", "%d operations" % len(ops), len(ops))
            ids = b.js("return Array.from(document.querySelectorAll("
                       "'.opblock')).map(function (e) { return e.id; });")
            want = ["operations-%s-%s" % (t, o) for t, o in ops]
            errs = b.js("var e = document.querySelector("
                        "'.errors-wrapper'); return e ? e.innerText : '';")
            if errs:
                raise Fail("Swagger UI reports errors: " + errs[:500])
        else:
            b.wait("return document.querySelectorAll("
                   "'[id^=\"operation/\"]').length >= arguments[0];",
                   "%d operations" % len(ops), len(ops))
            ids = b.js(REDOC_IDS)
            want = [o for _, o in ops]
        missing = sorted(set(want) - set(ids))
        extra = sorted(set(ids) - set(want))
        if missing or extra:
            raise Fail("operations missing from the page: %s; on the page "
                       "but not in the document: %s" % (missing, extra))
        title = b.js("return document.title;")
        size = b.screenshot(shot)
        if size < 20000:
            raise Fail("screenshot of %d bytes: an empty page?" % size)
        bad = csp_violations(b.console(), origin)
        if bad:
            raise Fail("CSP blocked the page's own resources: %s" % bad)
        print("%s: %d operations rendered, title %r, screenshot %d bytes"
              % (kind, len(ids), title, size))
    finally:
        b.close()


def tryit(url, username, password, email, shot):
    """Authorize through the OAuth2 password flow of the document (a POST
    to /api/v1/auth/login of this authd), then "Try it out" on
    GET /api/v1/users/me: the answer shown must be the user's."""
    b = Browser()
    try:
        b.go(url)
        b.find("#operations-users-get_me")
        b.click(".auth-wrapper .btn.authorize")
        b.find(".modal-ux")
        # One form per scheme; the OAuth2 one has the username field.
        b.type("#oauth_username", username)
        b.type("#oauth_password", password)
        b.click(".modal-ux .auth-btn-wrapper .btn.authorize")
        state = b.wait("""
            var m = document.querySelector('.modal-ux');
            if (!m) return 'closed';
            var t = m.innerText;
            if (t.indexOf('Logout') >= 0) return 'authorized';
            var e = m.querySelector('.errors');
            return e && e.innerText ? 'error: ' + e.innerText : '';
            """, "the OAuth2 login")
        if state != "authorized":
            raise Fail("Authorize did not log in: %s" % state[:300])
        b.click(".modal-ux .btn-done, .modal-ux .close-modal")
        b.wait("return !document.querySelector('.modal-ux');",
               "the dialog to close")
        b.click("#operations-users-get_me .opblock-summary-control")
        b.click("#operations-users-get_me .try-out__btn")
        b.click("#operations-users-get_me .execute")
        status = b.wait("""
            var r = document.querySelector('#operations-users-get_me '
                + '.live-responses-table .response .response-col_status');
            return r ? r.innerText.trim() : '';
            """, "the response of GET /api/v1/users/me")
        body = b.js("""
            var c = document.querySelector('#operations-users-get_me '
                + '.live-responses-table .response-col_description pre');
            return c ? c.innerText : '';
            """)
        curl = b.js("""
            var c = document.querySelector('#operations-users-get_me '
                + '.curl-command');
            return c ? c.innerText : '';
            """)
        b.js("document.querySelector('#operations-users-get_me "
             ".live-responses-table').scrollIntoView();")
        b.screenshot(shot)
        if not status.startswith("200"):
            raise Fail("GET /api/v1/users/me answered %r: %s"
                       % (status, body[:300]))
        try:
            me = json.loads(body)
        except ValueError:
            raise Fail("not JSON in the response panel: %r" % body[:300])
        if me.get("email") != email or me.get("username") != username:
            raise Fail("users/me is not the user: %r" % body[:300])
        if "Authorization: Bearer " not in curl:
            raise Fail("the request had no bearer token: %r" % curl[:300])
        print("tryit: logged in as %s, users/me answered 200" % username)
    finally:
        b.close()


def main(argv):
    try:
        if len(argv) == 5 and argv[0] == "page" and argv[1] in (
                "swagger", "redoc"):
            page(argv[1], argv[2], argv[3], argv[4])
        elif len(argv) == 6 and argv[0] == "tryit":
            pw = argv[3]
            if pw.startswith("$"):
                pw = os.environ[pw[1:]]
            tryit(argv[1], argv[2], pw, argv[4], argv[5])
        else:
            sys.exit(__doc__)
    except Fail as e:
        sys.stderr.write("%s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
