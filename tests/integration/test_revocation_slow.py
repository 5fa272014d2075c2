#!/usr/bin/env python3
"""A slow CRL server delays only the message that needs it (docs/architecture.md, "Revocation
fetches"): no lock is held across a fetch, and the fetch helper serves several requests at
once. Through SMTP into a running gateway (4 cryptd workers, revocation by CRL, hard-fail):
1. alice@demo.test -> slow@partner.test, whose certificate's CRL distribution point answers
   only after 5 s (sooner once the other two messages were delivered, so the test takes no
   longer than it must);
2. while that fetch hangs: alice -> carl@elsewhere.test (no key: signed only) and
   alice -> fast@partner.test (same CA, a distribution point that answers at once).
Both must be delivered before the slow one (ordering, never times), and all three arrive, the
two partner messages S/MIME-encrypted (so each CRL was fetched and accepted).
Also: when the fetch helper dies, cryptd says so and exits, the master restarts it with a new
helper, and a message that needs a fetch is encrypted again.
Owner: src/keys."""
import http.server
import os
import re
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, free_port, wait_for  # noqa: E402

t = Tap()
BIN = asan_binary()
tmp = tempfile.mkdtemp(prefix="sg-revslow-")
os.chmod(tmp, 0o755)
www = os.path.join(tmp, "www")
os.makedirs(www)
HTTP = free_port()
asked = {}  # path -> number of requests
slow_asked = threading.Event()
release = threading.Event()
slow_answered = threading.Event()
fast_while_slow = []  # per /fast.crl request: was the slow one still unanswered?


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=www, **kw)

    def log_message(self, *a):
        pass

    def do_GET(self):
        asked[self.path] = asked.get(self.path, 0) + 1
        if self.path == "/fast.crl":
            fast_while_slow.append(slow_asked.is_set() and not slow_answered.is_set())
        if self.path == "/slow.crl":
            slow_asked.set()
            release.wait(5)
        super().do_GET()
        if self.path == "/slow.crl":
            slow_answered.set()


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP), Handler)
threading.Thread(target=httpd.serve_forever, daemon=True).start()


def sg(cfg, *args):
    return subprocess.run([BIN, "-c", cfg, *args], capture_output=True, text=True, timeout=60)


# ---- the partners' CA (its own store) with two certificates and its CRL ----
A = os.path.join(tmp, "a.conf")
with open(A, "w") as f:
    f.write(f'base_dir = "{os.path.join(tmp, "a")}";\n')
r = sg(A, "ca", "init", "--subject", "CN=Partner Test CA")
ok = r.returncode == 0
with open(os.path.join(tmp, "ca.pem"), "w") as f:
    f.write(sg(A, "ca", "export").stdout)
for name in ("slow", "fast"):
    r = sg(A, "ca", "issue", f"{name}@partner.test", "--crl-url", f"http://127.0.0.1:{HTTP}/{name}.crl")
    ok = ok and r.returncode == 0
    with open(os.path.join(tmp, name + ".pem"), "w") as f:
        f.write(sg(A, "cert", "export", r.stdout.strip()).stdout)
sg(A, "ca", "crl", "--out", os.path.join(tmp, "crl.pem"))
for name in ("slow", "fast"):
    subprocess.run(["openssl", "crl", "-in", os.path.join(tmp, "crl.pem"), "-outform", "DER", "-out",
                    os.path.join(www, name + ".crl")], check=True)
t.ok(ok, "partner CA with slow@ and fast@partner.test, each with its own CRL distribution point")

gw = Gateway(binary=BIN)
gw.write_config('internal_domains = ["demo.test"];\ncryptd = { workers = 4; };\n'
                f'revocation = {{ methods = ["crl"]; unreachable = "hard-fail"; timeout = 20;'
                f' retry_after = 0; allowed_ports = [{HTTP}]; }};\n')
r1, r2 = gw.cli("ca", "init"), gw.cli("cert", "import", "--trust", os.path.join(tmp, "ca.pem"))
r3 = gw.cli("cert", "import", os.path.join(tmp, "slow.pem"), os.path.join(tmp, "fast.pem"))
t.ok(r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0,
     "gateway: local CA, the partner CA trusted, both partner certificates imported",
     r1.stderr + r2.stdout + r2.stderr + r3.stdout + r3.stderr)
NEW = os.path.join(gw.sink_dir, "new")


def send(rcpt, subject):
    msg = (f"From: <alice@demo.test>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject}.{time.time()}@demo.test>\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: text/plain\r\n\r\nAbout {subject}.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", [rcpt], msg)


