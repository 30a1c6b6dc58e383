#!/usr/bin/env python3
"""Checks of authd/openapi.json for openapi_test.sh.

    openapi_check.py routes HTTP_C DOC   the route table of http.c and
                                         the document, both ways
    openapi_check.py lint DOC            the document's own rules
    openapi_check.py live DOC URL        every operation of the document
                                         is routed by the running authd

Each prints what is wrong and exits 1, or exits 0.
"""

import json
import re
import sys
import urllib.error
import urllib.request

METHODS = ("get", "put", "post", "delete", "patch")
# Routes API.md lets the document leave out: the pages that render it,
# their files, and the Prometheus endpoint.
UNDOCUMENTED = re.compile(r"^/(docs|redoc)(/.*)?$|^/metrics$")


def norm(path):
    """One spelling per route: no trailing slash, parameters as {}."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return re.sub(r"\{[^}/]*\}", "{}", path)


def load(docfile):
    with open(docfile, encoding="utf-8") as f:
        return json.load(f)


def table(http_c):
    """{(METHOD, path): who} of http.c's http_routes[], read as text."""
    with open(http_c, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"http_routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if m is None:
        raise SystemExit("%s: no http_routes[] table" % http_c)
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    routes = {}
    for e in re.finditer(r"\{\s*(GET|POST|PUT|DELETE|PATCH)\s*,\s*"
                         r"\"([^\"]+)\"\s*,\s*(\w+)\s*,\s*(WHO_\w+)", body):
        routes[(e.group(1), e.group(2))] = e.group(4)
    if len(routes) < 10:
        raise SystemExit("%s: only %d routes parsed" % (http_c,
                                                        len(routes)))
    return routes


def operations(doc):
    """{(METHOD, path): operation} of the document."""
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                ops[(method.upper(), path)] = op
    return ops


def cmd_routes(http_c, docfile):
    routes = table(http_c)
    doc = load(docfile)
    ops = operations(doc)
    routed = {(m, norm(p)): who for (m, p), who in routes.items()}
    documented = {(m, norm(p)): (p, op) for (m, p), op in ops.items()}
    bad = []
    for (m, p), who in sorted(routed.items()):
        if UNDOCUMENTED.match(p):
            continue
        if (m, p) not in documented:
            bad.append("routed but not in the document: %s %s" % (m, p))
            continue
        sec = documented[(m, p)][1].get("security")
        schemes = {k for s in sec or [] for k in s}
        if who == "WHO_ANYONE" and schemes - {"APIKeyHeader"}:
            bad.append("%s %s: anyone may call it, the document asks for "
                       "%s" % (m, p, sorted(schemes)))
        if who != "WHO_ANYONE" and "HTTPBearer" not in schemes:
            bad.append("%s %s: needs a token (%s), the document says "
                       "security %s" % (m, p, who, sec))
    missing = [(m, p) for (m, p) in sorted(documented)
               if (m, p) not in routed]
    for m, p in missing:
        bad.append("in the document but not routed: %s %s"
                   % (m, documented[(m, p)][0]))
    print("%d routes in http.c, %d operations in the document, %d "
          "documented operations not routed yet"
          % (len(routed), len(documented), len(missing)))
    return bad


def resolve(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node, where, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append((where, v))
            else:
                refs(v, where + "/" + k, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            refs(v, "%s/%d" % (where, i), out)


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def has_example(doc, media):
    if "example" in media or "examples" in media:
        return True
    schema = deref(doc, media.get("schema", {}))
    if "examples" in schema:
        return True
    if schema.get("type") == "array":
        return "examples" in deref(doc, schema.get("items", {}))
    return False


def cmd_lint(docfile):
    doc = load(docfile)
    bad = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        bad.append("openapi is %r, not 3.1.x" % doc.get("openapi"))
    for k in ("title", "version"):
        if not doc.get("info", {}).get(k):
            bad.append("info.%s missing" % k)
    comp = doc.get("components", {})
    sch = comp.get("securitySchemes", {})
    if sch.get("HTTPBearer") != {**sch.get("HTTPBearer", {}), "type": "http",
                                 "scheme": "bearer", "bearerFormat": "JWT"}:
        bad.append("securitySchemes.HTTPBearer is not a JWT bearer scheme")
    key = sch.get("APIKeyHeader", {})
    if (key.get("type"), key.get("in"), key.get("name")) != (
            "apiKey", "header", "X-API-Key"):
        bad.append("securitySchemes.APIKeyHeader is not X-API-Key")
    pw = sch.get("OAuth2PasswordBearer", {}).get("flows", {}).get(
        "password", {})
    if pw.get("tokenUrl") != "/api/v1/auth/login":
        bad.append("the OAuth2 password flow does not log in at "
                   "/api/v1/auth/login of the same server")
    s = comp.get("schemas", {})
    err = s.get("HTTPError", {})
    if err.get("required") != ["detail"] or err.get("properties", {}).get(
            "detail", {}).get("type") != "string":
        bad.append("schemas.HTTPError is not {detail: string}")
    item = s.get("ValidationErrorItem", {})
    if sorted(item.get("required", [])) != ["loc", "msg", "type"]:
        bad.append("schemas.ValidationErrorItem is not {type, loc, msg}")
    val = s.get("HTTPValidationError", {}).get("properties", {}).get(
        "detail", {})
    if val.get("type") != "array" or val.get("items", {}).get("$ref") != \
            "#/components/schemas/ValidationErrorItem":
        bad.append("schemas.HTTPValidationError.detail is not an array of "
                   "ValidationErrorItem")
    out = []
    refs(doc, "#", out)
    for where, r in out:
        try:
            resolve(doc, r)
        except (KeyError, IndexError, TypeError):
            bad.append("%s: $ref %s does not resolve" % (where, r))
    seen = {}
    for (m, p), op in sorted(operations(doc).items()):
        name = "%s %s" % (m, p)
        oid = op.get("operationId")
        if not oid:
            bad.append(name + ": no operationId")
        elif oid in seen:
            bad.append("%s: operationId %s also on %s" % (name, oid,
                                                          seen[oid]))
        else:
            seen[oid] = name
        if not op.get("tags") or not op.get("summary"):
            bad.append(name + ": no tag or summary")
        if "security" not in op:
            bad.append(name + ": security not stated")
        params = [deref(doc, x) for x in op.get("parameters", [])]
        declared = {x["name"] for x in params if x.get("in") == "path"}
        used = set(re.findall(r"\{([^}]+)\}", p))
        if declared != used:
            bad.append("%s: path parameters %s, declared %s"
                       % (name, sorted(used), sorted(declared)))
        body = op.get("requestBody")
        if body is not None:
            for mt, media in body.get("content", {}).items():
                if not has_example(doc, media):
                    bad.append("%s: request %s has no example" % (name, mt))
        resp = op.get("responses", {})
        ok = [c for c in resp if c.startswith("2")]
        if len(ok) != 1:
            bad.append("%s: %d success answers" % (name, len(ok)))
        for code, r in resp.items():
            r = deref(doc, r)
            media = r.get("content", {}).get("application/json")
            if media is None:
                bad.append("%s: answer %s is not JSON" % (name, code))
                continue
            if code.startswith("2"):
                if oid != "openapi" and not has_example(doc, media):
                    bad.append("%s: answer %s has no example"
                               % (name, code))
                continue
            want = "HTTPValidationError" if code == "422" else "HTTPError"
            got = media.get("schema", {}).get("$ref", "").split("/")[-1]
            if got != want and not p.startswith("/health/"):
                bad.append("%s: answer %s is %s, not %s"
                           % (name, code, got or "inline", want))
            if not has_example(doc, media):
                bad.append("%s: answer %s has no example" % (name, code))
        if op.get("security") and "401" not in resp:
            bad.append(name + ": needs a token but documents no 401")
        if (params or body is not None) and "422" not in resp and \
                not p.startswith("/health/"):
            bad.append(name + ": takes input but documents no 422")
    try:
        from openapi_spec_validator import validate
    except ImportError:
        print("openapi-spec-validator not installed: own rules only")
    else:
        try:
            validate(doc)
        except Exception as e:     # its errors have no common base class
            bad.append("openapi-spec-validator: %s" % str(e)[:500])
    print("%d operations, %d $refs checked" % (len(seen), len(out)))
    return bad


def cmd_live(docfile, url):
    """A request to every operation, without credentials and with an
    empty JSON object as body: the router answers 404 "Not Found" for a
    path it does not know and 405 for a method it does not route there;
    anything else (401, 422, 200...) means a handler or the auth check
    got it.  Ids are 1, words are "custom"."""
    doc = load(docfile)
    bad = []
    for (m, p), op in sorted(operations(doc).items()):
        path = re.sub(r"\{integration_type\}", "custom", p)
        path = re.sub(r"\{[^}]+\}", "1", path)
        req = urllib.request.Request(url + path, method=m,
                                     data=b"{}" if m in ("POST", "PUT")
                                     else None)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as f:
                status, body = f.status, f.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        if status == 405 or (status == 404 and body.strip() ==
                             b'{"detail":"Not Found"}'):
            bad.append("%s %s: not routed (%d)" % (m, p, status))
    return bad


def main(argv):
    if len(argv) == 3 and argv[0] == "routes":
        bad = cmd_routes(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "lint":
        bad = cmd_lint(argv[1])
    elif len(argv) == 3 and argv[0] == "live":
        bad = cmd_live(argv[1], argv[2])
    else:
        sys.exit(__doc__)
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
