#!/usr/bin/env python3
"""Fail closed, over SMTP with the shipped default policy (issue 9).

1. A store error is not "no key": with the store locked by another process while cryptd runs,
   mail to a recipient whose key is known never leaves unprotected (the default's opportunistic
   rule has fallback "plain"): the message waits in active/, the error is logged and the
   administrator alerted, and once the store is healthy again it goes out encrypted.
Owner: src/policy."""
import fcntl
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, gpg_runner, listdir, wait_for  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-failclosed-")
GH = os.path.join(tmp, "gnupg")
gpg = gpg_runner(GH)
NEW = os.path.join(gw.sink_dir, "new")


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def sink():
    """{file name: bytes} of everything delivered so far."""
    out = {}
    for f in (os.listdir(NEW) if os.path.isdir(NEW) else []):
        with open(os.path.join(NEW, f), "rb") as fh:
            out[f] = fh.read()
    return out


def to(data, rcpt):
    return re.search(rb"^Delivered-To: " + re.escape(rcpt.encode()) + rb"\r?$", data, re.M) is not None


def head(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return data[:m.start()] if m else data


def encrypted_out(data):
    h = head(data)
    return (b"multipart/encrypted" in h and b"application/pgp-encrypted" in h) or b"enveloped-data" in h


def send(msg, rcpts, sender="alice@demo.test"):
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, rcpts, msg)


def msg(subject, to_addr, body=b"The secret plan.\r\n", ctype=None):
    h = (b"From: Alice <alice@demo.test>\r\nTo: " + to_addr.encode() + b"\r\nSubject: " + subject.encode() +
         b"\r\nMessage-ID: <" + str(time.time()).encode() + b"@demo.test>\r\n")
    if ctype:
        h += b"MIME-Version: 1.0\r\nContent-Type: " + ctype + b"\r\n"
    return h + b"\r\n" + body


class StoreLock:
    """Another process holding the store's WAL locks (write, checkpoint, recover and every read
    slot of the -shm index) exclusively: cryptd's lookups then fail with a locking error."""

    def __init__(self, store):
        self.fd = os.open(store + "-shm", os.O_RDWR)

    def __enter__(self):
        fcntl.lockf(self.fd, fcntl.LOCK_EX, 8, 120, os.SEEK_SET)
        return self

    def __exit__(self, *exc):
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 8, 120, os.SEEK_SET)
        os.close(self.fd)


def store_error_case():
    """Item 1: bob's key is known; the store is locked while his mail is processed."""
    plain = b"Only for bob: the store was locked.\r\n"
    m = msg("while the store is locked", "bob@x.example", body=plain)
    before = set(sink())
    errors_before = gw.log_text().count("event=key-lookup-failed")
    with StoreLock(os.path.join(gw.base, "store", "sealgate.db")):
        send(m, ["bob@x.example"])
        failed = wait_for(lambda: gw.log_text().count("event=key-lookup-failed") > errors_before, 60, 0.2)
        t.ok(failed, "store locked: the failed key lookup is logged as an error (event=key-lookup-failed)")
        line = next((l for l in gw.log_text().splitlines() if "event=key-lookup-failed" in l), "")
        t.ok(" error: " in line and "action=defer" in line, "the log line is an error and says defer", line)
        alert = wait_for(lambda: [d for f, d in sink().items() if f not in before and to(d, "postmaster@demo.test")], 20)
        t.ok(alert and b"Policy alert" in alert[0] and b"key lookup failed" in alert[0],
             "the administrator is alerted", repr(alert[0][:600] if alert else b""))
        time.sleep(2)
        leaked = [d for f, d in sink().items() if f not in before and to(d, "bob@x.example")]
        t.ok(not leaked, "nothing reached bob while the store was locked (not plain, not signed-only)",
             repr(leaked[0][:400]) if leaked else "")
        kept = listdir(gw.spool, "active") + listdir(gw.spool, "incoming")
        t.ok(len(kept) == 1 and not listdir(gw.spool, "outgoing") and not listdir(gw.spool, "hold"),
             "the message is kept by cryptd (active/), not passed on or held", str(kept))
    got = wait_for(lambda: [d for f, d in sink().items() if f not in before and to(d, "bob@x.example")], 90, 0.5)
    t.ok(got and len(got) == 1 and encrypted_out(got[0]) and plain not in got[0],
         "store healthy again: the kept message goes out to bob encrypted", repr(got[0][:400]) if got else "none")
    t.ok(not listdir(gw.spool, "active") and not listdir(gw.spool, "incoming"), "nothing is left waiting")


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    r = gw.cli("key", "generate", "alice@demo.test")
    t.ok(r.returncode == 0, "alice's OpenPGP key generated", r.stderr)
    gpg("--quick-gen-key", "Bob <bob@x.example>", "ed25519", "sign,cert", "never")
    bob = next(l.split(":")[9] for l in gpg("--with-colons", "--list-keys", "bob@x.example").stdout.decode().splitlines()
               if l.startswith("fpr:"))
    gpg("--quick-add-key", bob, "cv25519", "encr", "never")
    r = gw.cli("key", "import", write("bob.asc", gpg("--armor", "--export", bob).stdout))
    t.ok(r.returncode == 0, "bob's gpg key imported", r.stdout + r.stderr)

    store_error_case()

    errors = gw.sanitizer_reports()
    t.ok(not errors, "no sanitizer reports in the gateway log", "\n".join(errors[:20]))
finally:
    gw.cleanup()
    subprocess.run(["gpgconf", "--homedir", GH, "--kill", "all"], capture_output=True)
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
