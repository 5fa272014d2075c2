#!/usr/bin/env python3
"""The control socket (issue 18; docs/control.md) against a running gateway started as root so
that the roles drop privileges: who may connect (directory and socket modes, SO_PEERCRED: a
process in the socket's group whose uid is not allowed is refused and logged), that a malformed
frame closes that connection only and mail still flows, that an oversized length is refused
from the header alone, and the operations that need private keys run in cryptd for a caller
that cannot read the KEK. The frames are built here by a Python encoder of its own, not by the
C code under test. Owner: src/cryptd."""
import base64
import grp
import json
import os
import pwd
import re
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, is_root, put_message, wait_for  # noqa: E402

t = Tap()
WEB_USER = "sealgate-web"
MSG = b"From: a@example.org\r\nTo: user@demo.test\r\nSubject: control\r\n\r\nbody\r\n"


def field(ftype, value):
    v = value.encode() if isinstance(value, str) else value
    return struct.pack(">HI", ftype, len(v)) + v


def frame(mtype, rid, payload, version=1, magic=0x5347, length=None):
    return struct.pack(">HBBHHII", magic, version, mtype, 0, 0, rid,
                       len(payload) if length is None else length) + payload


def request(op, args=None, actor="root", roles=(), rid=1, client=""):
    p = field(1, op) + field(2, actor) + b"".join(field(3, r) for r in roles)
    if client:
        p += field(4, client)
    return frame(1, rid, p + field(5, json.dumps(args or {})))


def read_frame(s):
    """(type, id, {field: [values]}) of one answer, or None when the stream ends."""
    def exact(n):
        b = b""
        while len(b) < n:
            try:
                c = s.recv(n - len(b))
            except ConnectionResetError:  # closed with our bytes unread: a close all the same
                return None
            if not c:
                return None
            b += c
        return b
    h = exact(16)
    if h is None:
        return None
    magic, ver, mtype, flags, res, rid, ln = struct.unpack(">HBBHHII", h)
    p = exact(ln) if ln else b""
    fields, off = {}, 0
    while off < len(p):
        ft, fl = struct.unpack(">HI", p[off:off + 6])
        fields.setdefault(ft, []).append(p[off + 6:off + 6 + fl].decode())
        off += 6 + fl
    return mtype, rid, fields


