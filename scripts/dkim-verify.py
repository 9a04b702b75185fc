#!/usr/bin/env python3
"""Verifies the DKIM signature of one message with dkimpy, an implementation independent of the
one that signs (lettre), against a TXT record given here instead of DNS.

    dkim-verify.py MESSAGE_FILE RECORD_NAME RECORD_VALUE

Exit 0 when the signature verifies, 1 when it does not, 2 on misuse or a missing dkimpy.
Used by server/tests/it/dkim.rs; scripts/install-tools.sh --test installs dkimpy.
"""
import sys

try:
    import dkim
except ImportError:
    print("falta dkimpy: ejecute scripts/install-tools.sh --test", file=sys.stderr)
    sys.exit(2)

if len(sys.argv) != 4:
    print(__doc__, file=sys.stderr)
    sys.exit(2)

path, name, value = sys.argv[1:]
with open(path, "rb") as f:
    message = f.read()


def dnsfunc(query, timeout=5):
    # Only the record the signature names (s= and d=) exists: a wrong selector or domain fails.
    query = query.decode() if isinstance(query, bytes) else query
    if query.rstrip(".") == name.rstrip("."):
        return value.encode()
    return None


sys.exit(0 if dkim.verify(message, dnsfunc=dnsfunc, minkey=2048) else 1)
