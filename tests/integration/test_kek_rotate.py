#!/usr/bin/env python3
"""`sealgate kek rotate` (issue 17): a new KEK and every wrapped secret (OpenPGP secret keys, X.509
private keys, the local CA's key) re-wrapped under it in one transaction, while mail flows
through a running gateway whose cryptd holds the old KEK; and a kill at every step of the
rotation. The kill: SEALGATE_TEST_KEK_PAUSE=N makes the CLI stop itself (SIGSTOP) at step N
(1 recovered, 2 kek.new written, 3 inside the transaction after the first re-wrap, 4 committed,
5 renamed; src/keys/kekrotate.h), the suite SIGKILLs it there, then shows with Python's own
AES-GCM that keys/kek or keys/kek.new opens every secret, that the running gateway still
decrypts, and that a retried rotation completes. Also: a second rotation waits for the lock of a
first; a key generated after a kill at step 4 (wrapped under the old KEK, so neither file opens
all) is re-wrapped by the next rotation; `start` finishes a rotation killed after its commit.
Owner: src/keys (issue 17)."""
import os
import signal
import subprocess
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, wait_for  # noqa: E402
from sgkek import Flow, cms_mail, decrypted, gpg_runner, kek_bytes, opens, pgp_mail, secrets  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="sg-kekrot-")
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
gpg = gpg_runner(os.path.join(tmp, "gnupg"))
DB = gw.base + "/store/sealgate.db"
KEK, NEW = gw.base + "/keys/kek", gw.base + "/keys/kek.new"
n_mail = [0]


def out(r):
    return r.stdout + r.stderr


def mail_decrypts(what):
    """One message gpg encrypted to alice and one openssl cms encrypted to carol, through SMTP."""
    n_mail[0] += 1
    tag = f"{what.replace(' ', '-')}-{n_mail[0]}"
    a = gw.send_one("bob@example.net", "alice@demo.test", pgp_mail(gpg, alice, tag + "-pgp"))
    c = gw.send_one("bob@example.net", "carol@demo.test", cms_mail(cert, tag + "-cms", "carol@demo.test"))
    ok = decrypted(a, tag + "-pgp") and decrypted(c, tag + "-cms")
    return ok, (repr(a[:300]) if a else "pgp: nothing delivered") + " / " + (repr(c[:300]) if c else "cms: none")


