#!/usr/bin/env python3
"""`sealgate key` against real OpenPGP peers: keys made by gpg import into sealgate, keys made
by sealgate work in gpg and in sqop (Sequoia), revocation certificates, weak and garbage input,
delete, and the KEK's owner and mode under `sealgate start`. Owner: src/keys."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, is_root, uid_of  # noqa: E402

t = Tap()
gw = Gateway(sink=False, next_hop="127.0.0.1:1", binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n', sink=False)
tmp = tempfile.mkdtemp(prefix="sg-keys-")
GH = os.path.join(tmp, "gnupg")      # the correspondents' gpg
GH2 = os.path.join(tmp, "gnupg2")    # a second gpg that receives sealgate's keys
for d in (GH, GH2):
    os.makedirs(d, mode=0o700)


def gpg(*args, home=GH, input=None):
    return subprocess.run(["gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback",
                           "--passphrase", "", *args], input=input, capture_output=True, timeout=120)


def gen(uid, algo, sub=None):
    """A key made by gpg: primary (sign,cert) and optionally an encryption subkey; its fpr."""
    r = gpg("--quick-gen-key", uid, algo, "sign,cert", "never")
    if r.returncode != 0:
        return None
    out = gpg("--with-colons", "--list-keys", uid).stdout.decode()
    fprs = [l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")]
    if not fprs:
        return None
    if sub:
        gpg("--quick-add-key", fprs[0], sub, "encr", "never")
    return fprs[0]


def write(name, data):
    p = os.path.join(tmp, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


cli_errors = []


def key(*args):
    r = gw.cli("key", *args)
    cli_errors.extend(l for l in r.stderr.splitlines() if "Sanitizer" in l or "runtime error:" in l)
    return r


def lines(r):
    return [l for l in r.stdout.splitlines() if l.strip()]


try:
    # ---- keys made by gpg ----
    ann = gen("Ann <ann@example.org>", "ed25519", "cv25519")
    rob = gen("Rob <rob@example.org>", "rsa3072", "rsa3072")
    t.ok(ann and rob, "gpg made an Ed25519 and an RSA-3072 key", f"{ann} {rob}")
    both = write("both.asc", gpg("--armor", "--export", ann, rob).stdout)
    r = key("import", both)
    out = lines(r)
    t.ok(r.returncode == 0 and sorted(l.split()[:2][0] for l in out) == ["imported", "imported"]
         and any(ann in l for l in out) and any(rob in l for l in out),
         "one file with both gpg keys: each imported", r.stdout + r.stderr)
    r = key("import", both)
    t.ok(r.returncode == 0 and all(l.split()[0] in ("unchanged", "updated") for l in lines(r)) and len(lines(r)) == 2,
         "importing again: unchanged", r.stdout)
    r = key("list", "--address", "ann@example.org")
    t.ok(r.returncode == 0 and ann in r.stdout and rob not in r.stdout and "Ann <ann@example.org>" in r.stdout,
         "list --address shows only that address's key", r.stdout)
    gpg("--quick-add-uid", ann, "Ann Work <ann@work.example>")
    r = key("import", write("ann2.asc", gpg("--armor", "--export", ann).stdout))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("updated " + ann)
         and ann in key("list", "--address", "ann@work.example").stdout,
         "a new user ID added in gpg: updated, listed under the new address", r.stdout)
    r = subprocess.run([gw.binary, "-c", gw.conf, "key", "import", "-"], input=gpg("--export", ann).stdout,
                       capture_output=True, timeout=30)
    t.ok(r.returncode == 0 and r.stdout.startswith(b"unchanged " + ann.encode()), "import - reads standard input",
         (r.stdout + r.stderr).decode())
    binary = write("rob.gpg", gpg("--export", rob).stdout)
    t.ok(lines(key("import", binary))[0].startswith("unchanged " + rob), "binary (unarmored) input accepted")

    # A secret key exported by gpg without passphrase: the secret part is taken (wrapped).
    sec = write("ann-sec.asc", gpg("--armor", "--export-secret-keys", ann).stdout)
    r = key("import", sec)
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("updated " + ann) and "secret" in r.stdout,
         "gpg secret key import: updated with secret key", r.stdout + r.stderr)
    t.ok("[S]" in key("list", "--address", "ann@example.org").stdout, "list marks the secret as held")

    # A passphrase-protected secret key: the public part is taken, the secret is not (it could
    # never be used unattended, and the passphrase is not ours to keep).
    r = subprocess.run(["gpg", "--homedir", GH, "--batch", "--pinentry-mode", "loopback", "--passphrase", "pw",
                        "--quick-gen-key", "Pat <pat@example.org>", "ed25519", "sign,cert", "never"],
                       capture_output=True, timeout=60)
    psec = subprocess.run(["gpg", "--homedir", GH, "--batch", "--pinentry-mode", "loopback", "--passphrase", "pw",
                           "--armor", "--export-secret-keys", "pat@example.org"], capture_output=True, timeout=60).stdout
    r = key("import", write("pat-sec.asc", psec))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("imported") and "passphrase-protected" in r.stdout
         and "[S]" not in key("list", "--address", "pat@example.org").stdout,
         "protected secret key: public part imported, secret not taken", r.stdout + r.stderr)

    # Revocation certificate made by gpg at key generation (its armor line is ':'-escaped).
    with open(os.path.join(GH, "openpgp-revocs.d", rob + ".rev"), "rb") as f:
        rev = f.read().replace(b":-----BEGIN", b"-----BEGIN")
    r = key("import", write("rob.rev", rev))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("updated " + rob), "gpg revocation certificate: updated",
         r.stdout + r.stderr)
    r = key("import", os.path.join(tmp, "rob.rev"))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("unchanged"),
         "the same revocation certificate again: unchanged", r.stdout)
    r = key("list", "--address", "rob@example.org")
    t.ok("[revoked]" in r.stdout, "key shows revoked after the revocation certificate", r.stdout)
    r = key("show", rob)
    t.ok(r.returncode == 0 and "revoked" in r.stdout, "show gives the revocation", r.stdout)

    # ---- keys made by sealgate ----
    r = key("generate", "alice@demo.test")
    alice = r.stdout.strip()
    t.ok(r.returncode == 0 and len(alice) == 40, "key generate prints the new fingerprint", r.stdout + r.stderr)
    r = key("list", "--address", "sealgate@demo.test")
    dom = r.stdout.split()[0] if r.stdout.strip() else ""
    t.ok(len(dom) == 40 and "[S]" in r.stdout, "the domain key sealgate@demo.test was created, secret held", r.stdout)
    pub = key("export", alice)
    t.ok(pub.returncode == 0 and pub.stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "export is armored")
    domexp = key("export", dom).stdout
    r = gpg("--import", input=(pub.stdout + domexp).encode(), home=GH2)
    t.ok(r.returncode == 0, "gpg imports the exported key and the domain key", r.stderr.decode())
    cs = gpg("--with-colons", "--check-sigs", alice, home=GH2).stdout.decode()
    sigs = [l.split(":") for l in cs.splitlines() if l.startswith("sig:")]
    t.ok(any(s[1] == "!" and s[4] == alice[-16:] for s in sigs), "gpg --check-sigs: self-signature valid", cs)
    t.ok(any(s[1] == "!" and s[4] == dom[-16:] for s in sigs), "gpg --check-sigs: domain key certification valid", cs)

    secexp = key("export", alice, "--secret")
    t.ok(secexp.returncode == 0 and "PRIVATE KEY BLOCK" in secexp.stdout, "export --secret gives the armored secret key")
    r = gpg("--import", input=secexp.stdout.encode(), home=GH2)
    t.ok(r.returncode == 0 and b"secret keys imported: 1" in r.stderr, "gpg imports the secret key", r.stderr.decode())
    enc = gpg("--trust-model", "always", "--armor", "--encrypt", "-r", alice, input=b"for alice\n", home=GH2)
    dec = gpg("--decrypt", input=enc.stdout, home=GH2)
    t.ok(enc.returncode == 0 and dec.returncode == 0 and dec.stdout == b"for alice\n",
         "gpg decrypts with the exported secret what it encrypted to the exported key", dec.stderr.decode())

    cert = write("alice.cert", pub.stdout.encode())
    skey = write("alice.key", secexp.stdout.encode())
    enc = subprocess.run(["sqop", "encrypt", cert], input=b"sequoia says hi\n", capture_output=True, timeout=60)
    dec = subprocess.run(["sqop", "decrypt", skey], input=enc.stdout, capture_output=True, timeout=60)
    t.ok(enc.returncode == 0 and dec.returncode == 0 and dec.stdout == b"sequoia says hi\n",
         "sqop encrypts to the exported cert and decrypts with the exported secret key",
         (enc.stderr + dec.stderr).decode())
    r = subprocess.run(["sqop", "sign", skey], input=b"signed\n", capture_output=True, timeout=60)
    v = subprocess.run(["sqop", "verify", write("sig", r.stdout), cert], input=b"signed\n", capture_output=True, timeout=60)
    t.ok(r.returncode == 0 and v.returncode == 0, "sqop signs with the secret key and verifies with the cert",
         (r.stderr + v.stderr).decode())

    r = key("generate", "Bob Example <bob@demo.test>", "--algo", "rsa3072", "--expires", "30")
    bob = r.stdout.strip()
    s = key("show", bob).stdout
    t.ok(r.returncode == 0 and "RSA/3072" in s and "Bob Example <bob@demo.test>" in s and "expires never" not in s,
         "generate --algo rsa3072 --expires 30 with a name", s + r.stderr)

    r = key("revoke", alice)
    t.ok(r.returncode == 0 and "[revoked]" in key("list", "--address", "alice@demo.test").stdout, "key revoke", r.stderr)
    gpg("--import", input=key("export", alice).stdout.encode(), home=GH2)
    cs = gpg("--with-colons", "--list-keys", alice, home=GH2).stdout.decode()
    t.ok(any(l.startswith("pub:r:") for l in cs.splitlines()), "gpg sees the revocation sealgate made", cs)

    # ---- rejected input ----
    weak = gen("Weak <weak@example.org>", "rsa1024")
    why = "RSA smaller than 2048"
    if not weak:
        weak, why = gen("Weak <weak@example.org>", "dsa2048"), "DSA"
    r = key("import", write("weak.asc", gpg("--armor", "--export", weak).stdout))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("rejected " + weak) and why in r.stdout,
         f"weak gpg key rejected with the reason ({why})", r.stdout + r.stderr)
    dsa = gen("Dsa <dsa@example.org>", "dsa2048")
    r = key("import", write("dsa.asc", gpg("--armor", "--export", dsa).stdout))
    t.ok(lines(r) and lines(r)[0].startswith("rejected") and "DSA" in r.stdout, "DSA key rejected", r.stdout)
    r = key("import", write("garbage", os.urandom(3000)))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("rejected -"), "garbage: rejected, no crash",
         r.stdout + r.stderr)
    r = key("import", write("armored-garbage", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nZm9vYmFy\n=AAAA\n"
                                                b"-----END PGP PUBLIC KEY BLOCK-----\n"))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("rejected"), "armored garbage: rejected", r.stdout)
    r = key("import", os.path.join(tmp, "does-not-exist"))
    t.ok(r.returncode == 1, "unreadable file: exit 1", str(r.returncode))
    t.ok(key("bogus").returncode == 2 and key("generate").returncode == 2
         and key("generate", "x@y", "--algo", "dsa").returncode == 2, "usage errors exit 2")

    # ---- delete ----
    r = key("delete", ann)
    t.ok(r.returncode == 0 and ann not in key("list").stdout, "key delete removes it", r.stderr)
    t.ok(key("delete", ann).returncode == 1 and key("show", ann).returncode == 1, "deleted key is gone")

    t.ok(not cli_errors, "no sanitizer reports from any `sealgate key` run", "\n".join(cli_errors[:20]))

    # ---- the KEK under `sealgate start` ----
    kek = os.path.join(gw.base, "keys", "kek")
    if is_root():
        shutil.rmtree(os.path.join(gw.base, "keys"))  # start must create it afresh
        gw.start()
        st = os.stat(kek) if os.path.exists(kek) else None
        t.ok(st is not None and st.st_uid == uid_of("sealgate-cryptd") and (st.st_mode & 0o777) == 0o600,
             "start creates the KEK owned by sealgate-cryptd, mode 0600",
             str(st and (st.st_uid, oct(st.st_mode))))
        for role in ("smtpd", "relay"):
            r = subprocess.run(["runuser", "-u", "sealgate-" + role, "--", "cat", kek], capture_output=True)
            t.ok(r.returncode != 0 and not r.stdout, f"sealgate-{role} cannot read the KEK")
        r = subprocess.run(["runuser", "-u", "sealgate-cryptd", "--", "cat", kek], capture_output=True)
        t.ok(r.returncode == 0 and len(r.stdout) == 32, "sealgate-cryptd can read it")
        gw.stop()
        t.ok(not gw.sanitizer_reports(), "no sanitizer reports from the gateway", "\n".join(gw.sanitizer_reports()))
    else:
        st = os.stat(kek)
        t.ok((st.st_mode & 0o777) == 0o600, "KEK created by the CLI is 0600")
        t.skip("KEK owner under start", "not root")
finally:
    gw.cleanup()
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
t.done()
