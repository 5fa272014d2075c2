#!/usr/bin/env python3
"""`sealgate backup` and `sealgate restore` (issue 17) end to end: a backup taken while mail flows
through a running gateway (a loop of SMTP sends during the backup), restored into a new base
directory; a gateway started there decrypts mail that gpg encrypted to the old installation's
OpenPGP key and that openssl cms encrypted to its certificate. Refused with their own message: a
wrong passphrase, a truncated backup, a damaged backup, a truncated KEK file, a KEK file of
another installation, a restore over a store that holds data (then --force), a restore under the
running gateway. Modes: both files 0600, the restored KEK 0600 (the cryptd user's when run as
root). The passphrase through a descriptor (/dev/fd/N) and on a terminal (a pty: asked twice,
echo off). kek import: refused when the KEK does not open the store's secrets, else installed.
Owner: src/cli (issue 17)."""
import os
import pty
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, is_root, uid_of  # noqa: E402
from sgkek import Flow, cms_mail, decrypted, gpg_runner, kek_bytes, opens, pgp_mail, secrets  # noqa: E402

t = Tap()
CONF = 'internal_domains = ["demo.test"];\n'
tmp = tempfile.mkdtemp(prefix="sg-backup-")
gw, gw2, gw3, gw4 = (Gateway(binary=asan_binary()) for _ in range(4))
for g in (gw, gw2, gw3, gw4):
    g.write_config(CONF)
gpg = gpg_runner(os.path.join(tmp, "gnupg"))
PASS = os.path.join(tmp, "pass")
WRONG = os.path.join(tmp, "wrong")
with open(PASS, "w") as f:
    f.write("a long enough passphrase\n")
with open(WRONG, "w") as f:
    f.write("a long enough passphrasf\n")
BK = os.path.join(tmp, "sealgate.backup")


def cut(src, dst, n):
    with open(src, "rb") as f:
        d = f.read()
    with open(dst, "wb") as f:
        f.write(d[:n] if n >= 0 else d[:n])
    return dst


def out(r):
    return r.stdout + r.stderr