def stopped(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


try:
    r1 = gw.cli("key", "generate", "alice@demo.test")
    alice = r1.stdout.strip()
    r2 = gw.cli("key", "generate", "dora@demo.test", "--algo", "rsa3072")
    r3 = gw.cli("ca", "init")
    r4 = gw.cli("ca", "issue", "carol@demo.test")
    carol = r4.stdout.split()[-1] if r4.stdout.split() else ""
    cert = os.path.join(tmp, "carol.pem")
    with open(cert, "w") as f:
        f.write(gw.cli("cert", "export", carol).stdout)
    gpg("--import", input=gw.cli("key", "export", alice).stdout.encode())
    rows = secrets(DB)
    t.ok(all(r.returncode == 0 for r in (r1, r2, r3, r4)) and len(rows) >= 5 and
         {x[0] for x in rows} == {"pgp_secrets", "x509_keys"},
         f"secrets of every kind: {len(rows)} (OpenPGP keys with subkeys, the CA key, carol's key)",
         "".join(out(r) for r in (r1, r2, r3, r4)))
    old = kek_bytes(KEK)
    t.ok(opens(old, rows) == 0, "before: the KEK opens every secret")

    gw.start()
    ok, why = mail_decrypts("before")
    t.ok(ok, "before: the gateway decrypts mail to alice (OpenPGP) and carol (S/MIME)", why)

    # ---- rotation under load ----
    flow = Flow(gw).start()
    wait_for(lambda: flow.sent >= 10, 20)
    r = gw.cli("kek", "rotate")
    sent_at = flow.sent
    wait_for(lambda: flow.sent >= sent_at + 10, 20)
    flow.stop()
    new = kek_bytes(KEK)
    rows = secrets(DB)
    t.ok(r.returncode == 0 and f"{len(rows)} secrets re-wrapped" in r.stdout, "kek rotate under load: done",
         out(r))
    t.ok(flow.sent >= 20 and not flow.errors, f"mail flowed around the rotation ({flow.sent} messages, no SMTP error)",
         str(flow.errors[:3]))
    t.ok(new != old and opens(new, rows) == 0 and opens(old, rows) == len(rows) and not os.path.exists(NEW),
         "afterwards every secret opens under the new KEK and none under the old; no kek.new is left")
    e1 = gw.cli("key", "export", alice, "--secret")
    e2 = gw.cli("cert", "export", carol, "--key")
    crl = gw.cli("ca", "crl", "--out", os.path.join(tmp, "crl.pem"))
    t.ok(e1.returncode == 0 and "PRIVATE KEY" in e1.stdout and e2.returncode == 0 and "PRIVATE KEY" in e2.stdout
         and crl.returncode == 0,
         "the CLI unwraps them: key export --secret, cert export --key, a CRL signed by the CA key",
         out(e1)[-200:] + out(e2)[-200:] + out(crl))
    ok, why = mail_decrypts("after rotation")
    t.ok(ok, "the running gateway (its cryptd loaded the old KEK) decrypts mail to both keys after the rotation", why)
    time.sleep(1.5)  # the flow's deferred messages get their retry
    t.ok(flow.delivered() >= flow.sent, f"every message of the flow reached the sink ({flow.delivered()}/{flow.sent})")

    # ---- a kill at every step ----
    expect = {1: "kek", 2: "kek", 3: "kek", 4: "kek.new", 5: "kek"}
    for step in range(1, 6):
        before = kek_bytes(KEK)
        p = subprocess.Popen([gw.binary, "-c", gw.conf, "kek", "rotate"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=dict(os.environ, SEALGATE_TEST_KEK_PAUSE=str(step)))
        line = p.stderr.readline().decode()
        paused = f"paused at step {step}" in line and wait_for(lambda: stopped(p.pid), 10)
        p.kill()
        p.wait(10)
        rows = secrets(DB)
        k, kn = kek_bytes(KEK), kek_bytes(NEW)
        works = "kek" if opens(k, rows) == 0 else "kek.new" if opens(kn, rows) == 0 else None
        t.ok(paused and works is not None,
             f"SIGKILL at step {step}: {works} opens every one of the {len(rows)} secrets", line.strip())
        t.ok(works == expect[step] and (step < 5 or k != before),
             f"step {step}: the working KEK is the {'new' if step >= 4 else 'old'} one ({expect[step]})",
             f"found {works}")
        ok, why = mail_decrypts(f"kill at step {step}")
        t.ok(ok, f"step {step}: the running gateway still decrypts mail to both keys", why)
        r = gw.cli("kek", "rotate")
        rows = secrets(DB)
        t.ok(r.returncode == 0 and opens(kek_bytes(KEK), rows) == 0 and not os.path.exists(NEW),
             f"step {step}: a retried rotation completes; the KEK opens every secret, no kek.new", out(r))

    # the lock: a second rotation waits while a first (stopped after writing kek.new) holds it,
    # instead of taking that kek.new for the rest of a killed one and removing it
    env = dict(os.environ, SEALGATE_TEST_KEK_PAUSE="2")
    p1 = subprocess.Popen([gw.binary, "-c", gw.conf, "kek", "rotate"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env)
    p1.stderr.readline()
    wait_for(lambda: stopped(p1.pid), 10)
    p2 = subprocess.Popen([gw.binary, "-c", gw.conf, "kek", "rotate"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=dict(os.environ, SEALGATE_TEST_KEK_PAUSE="1"))
    waited = not wait_for(lambda: stopped(p2.pid), 2) and p2.poll() is None and os.path.exists(NEW)
    p1.kill()
    p1.wait(10)
    reached = wait_for(lambda: stopped(p2.pid), 10)
    p2.kill()
    p2.wait(10)
    r = gw.cli("kek", "rotate")
    t.ok(waited and reached and r.returncode == 0 and opens(kek_bytes(KEK), secrets(DB)) == 0,
         "a second rotation waits for the lock of a first; after the first is killed it goes on", out(r))

    # killed after its commit, then another process stores a secret before anyone finishes the
    # rotation: it reads keys/kek (the old KEK) and wraps under it, so neither file opens all
    p = subprocess.Popen([gw.binary, "-c", gw.conf, "kek", "rotate"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, SEALGATE_TEST_KEK_PAUSE="4"))
    p.stderr.readline()
    wait_for(lambda: stopped(p.pid), 10)
    p.kill()
    p.wait(10)
    g = gw.cli("key", "generate", "erin@demo.test")
    rows = secrets(DB)
    t.ok(g.returncode == 0 and opens(kek_bytes(KEK), rows) > 0 and opens(kek_bytes(NEW), rows) > 0,
         "a key generated after a kill at step 4 is wrapped under the old KEK: neither file opens all", out(g))
    r = gw.cli("kek", "rotate")
    rows = secrets(DB)
    e = gw.cli("key", "export", g.stdout.strip(), "--secret")
    t.ok(r.returncode == 0 and opens(kek_bytes(KEK), rows) == 0 and not os.path.exists(NEW) and e.returncode == 0,
         "the next rotation first re-wraps that secret too, then rotates: every secret opens", out(r) + out(e))

    # an interrupted rotation finished by the next start (src/master/prepare.c)
    p = subprocess.Popen([gw.binary, "-c", gw.conf, "kek", "rotate"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, SEALGATE_TEST_KEK_PAUSE="4"))
    p.stderr.readline()
    wait_for(lambda: stopped(p.pid), 10)
    p.kill()
    p.wait(10)
    gw.stop()
    t.ok(os.path.exists(NEW), "killed after its commit, a rotation leaves kek.new")
    gw.start()
    rows = secrets(DB)
    t.ok(not os.path.exists(NEW) and opens(kek_bytes(KEK), rows) == 0,
         "the next start finishes it: kek.new renamed into place, every secret opens")
    ok, why = mail_decrypts("after restart")
    t.ok(ok, "and the restarted gateway decrypts mail to both keys", why)
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "\n".join(gw.sanitizer_reports()[:5]))
except Exception:  # a crash of the suite is a failure, never a pass
    import traceback
    t.fail("test_kek_rotate ran to its end", traceback.format_exc().replace("\n", " | "))
finally:
    gw.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