def in_child(fn, uid=None, gid=None, groups=None):
    """Runs fn() in a forked child with those credentials; returns what it returned (JSON)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            if groups is not None:
                os.setgroups(groups)
            if gid is not None:
                os.setresgid(gid, gid, gid)
            if uid is not None:
                os.setresuid(uid, uid, uid)
            out = fn()
        except Exception as e:  # noqa: BLE001 - reported to the parent
            out = {"exception": f"{type(e).__name__}: {e}"}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        c = os.read(r, 65536)
        if not c:
            break
        data += c
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data or b"null")


def connect(path, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def ask(path, data, timeout=30):
    """Sends data and reads one answer: [type, id, fields], or "closed"."""
    with connect(path, timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it read the request: its answer may still be there to read
        a = read_frame(s)
        return "closed" if a is None else list(a)


def ownership(gw, sock):
    st = os.stat(os.path.dirname(sock))
    ss = os.stat(sock)
    web_gid = grp.getgrnam(WEB_USER).gr_gid
    t.ok(st.st_uid == 0 and st.st_gid == web_gid and st.st_mode & 0o777 == 0o750,
         "run/ is root:sealgate-web 0750", oct(st.st_mode) + f" {st.st_uid}:{st.st_gid}")
    t.ok(ss.st_gid == web_gid and ss.st_mode & 0o777 == 0o660, "control.sock is group sealgate-web, 0660",
         oct(ss.st_mode) + f" {ss.st_uid}:{ss.st_gid}")
    nobody = pwd.getpwnam("nobody")
    got = in_child(lambda: connect(sock) and "connected", nobody.pw_uid, nobody.pw_gid, [])
    t.ok(isinstance(got, dict) and "PermissionError" in got.get("exception", ""),
         "a user outside the group cannot even reach the socket", str(got))


def refused_uid(gw, sock):
    """nobody with the web group as a supplementary group passes the file modes, so only
    SO_PEERCRED stands between it and cryptd."""
    nobody = pwd.getpwnam("nobody")
    web_gid = grp.getgrnam(WEB_USER).gr_gid
    def knock():
        # connect and read: cryptd answers at accept time, before any request (a request sent
        # first could meet the close as a reset)
        with connect(sock) as c:
            a = read_frame(c)
            return "closed" if a is None else list(a)
    got = in_child(knock, nobody.pw_uid, nobody.pw_gid, [web_gid])
    t.ok(isinstance(got, list) and got[0] == 3 and got[2].get("7") == ["forbidden"],
         "a peer uid that is not allowed is answered forbidden", str(got))
    t.ok(wait_for(lambda: f"event=control-refused uid={nobody.pw_uid} " in gw.log_text(), 5),
         "and the refusal is logged with its uid", gw.log_text()[-400:])


def malformed(gw, sock):
    bad = {
        "bad magic": frame(1, 1, b"", magic=0x4142),
        "version 2": request("status")[:2] + b"\x02" + request("status")[3:],
        "unknown field": frame(1, 1, field(9, "x")),
        "an answer type sent as a request": frame(2, 1, field(6, "{}")),
        "truncated field": frame(1, 1, field(1, "status")[:-2]),
    }
    for name, data in bad.items():
        got = ask(sock, data)
        t.ok(got == "closed", f"malformed frame ({name}) closes the connection", str(got))
    t.ok(wait_for(lambda: gw.log_text().count("event=control-bad-frame") >= len(bad), 5),
         "each malformed frame is logged", gw.log_text()[-400:])
    # half a header, then the peer goes away: nothing hangs
    with connect(sock) as s:
        s.sendall(request("status")[:7])
    out = gw.send_one("a@example.org", "user@demo.test", MSG)
    t.ok(out is not None and b"Subject: control" in out,
         "after the malformed frames cryptd still processes mail (sent through SMTP, delivered)")


def oversized(gw, sock):
    for ln in (1 << 20 | 1, 0x7FFFFFFF, 0xFFFFFFFF):
        start = time.monotonic()
        with connect(sock, 30) as s:
            s.sendall(frame(1, 1, b"", length=ln))  # the header only: no payload follows
            a = read_frame(s)
        took = time.monotonic() - start
        # cryptd waits up to 60 s for a payload it accepted; an answer before that means it refused
        # the header without waiting for (or allocating) the payload
        t.ok(a is None and took < 30, f"a payload length of {ln} is refused from the header alone", f"{a} {took}")
    t.ok("over the maximum" in gw.log_text(), "the refusal says why", gw.log_text()[-300:])


def web_child(fn):
    """fn() as the web role's user: uid sealgate-web, its primary group and the socket's group."""
    pw = pwd.getpwnam(WEB_USER)
    return in_child(fn, pw.pw_uid, pw.pw_gid, [grp.getgrnam(WEB_USER).gr_gid])


def audit_rows(gw):
    db = sqlite3.connect(f"file:{os.path.join(gw.base, 'store', 'sealgate.db')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT actor, op, target, result, client FROM audit_events ORDER BY id").fetchall()
    finally:
        db.close()


def answer(got):
    """(ok, value): the result JSON, or the error code."""
    if not isinstance(got, list):
        return False, got
    if got[0] == 2:
        return True, json.loads(got[2]["6"][0])
    return False, got[2].get("7", ["?"])[0]


def secret_ops(gw, sock):
    kek = os.path.join(gw.base, "keys", "kek")
    got = web_child(lambda: open(kek, "rb").read(1) and "read")
    t.ok(isinstance(got, dict) and "PermissionError" in got.get("exception", ""),
         "the web role's user cannot read keys/kek", str(got))
    before = len(audit_rows(gw))
    sent = 0

    def web(op, args, roles=("user-operator",), actor="web-alice"):
        nonlocal sent
        sent += 1
        return answer(web_child(lambda: ask(sock, request(op, args, actor=actor, roles=roles,
                                                            client="198.51.100.7"), 120)))

    ok, v = web("key.generate", {"address": "carol@example.net"})
    fpr = v.get("fpr", "") if ok else ""
    t.ok(ok and re.fullmatch(r"[0-9A-F]{40}", fpr.upper() or "-"),
         "key.generate over the socket, from a user that cannot read the KEK, answers a fingerprint", str(v))
    out = gw.send_one("alice@demo.test", "carol@example.net",
                      b"From: alice@demo.test\r\nTo: carol@example.net\r\nSubject: for carol\r\n\r\n"
                      b"the plaintext only carol may read\r\n")
    t.ok(out is not None and b"multipart/encrypted" in out and b"the plaintext only carol" not in out,
         "mail to that address then leaves encrypted (sent through SMTP)", (out or b"none")[:300])
    r = gw.cli("key", "list", "--address", "carol@example.net")
    t.ok(fpr and fpr.upper() in r.stdout.upper() and "[S]" in r.stdout, "the key is in the store with its secret",
         r.stdout + r.stderr)

    ok, v = web("key.generate", {"address": "dan@example.net"}, roles=("auditor",))
    t.ok(not ok and v == "forbidden", "an auditor's key.generate over the socket is forbidden", str(v))
    ok, v = web("key.export-secret", {"fpr": fpr}, roles=("administrator",))
    t.ok(not ok and v == "forbidden", "secret-key export is refused over the socket, even for an administrator",
         str(v))
    ok, v = web("key.list", {}, roles=("administrator",))
    t.ok(not ok and v == "unavailable", "an operation any front end runs itself (key.list) is not taken by cryptd",
         str(v))

    # The spool's states, which the web role cannot enter, are read and moved by cryptd: a
    # deferred message (the relay's state) is listed, counted and retried for a system operator.
    # next attempt in an hour: the relay's own scan of deferred/ must not take it before the
    # operations below look at it (under load it did, and queue.retry found nothing to move)
    dq = put_message(gw.spool, "hold", MSG, attempts=1, next_attempt=int(time.time()) + 3600) + ".0"
    os.rename(os.path.join(gw.spool, "hold", dq[:-2]), os.path.join(gw.spool, "deferred", dq))
    relay = pwd.getpwnam("sealgate-relay")
    os.chown(os.path.join(gw.spool, "deferred", dq), relay.pw_uid, grp.getgrnam("sealgate").gr_gid)
    ok, v = web("queue.list", {"state": "deferred"}, roles=("system-operator",))
    t.ok(ok and [i["id"] for i in v.get("items", [])] == [dq] and not v.get("unreadable"),
         "queue.list of deferred/ over the socket: cryptd lists the relay's state", str(v)[:300])
    ok, v = web("status", {}, roles=("auditor",))
    q = v.get("queue", {}) if ok else {}
    t.ok(ok and q.get("deferred", {}).get("count") == 1 and q.get("outgoing", {}).get("count") is not None
         and q.get("corrupt", 0) is None and v.get("roles", {}).get("relay"),
         "status over the socket counts every state cryptd may read (corrupt/ is root's alone)", str(v)[:400])
    ok, v = web("queue.retry", {"id": dq}, roles=("auditor",))
    t.ok(not ok and v == "forbidden" and dq in os.listdir(os.path.join(gw.spool, "deferred")),
         "an auditor's queue.retry is forbidden and moves nothing", str(v))
    ok, v = web("queue.retry", {"id": dq}, roles=("system-operator",))
    t.ok(ok and v.get("moved") == [{"id": dq, "from": "deferred", "to": "outgoing"}],
         "queue.retry over the socket moves the deferred message to outgoing/ (the relay sends it)", str(v))
    ok, v = web("no.such-op", {})
    t.ok(not ok and v == "not_found", "an unknown operation is not_found", str(v))
    sent += 1
    got = web_child(lambda: ask(sock, frame(1, 5, field(1, "key.generate") + field(2, "web-alice")
                                            + field(5, "[1,2"))))
    t.ok(answer(got) == (False, "invalid_argument"), "arguments that are not a JSON object: invalid_argument",
         str(got))
    ok, v = web("key.generate", {"address": "dan@example.net"}, roles=("no-such-role",))
    t.ok(not ok and v == "invalid_argument", "an unknown role is refused", str(v))

    # the local CA and a PKCS#12 import, for a CA operator and a user operator of the web role
    r = gw.cli("ca", "init", "--subject", "CN=Control Test CA")
    t.ok(r.returncode == 0, "ca init (CLI)", r.stderr)
    ok, v = web("ca.issue", {"address": "erin@demo.test", "days": 30}, roles=("ca-operator",))
    t.ok(ok and len(v.get("fpr", "")) == 64, "ca.issue over the socket issues a certificate and key", str(v))
    r = gw.cli("cert", "list", "--address", "erin@demo.test")
    t.ok("[K]" in r.stdout, "the issued certificate has its (wrapped) private key in the store", r.stdout + r.stderr)
    ok, v = web("ca.crl", {"days": 7}, roles=("ca-operator",))
    t.ok(ok and "-----BEGIN X509 CRL-----" in v.get("crl", ""), "ca.crl over the socket answers a signed CRL",
         str(v)[:200])
    tmp = tempfile.mkdtemp(prefix="sg-ctl-")
    try:
        key, crt, p12 = (os.path.join(tmp, n) for n in ("k.pem", "c.pem", "f.p12"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=frank",
                        "-addext", "subjectAltName=email:frank@example.net",
                        "-addext", "keyUsage=digitalSignature,keyEncipherment,keyAgreement",
                        "-addext", "extendedKeyUsage=emailProtection"], check=True, capture_output=True)
        subprocess.run(["openssl", "pkcs12", "-export", "-inkey", key, "-in", crt, "-out", p12,
                        "-passout", "pass:s3cret"], check=True, capture_output=True)
        data = base64.b64encode(open(p12, "rb").read()).decode()
    finally:
        subprocess.run(["rm", "-rf", tmp])
    ok, v = web("cert.import", {"data": data, "password": "s3cret", "name": "frank.p12"})
    items = v.get("items", []) if ok else []
    t.ok(ok and len(items) == 1 and items[0]["status"] == "imported" and items[0]["key"],
         "cert.import of a PKCS#12 over the socket stores the certificate and its key", str(v))
    ok, v = web("cert.import", {"data": data, "password": "wrong", "name": "frank.p12"})
    t.ok(ok and v.get("rejected", 0) >= 1 and not any(i.get("status") == "imported" for i in v.get("items", [])),
         "a wrong PKCS#12 password imports nothing", str(v))

    # the CLI as root while the gateway runs: the secret commands go to cryptd
    r = gw.cli("key", "generate", "gina@example.net")
    t.ok(r.returncode == 0 and re.fullmatch(r"[0-9A-F]{40}\n", r.stdout.upper()), "CLI key generate", r.stderr)
    r2 = gw.cli("ca", "crl", "--days", "3")
    t.ok(r2.returncode == 0 and os.path.exists(r2.stdout.strip()), "CLI ca crl writes the CRL cryptd signed",
         r2.stderr)
    cli_sent = 2
    t.ok(wait_for(lambda: "event=control-request uid=0 op=key.generate" in gw.log_text()
                  and "event=control-request uid=0 op=ca.crl" in gw.log_text(), 5),
         "both ran in cryptd (its log names the root peer)", gw.log_text()[-500:])

    # the CLI's own commands used above to look (key list, ca init, cert list) are audited too
    asked = {"key.generate", "key.export-secret", "key.list", "status", "queue.list", "queue.retry", "no.such-op",
             "ca.issue", "ca.crl", "cert.import"}
    rows = [r for r in audit_rows(gw)[before:] if r[1] in asked and r[4] != "local" or r[1] in asked - {"key.list"}]
    t.ok(len(rows) == sent + cli_sent, f"every request wrote one audit event ({sent + cli_sent} requests)",
         str(rows))
    first = rows[0] if rows else None
    t.ok(first == ("web-alice", "key.generate", "carol@example.net", "ok", "198.51.100.7"),
         "the event names the account, operation, target, result and client the web role stated", str(first))
    t.ok(any(r[0] == "root" and r[1] == "key.generate" and r[3] == "ok" and r[4] == "local" for r in rows),
         "the CLI's call is audited as root, local", str(rows[-2:]))
    t.ok(any(r[1] == "key.export-secret" and r[3] == "forbidden" for r in rows),
         "the refused secret export is audited too", str(rows))


gw = Gateway(extra='internal_domains = ["demo.test"];\n', binary=asan_binary())
try:
    if not is_root():
        for name in ("ownership", "refused uid", "malformed frames", "oversized", "secret operations"):
            t.skip(f"control socket: {name}", "needs root (roles drop to their users)")
    else:
        gw.start()
        sock = os.path.join(gw.base, "run", "control.sock")
        t.ok(wait_for(lambda: os.path.exists(sock), 10), "cryptd serves base_dir/run/control.sock")
        wait_for(lambda: "event=started workers" in gw.log_text(), 10)
        ownership(gw, sock)
        refused_uid(gw, sock)
        malformed(gw, sock)
        oversized(gw, sock)
        secret_ops(gw, sock)
        gw.stop()
        t.ok(not gw.sanitizer_reports(), "no sanitizer report in the gateway's log", str(gw.sanitizer_reports()[:3]))
finally:
    gw.cleanup()
t.done()
