"""Reads the maildir that smtpsink.py fills, for mail_test.sh.

    maildir.py count DIR [RCPT]     messages (delivered to RCPT)
    maildir.py show DIR RCPT [N]    the Nth message to RCPT (1 = oldest,
                                    default the newest): its headers, a
                                    blank line and its decoded body
    maildir.py link DIR RCPT PATH   the token of the newest link to
                                    .../PATH?token=... in a message to RCPT

RCPT is compared exactly with the Delivered-To header (the envelope
recipient), so a case variant of an address is another recipient.
"""

import email
import email.policy
import os
import re
import sys


def messages(path, rcpt=None):
    out = []
    newdir = os.path.join(path, "new")
    if not os.path.isdir(newdir):
        return out
    for name in os.listdir(newdir):
        full = os.path.join(newdir, name)
        with open(full, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        if rcpt is not None and rcpt not in msg.get_all("Delivered-To", []):
            continue
        out.append((os.stat(full).st_mtime_ns, name, msg))
    out.sort(key=lambda t: (t[0], t[1]))
    return [m for _, _, m in out]


def show(msg):
    head = "".join("%s: %s\n" % (k, v) for k, v in msg.items())
    return head + "\n" + msg.get_content()


def main(argv):
    cmd, path = argv[1], argv[2]
    if cmd == "count":
        print(len(messages(path, argv[3] if len(argv) > 3 else None)))
        return 0
    msgs = messages(path, argv[3])
    if not msgs:
        print("no message to %s" % argv[3], file=sys.stderr)
        return 1
    if cmd == "show":
        n = int(argv[4]) if len(argv) > 4 else len(msgs)
        sys.stdout.write(show(msgs[n - 1]))
        return 0
    if cmd == "link":
        body = msgs[-1].get_content()
        m = re.findall(r"\S*/" + re.escape(argv[4]) +
                       r"\?token=([A-Za-z0-9_-]+)", body)
        if not m:
            print("no %s link in: %s" % (argv[4], body), file=sys.stderr)
            return 1
        print(m[-1])
        return 0
    print("unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
