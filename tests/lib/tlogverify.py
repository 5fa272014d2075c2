"""An independent verifier of sealgate's tamper-evident log (docs/audit.md), written for the
tests from RFC 9162 and the C2SP signed-note spec with hashlib and python3-cryptography, sharing
no code with sealgate: leaf and node hashes, tree heads, inclusion and consistency proofs and
their verification, the entry encoding, checkpoint notes. Used by test_audit_log,
test_audit_mail, test_audit_crash and test_audit_peers. Owner: src/audit (issue 14)."""
import base64
import hashlib
import re
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature


# --- an independent RFC 9162 implementation (section 2.1), straight from the definitions ---
def leaf(d):
    return hashlib.sha256(b"\x00" + d).digest()


def node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def k_of(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(ls):
    if not ls:
        return hashlib.sha256(b"").digest()
    if len(ls) == 1:
        return ls[0]
    k = k_of(len(ls))
    return node(mth(ls[:k]), mth(ls[k:]))


def path(m, ls):
    if len(ls) == 1:
        return []
    k = k_of(len(ls))
    if m < k:
        return path(m, ls[:k]) + [mth(ls[k:])]
    return path(m - k, ls[k:]) + [mth(ls[:k])]


def subproof(m, ls, b):
    n = len(ls)
    if m == n:
        return [] if b else [mth(ls)]
    k = k_of(n)
    if m <= k:
        return subproof(m, ls[:k], b) + [mth(ls[k:])]
    return subproof(m - k, ls[k:], False) + [mth(ls[:k])]


def verify_inclusion(index, size, leaf_hash, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def parse_entries(data):
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def fields(entry):
    """The entry's (name, value) pairs (docs/audit.md)."""
    assert entry[0] == 1
    i, out = 2, []
    while i < len(entry):
        nl = entry[i]
        name = entry[i + 1:i + 1 + nl].decode()
        (vl,) = struct.unpack(">I", entry[i + 1 + nl:i + 5 + nl])
        out.append((name, entry[i + 5 + nl:i + 5 + nl + vl].decode()))
        i += 5 + nl + vl
    return entry[1], out


def check_note(note, pub):
    """(origin, size, root) when the C2SP checkpoint note's signature holds, else None."""
    body, _, sigs = note.partition("\n\n")
    lines = body.split("\n")
    if len(lines) != 3:
        return None
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    m = re.match(r"^\u2014 (\S+) (\S+)$", sigs.split("\n")[0])
    if not m or m.group(1) != origin:
        return None
    raw = base64.b64decode(m.group(2))
    keyid = hashlib.sha256(origin.encode() + b"\n\x01" + pub).digest()[:4]
    if raw[:4] != keyid:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(raw[4:], (body + "\n").encode())
    except InvalidSignature:
        return None
    return origin, size, root
