#!/usr/bin/env python3
"""JWT tool of the integration tests: reads, edits, forges and verifies
tokens without any JWT library, so that the tests do not trust the code
they test.  ES256 signing and verification go through the openssl
command line; the rest is the standard library.

  jwtool.py header TOKEN            the decoded header (JSON)
  jwtool.py claims TOKEN            the decoded payload (JSON)
  jwtool.py edit TOKEN CODE         runs CODE on the decoded parts and
                                    prints the token; see below
  jwtool.py es256 KEYFILE TOKEN CODE
                                    the same, then signs with the EC
                                    private key of KEYFILE (low-S, as a
                                    valid authd token)
  jwtool.py hs256 SECRETFILE TOKEN CODE
                                    the same, then signs HS256 with the
                                    bytes of SECRETFILE as the HMAC key
  jwtool.py pem JWKS KID            the PEM public key of KID in JWKS
                                    (SubjectPublicKeyInfo built by hand)
  jwtool.py verify JWKS TOKEN       exit 0 when TOKEN's ES256 signature
                                    verifies with the key of the JWKS
                                    named by its kid, else 1

CODE is Python run with h (header dict), c (claims dict), s (signature
bytes), now (int time), n (the order of P-256) and the helpers b64e,
b64d, sig_rs, rs_sig.  It may replace h, c or s, or set hraw / craw
(the exact header / payload text) or out (the whole token).
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

# The order of the P-256 group.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# DER SubjectPublicKeyInfo of a P-256 key, up to the uncompressed point.
SPKI_P256 = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d030107034200")


def b64e(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text):
    if isinstance(text, bytes):
        text = text.decode()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sig_rs(sig):
    """Splits a 64-byte ES256 signature into the integers r and s."""
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


def rs_sig(r, s):
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def der_len(data, pos):
    n = data[pos]
    pos += 1
    if n < 0x80:
        return n, pos
    k = n & 0x7F
    return int.from_bytes(data[pos:pos + k], "big"), pos + k


def der_to_rs(der):
    """An ASN.1 ECDSA-Sig-Value to (r, s)."""
    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    _, pos = der_len(der, 1)
    out = []
    for _ in range(2):
        if der[pos] != 0x02:
            raise ValueError("not a DER integer")
        n, pos = der_len(der, pos + 1)
        out.append(int.from_bytes(der[pos:pos + n], "big"))
        pos += n
    return out[0], out[1]


def der_int(v):
    b = v.to_bytes((v.bit_length() + 7) // 8 or 1, "big")
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b


def rs_to_der(r, s):
    body = der_int(r) + der_int(s)
    return b"\x30" + bytes([len(body)]) + body


def split(token):
    parts = token.split(".")
    if len(parts) != 3:
        sys.exit("jwtool: not a three-part token")
    return parts


def decode(token):
    ph, pc, ps = split(token)
    return json.loads(b64d(ph)), json.loads(b64d(pc)), b64d(ps)


def openssl(args, data):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data")
        with open(path, "wb") as f:
            f.write(data)
        return subprocess.run(["openssl"] + args + [path],
                              capture_output=True)


def es256_sign(keyfile, data):
    p = openssl(["dgst", "-sha256", "-sign", keyfile], data)
    if p.returncode != 0:
        sys.exit("jwtool: openssl dgst -sign failed: " +
                 p.stderr.decode(errors="replace"))
    r, s = der_to_rs(p.stdout)
    # authd accepts the low-S form only, as it signs.
    if s > N // 2:
        s = N - s
    return rs_sig(r, s)


def jwk_pem(jwk):
    x = b64d(jwk["x"])
    y = b64d(jwk["y"])
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or \
            len(x) != 32 or len(y) != 32:
        sys.exit("jwtool: not a P-256 JWK")
    der = SPKI_P256 + b"\x04" + x + y
    b = base64.b64encode(der).decode()
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + \
        "\n-----END PUBLIC KEY-----\n"


def find_jwk(jwksfile, kid):
    with open(jwksfile) as f:
        jwks = json.load(f)
    for k in jwks["keys"]:
        if k.get("kid") == kid:
            return k
    return None


def verify(jwksfile, token):
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        h = json.loads(b64d(parts[0]))
        sig = b64d(parts[2])
    except ValueError:
        return False
    if h.get("alg") != "ES256" or len(sig) != 64:
        return False
    jwk = find_jwk(jwksfile, h.get("kid"))
    if jwk is None:
        return False
    r, s = sig_rs(sig)
    with tempfile.TemporaryDirectory() as d:
        pub = os.path.join(d, "pub.pem")
        sigf = os.path.join(d, "sig.der")
        with open(pub, "w") as f:
            f.write(jwk_pem(jwk))
        with open(sigf, "wb") as f:
            f.write(rs_to_der(r, s))
        p = openssl(["dgst", "-sha256", "-verify", pub, "-signature", sigf],
                    (parts[0] + "." + parts[1]).encode())
    return p.returncode == 0 and b"Verified OK" in p.stdout


def edit(token, code, signer=None):
    h, c, s = decode(token)
    env = {"h": h, "c": c, "s": s, "now": int(time.time()), "n": N,
           "b64e": b64e, "b64d": b64d, "sig_rs": sig_rs, "rs_sig": rs_sig,
           "json": json}
    exec(code, env)
    if env.get("out") is not None:
        return env["out"]
    hraw = env.get("hraw")
    if hraw is None:
        hraw = json.dumps(env["h"], separators=(",", ":"))
    craw = env.get("craw")
    if craw is None:
        craw = json.dumps(env["c"], separators=(",", ":"))
    signing = b64e(hraw) + "." + b64e(craw)
    sig = env["s"] if signer is None else signer(signing.encode())
    return signing + "." + (sig if isinstance(sig, str) else b64e(sig))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "header" and len(argv) == 3:
        print(json.dumps(decode(argv[2])[0]))
    elif cmd == "claims" and len(argv) == 3:
        print(json.dumps(decode(argv[2])[1]))
    elif cmd == "edit" and len(argv) == 4:
        print(edit(argv[2], argv[3]))
    elif cmd == "es256" and len(argv) == 5:
        key = argv[2]
        print(edit(argv[3], argv[4], lambda d: es256_sign(key, d)))
    elif cmd == "hs256" and len(argv) == 5:
        with open(argv[2], "rb") as f:
            secret = f.read()
        print(edit(argv[3], argv[4],
                   lambda d: hmac.new(secret, d, hashlib.sha256).digest()))
    elif cmd == "pem" and len(argv) == 4:
        jwk = find_jwk(argv[2], argv[3])
        if jwk is None:
            sys.exit("jwtool: no key %s in %s" % (argv[3], argv[2]))
        sys.stdout.write(jwk_pem(jwk))
    elif cmd == "verify" and len(argv) == 4:
        sys.exit(0 if verify(argv[2], argv[3]) else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