try:
    r1 = gw.cli("key", "generate", "alice@demo.test")
    alice = r1.stdout.strip()
    r2 = gw.cli("ca", "init")
    r3 = gw.cli("ca", "issue", "carol@demo.test")
    carol = r3.stdout.split()[-1] if r3.stdout.split() else ""
    cert = os.path.join(tmp, "carol.pem")
    with open(cert, "w") as f:
        f.write(gw.cli("cert", "export", carol).stdout)
    gpg("--import", input=gw.cli("key", "export", alice).stdout.encode())
    t.ok(r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and len(alice) == 40,
         "old installation: an OpenPGP key for alice, a local CA, a certificate for carol", out(r1) + out(r2) + out(r3))

    gw.start()
    flow = Flow(gw).start()
    # wait until mail is really flowing, then back up in the middle of it
    for _ in range(200):
        if flow.sent >= 10:
            break
        flow.thread.join(0.05)
    sent_before = flow.sent
    b = gw.cli("backup", BK, "--passphrase-file", PASS)
    for _ in range(200):
        if flow.sent >= sent_before + 10:
            break
        flow.thread.join(0.05)
    during = flow.sent - sent_before
    flow.stop()
    t.ok(b.returncode == 0 and os.path.exists(BK) and os.path.exists(BK + ".kek"),
         "backup while the gateway runs: the store snapshot and FILE.kek are written", out(b))
    t.ok(sent_before >= 10 and during >= 10 and not flow.errors,
         f"mail flowed before ({sent_before} messages) and around the backup ({during} more), no SMTP error",
         str(flow.errors[:3]))
    t.ok(all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in (BK, BK + ".kek")), "both files are 0600")
    with open(BK, "rb") as f:
        head = f.read(28)
    t.ok(head[:8] == b"SGBACKUP" and head[12:18] == b"sqlite", "the backup starts with its header (magic, store kind)")
    t.ok(not [n for n in os.listdir(tmp) if ".tmp." in n or ".snap." in n], "no temp file is left beside the backup")
    r = gw.cli("restore", BK, "--passphrase-file", PASS, "--force")
    t.ok(r.returncode != 0 and "is running" in r.stderr, "restore under the running gateway is refused, even forced",
         out(r))
    # the passphrase through a descriptor (/dev/fd/N), as a script would hand it over
    rfd, wfd = os.pipe()
    os.write(wfd, b"a long enough passphrase\n")
    os.close(wfd)
    r = subprocess.run([gw.binary, "-c", gw.conf, "kek", "export", os.path.join(tmp, "fd.kek"), "--passphrase-file",
                        f"/dev/fd/{rfd}"], pass_fds=(rfd,), capture_output=True, text=True, timeout=60)
    os.close(rfd)
    t.ok(r.returncode == 0 and os.path.getsize(os.path.join(tmp, "fd.kek")) == 132,
         "kek export takes the passphrase from a descriptor (/dev/fd/N)", out(r))
    gw.stop()

    # ---- refusals, each with its own message ----
    r = gw2.cli("restore", BK, "--passphrase-file", WRONG)
    t.ok(r.returncode != 0 and "wrong passphrase" in r.stderr, "a wrong passphrase is refused as such", out(r))
    tb = cut(BK, os.path.join(tmp, "trunc.backup"), os.path.getsize(BK) // 2)
    shutil.copy(BK + ".kek", tb + ".kek")
    r = gw2.cli("restore", tb, "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "truncated" in r.stderr and "announces" in r.stderr,
         "a truncated backup is refused: the header announces more than the file has", out(r))
    r = gw2.cli("restore", cut(BK, os.path.join(tmp, "tiny.backup"), 40), BK + ".kek", "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "truncated" in r.stderr, "a backup cut inside its header is refused as truncated", out(r))
    with open(BK, "rb") as f:
        d = bytearray(f.read())
    d[len(d) // 2] ^= 0x20
    bad = os.path.join(tmp, "flipped.backup")
    with open(bad, "wb") as f:
        f.write(d)
    r = gw2.cli("restore", bad, BK + ".kek", "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "corrupt" in r.stderr and "SHA-256" in r.stderr,
         "a backup with one changed byte is refused as corrupt", out(r))
    r = gw2.cli("restore", BK, cut(BK + ".kek", os.path.join(tmp, "trunc.kek"), 100), "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "truncated" in r.stderr, "a truncated KEK file is refused as truncated", out(r))
    with open(BK + ".kek", "rb") as f:
        k = bytearray(f.read())
    k[60] ^= 1
    with open(os.path.join(tmp, "flip.kek"), "wb") as f:
        f.write(k)
    r = gw2.cli("restore", BK, os.path.join(tmp, "flip.kek"), "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "corrupt" in r.stderr and "passphrase" not in r.stderr.split("corrupt")[0],
         "a KEK file with one changed byte is 'corrupt', not 'wrong passphrase'", out(r))
    g3 = gw3.cli("key", "generate", "dave@demo.test")  # gw3 has data (and a KEK) from here on
    other = gw3.cli("kek", "export", os.path.join(tmp, "other.kek"), "--passphrase-file", PASS)
    r = gw2.cli("restore", BK, os.path.join(tmp, "other.kek"), "--passphrase-file", PASS)
    t.ok(other.returncode == 0 and r.returncode != 0 and "does not unwrap" in r.stderr,
         "the KEK of another installation is refused: it does not unwrap the backup's secrets", out(other) + out(r))
    t.ok(not os.path.exists(gw2.base + "/store/sealgate.db.restore") and not os.path.exists(gw2.base + "/keys/kek"),
         "after the refusals nothing was installed in the new base directory (no staged copy, no KEK)")

    # a target that holds data: refused, saying why; --force replaces it
    r = gw3.cli("restore", BK, "--passphrase-file", PASS)
    t.ok(g3.returncode == 0 and r.returncode != 0 and "already holds" in r.stderr,
         "restore over a store with data is refused, saying why", out(r))
    r = gw3.cli("restore", BK, "--passphrase-file", PASS, "--force")
    listed = gw3.cli("key", "list").stdout
    t.ok(r.returncode == 0 and alice in listed and "dave@demo.test" not in listed,
         "with --force the store is replaced by the backup's", out(r) + listed)

    # ---- the restore itself, into a fresh base directory ----
    r = gw2.cli("restore", BK, os.path.join(tmp, "fd.kek"), "--passphrase-file", PASS)
    t.ok(r.returncode == 0 and "restored" in r.stdout,
         "restore into a fresh base directory (with the KEK exported through the descriptor)", out(r))
    kp = gw2.base + "/keys/kek"
    st = os.stat(kp)
    want_uid = uid_of("sealgate-cryptd") if is_root() else os.geteuid()
    t.ok(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == want_uid and not os.path.exists(kp + ".new"),
         f"the restored KEK is 0600 and belongs to {'the cryptd user' if is_root() else 'the caller'}",
         f"mode {oct(st.st_mode)} uid {st.st_uid}")
    rows = secrets(gw2.base + "/store/sealgate.db")
    t.ok(len(rows) >= 3 and opens(kek_bytes(kp), rows) == 0,
         f"every wrapped secret of the restored store ({len(rows)}) opens under the restored KEK (checked in Python)")
    r = gw2.cli("restore", BK, "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "already holds" in r.stderr, "a second restore over it is refused", out(r))

    # kek import: the KEK of another installation is refused by a store it does not open; the
    # right one is accepted, and a fresh node gets exactly the old installation's KEK
    r = gw2.cli("kek", "import", os.path.join(tmp, "other.kek"), "--passphrase-file", PASS)
    t.ok(r.returncode != 0 and "refusing to import" in r.stderr and kek_bytes(kp) == kek_bytes(gw.base + "/keys/kek"),
         "kek import of a KEK that does not open the store's secrets is refused, the KEK unchanged", out(r))
    r = gw4.cli("kek", "import", os.path.join(tmp, "fd.kek"), "--passphrase-file", PASS)
    st4 = os.stat(gw4.base + "/keys/kek") if os.path.exists(gw4.base + "/keys/kek") else None
    t.ok(r.returncode == 0 and kek_bytes(gw4.base + "/keys/kek") == kek_bytes(gw.base + "/keys/kek") and st4 and
         stat.S_IMODE(st4.st_mode) == 0o600 and st4.st_uid == want_uid,
         "kek import on a fresh node installs the exported KEK (same 32 bytes, 0600, its owner)", out(r))

    # the passphrase on a terminal (no --passphrase-file): asked twice for an export, without echo
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(gw.binary, [gw.binary, "-c", gw2.conf, "kek", "export", os.path.join(tmp, "tty.kek")])
    seen = b""
    for answer in (b"typed on the terminal\n", b"typed on the terminal\n"):
        while not seen.rstrip().endswith((b"Passphrase:", b"Again:")):
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            seen += chunk
        os.write(fd, answer)
        seen += b"|"
    try:
        while True:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            seen += chunk
    except OSError:  # EIO: the child closed the terminal
        pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    with open(os.path.join(tmp, "ttypass"), "w") as f:
        f.write("typed on the terminal\n")
    r = gw4.cli("kek", "import", os.path.join(tmp, "tty.kek"), "--passphrase-file", os.path.join(tmp, "ttypass"))
    t.ok(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and b"Again:" in seen and b"typed on" not in seen and
         r.returncode == 0, "kek export asks the passphrase twice on the terminal, echo off; the file opens with it",
         repr(seen[-300:]) + out(r))

    gw2.start()
    got = gw2.send_one("bob@example.net", "alice@demo.test", pgp_mail(gpg, alice, "pgp-after-restore"))
    t.ok(decrypted(got, "pgp-after-restore"),
         "the restored gateway decrypts mail gpg encrypted to the old installation's key",
         repr(got[:600]) if got else "nothing delivered")
    got = gw2.send_one("bob@example.net", "carol@demo.test", cms_mail(cert, "cms-after-restore", "carol@demo.test"))
    t.ok(decrypted(got, "cms-after-restore"),
         "the restored gateway decrypts mail openssl cms encrypted to the old installation's certificate",
         repr(got[:600]) if got else "nothing delivered")
    t.ok(not gw2.sanitizer_reports(), "no sanitizer report", "\n".join(gw2.sanitizer_reports()[:5]))
except Exception as e:  # a crash of the suite is a failure, never a pass
    import traceback
    t.fail("test_backup ran to its end", traceback.format_exc().replace("\n", " | "))
finally:
    for g in (gw, gw2, gw3, gw4):
        g.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