def delivered():
    """{recipient: (mtime_ns, bytes)} of what the sink stored, first delivery per recipient."""
    out = {}
    try:
        names = os.listdir(NEW)
    except FileNotFoundError:
        return out
    for n in names:
        path = os.path.join(NEW, n)
        try:
            with open(path, "rb") as f:
                d = f.read()
            m = re.search(rb"^Delivered-To: <?([^\r\n>]+)>?\r?$", d, re.M)
            when = os.stat(path).st_mtime_ns
        except OSError:
            continue
        if m:
            rcpt = m.group(1).decode()
            if rcpt not in out or when < out[rcpt][0]:
                out[rcpt] = (when, d)
    return out


def encrypted(d):
    return bool(re.search(rb"(?i)application/(x-)?pkcs7-mime", d)) and b"enveloped-data" in d.lower()


try:
    gw.start()
    send("carl@elsewhere.test", "warm-up")  # alice's key is made now, not while the CRL hangs
    t.ok(wait_for(lambda: "carl@elsewhere.test" in delivered(), 60), "warm-up message delivered", gw.log_text()[-2000:])
    os.unlink(os.path.join(NEW, os.listdir(NEW)[0]))

    send("slow@partner.test", "slow")
    t.ok(slow_asked.wait(30), "the message to slow@partner.test makes cryptd fetch the slow CRL", gw.log_text()[-2000:])
    send("carl@elsewhere.test", "plain")
    send("fast@partner.test", "fast")
    both = wait_for(lambda: {"carl@elsewhere.test", "fast@partner.test"} <= delivered().keys(), 5)
    release.set()
    got = wait_for(lambda: len(delivered()) == 3 and delivered(), 60) or delivered()
    t.ok(len(got) == 3, "all three messages are delivered", str(sorted(got)) + gw.log_text()[-2000:])
    when = {k: v[0] for k, v in got.items()}
    slow = when.get("slow@partner.test", 0)
    t.ok(slow and when.get("carl@elsewhere.test", slow + 1) < slow,
         "the unrelated message (no certificate) is delivered before the one waiting for the slow CRL",
         f"both early: {bool(both)}, {when}")
    t.ok(fast_while_slow[:1] == [True],
         "the fast CRL is requested while the slow one is still unanswered (the helper serves both at once)",
         str(fast_while_slow))
    t.ok(slow and when.get("fast@partner.test", slow + 1) < slow,
         "the message whose CRL server answers at once is delivered before the slow one too", f"{when}")
    t.ok(all(encrypted(got.get(r, (0, b""))[1]) for r in ("slow@partner.test", "fast@partner.test")),
         "both partner messages are S/MIME-encrypted: each CRL was fetched and accepted",
         str(asked))
    t.ok(asked.get("/slow.crl") == 1 and asked.get("/fast.crl") == 1, "each CRL was fetched once", str(asked))

    # ---- the helper dies: cryptd notices, exits, and is restarted with a new helper ----
    def helper_pid():
        c = gw.role_pids().get("cryptd")
        try:
            with open(f"/proc/{c}/task/{c}/children") as f:
                kids = f.read().split()
        except (OSError, TypeError):
            return None
        return int(kids[0]) if kids else None

    old_cryptd, old_helper = gw.role_pids().get("cryptd"), helper_pid()
    t.ok(old_helper, "cryptd has its fetch helper as a child", str(old_cryptd))
    if old_helper:
        os.kill(old_helper, signal.SIGKILL)
    t.ok(wait_for(lambda: "event=fetch-helper-died" in gw.log_text(), 20),
         "the helper's death is logged by cryptd", gw.log_text()[-2000:])
    t.ok(wait_for(lambda: (gw.role_pids().get("cryptd") or old_cryptd) != old_cryptd and helper_pid(), 30),
         "the master restarts cryptd, which starts a new helper", gw.log_text()[-2000:])
    for n in os.listdir(NEW):
        os.unlink(os.path.join(NEW, n))
    db = sqlite3.connect(os.path.join(gw.base, "store", "sealgate.db"))
    db.execute("DELETE FROM x509_crls")  # so the next message needs a fetch again
    db.commit()
    db.close()
    before = asked.get("/fast.crl", 0)
    send("fast@partner.test", "after-restart")
    d = wait_for(lambda: delivered().get("fast@partner.test"), 60)
    t.ok(d and encrypted(d[1]) and asked.get("/fast.crl", 0) == before + 1,
         "after the restart a message that needs a CRL fetch is encrypted again (fetched by the new helper)",
         str(asked) + gw.log_text()[-2000:])
    t.ok(not gw.sanitizer_reports(), "no sanitizer reports", "\n".join(gw.sanitizer_reports()[:5]))
finally:
    release.set()
    gw.cleanup()
    httpd.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
