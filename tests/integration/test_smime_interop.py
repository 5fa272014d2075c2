#!/usr/bin/env python3
"""S/MIME interop of the engine (src/engine/smime/engine_smime.c) through tests/tools/sg-engine:
what sealgate produces decrypts and verifies with `openssl cms` and `gpgsm`; what they produce
decrypts and verifies in sealgate; for RSA (OAEP and PKCS#1 v1.5) and EC certificates, CBC and
GCM; plus the refusals (tampered GCM, wrong From, tampered content, SHA-1, no key).
Certificates are made at test time: internal users by the local CA (`sealgate ca`), external
peers by the openssl command under their own CA. Owner: src/cryptd (S/MIME)."""
import base64
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import smimetest  # noqa: E402
from sgtest import Tap, asan_binary  # noqa: E402
from smimetest import cms_der, p7m, split_signed  # noqa: E402

t = Tap()
BIN = asan_binary()
ENGINE = smimetest.engine_path(BIN)
tmp = tempfile.mkdtemp(prefix="sg-smime-")
base = os.path.join(tmp, "base")
os.makedirs(base)
sanitizer = smimetest.sanitizer


def p(name):
    return os.path.join(tmp, name)


def write(name, data):
    with open(p(name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return p(name)


def read(name):
    with open(p(name), "rb") as f:
        return f.read()


def conf(name, smime=""):
    """A configuration on the shared store; smime: the body of the smime group."""
    return write(name, f'base_dir = "{base}";\nhostname = "gw.demo.test";\n'
                       f'internal_domains = ["demo.test"];\nsmime = {{ {smime} }};\n')


CONF = conf("default.conf")


def run(cmd, input=None):
    # SAN: ext.cnf refers to it; openssl refuses the file while it is unset.
    return smimetest.run(cmd, input=input, cwd=tmp,
                         env=dict(os.environ, SAN=os.environ.get("SAN", "unused@example.org")))


def ossl(*args, input=None):
    return run(["openssl", *args], input=input)


def sg(*args, input=None):
    return run([BIN, "-c", CONF, *args], input=input)


def protect(msg, frm, to=(), sign="sender", cfg=CONF, opaque=False):
    args = [ENGINE, "-c", cfg, "protect", "--from", frm, "--sign", sign]
    for a in to:
        args += ["--to", a]
    if opaque:
        args.append("--opaque")
    return run(args, input=msg)


def peel(msg, frm=None, rcpts=(), cfg=CONF):
    return smimetest.peel(ENGINE, cfg, msg, frm, rcpts, scratch=tmp)


def fpr_of(pem):
    r = ossl("x509", "-in", pem, "-noout", "-fingerprint", "-sha256")
    return r.stdout.decode().strip().split("=", 1)[1].replace(":", "")


def with_header(frm, to, body, subject="interop"):
    """An RFC 5322 message: a small header, then body (a MIME entity with its own fields)."""
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash(body)) % 10**9}@test>\r\n").encode() + body


def printed(msg_or_der, der=False):
    args = ["cms", "-cmsout", "-print", "-in", "-"] + (["-inform", "DER"] if der else [])
    return ossl(*args, input=msg_or_der).stdout.decode(errors="replace")


# ---- certificates ----
EXT = smimetest.PEER_EXT
write("ext.cnf", EXT)


def peer(name, addr, keyalg, ext):
    ossl("genpkey", *keyalg, "-out", p(name + ".key"))
    ossl("req", "-new", "-key", p(name + ".key"), "-subj", f"/CN={addr}", "-out", p(name + ".csr"))
    env = dict(os.environ, SAN=addr)
    r = subprocess.run(["openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p("peerca.pem"), "-CAkey",
                        p("peerca.key"), "-CAcreateserial", "-days", "30", "-sha256", "-extfile", p("ext.cnf"),
                        "-extensions", ext, "-out", p(name + ".pem")], capture_output=True, env=env, cwd=tmp)
    return r.returncode == 0


RSA = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
EC = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
ossl("genpkey", *RSA, "-out", p("peerca.key"))
ossl("req", "-new", "-x509", "-key", p("peerca.key"), "-subj", "/CN=Peer CA", "-days", "30", "-sha256",
     "-config", p("ext.cnf"), "-extensions", "ca", "-out", p("peerca.pem"))
ok = peer("bob", "bob@example.org", RSA, "rsa") and peer("erin", "erin@example.org", EC, "ec")
r1, r2 = sg("ca", "init"), sg("ca", "issue", "alice@demo.test")
r3 = sg("ca", "issue", "--rsa", "carol@demo.test")
ALICE_FPR, CAROL_FPR = r2.stdout.decode().split()[-1], r3.stdout.decode().split()[-1]
sg("ca", "export").stdout and write("localca.pem", sg("ca", "export").stdout)
write("alice.pem", sg("cert", "export", ALICE_FPR).stdout)
write("carol.pem", sg("cert", "export", CAROL_FPR).stdout)
write("alice.key", sg("cert", "export", ALICE_FPR, "--key").stdout)
write("carol.key", sg("cert", "export", CAROL_FPR, "--key").stdout)
imp = sg("cert", "import", p("peerca.pem"), p("bob.pem"), p("erin.pem"))
tr = sg("cert", "trust", fpr_of(p("peerca.pem")))
t.ok(ok and r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and imp.returncode == 0 and
     tr.returncode == 0, "setup: local CA with alice (EC) and carol (RSA); peer CA with bob (RSA), erin (EC)",
     (r1.stderr + r2.stderr + r3.stderr + imp.stdout + imp.stderr + tr.stderr).decode())

r = run([ENGINE, "-c", CONF, "can-encrypt", "bob@example.org"])
r2 = run([ENGINE, "-c", CONF, "can-sign", "alice@demo.test"])
r3 = run([ENGINE, "-c", CONF, "can-sign", "bob@example.org"])
r4 = run([ENGINE, "-c", CONF, "can-encrypt", "nobody@example.org"])
t.ok([x.stdout.strip() for x in (r, r2, r3, r4)] == [b"1", b"1", b"0", b"0"],
     "can_encrypt_to bob, can_sign_as alice; not as bob (no key), nobody has no certificate",
     str([x.stdout for x in (r, r2, r3, r4)]))

MSG = with_header("Alice <alice@demo.test>", "bob@example.org",
                  b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob, this is S/MIME.\r\n",
                  subject="secret plans")

# ---- sealgate -> openssl cms ----


def ossl_decrypt(msg, who):
    return ossl("cms", "-decrypt", "-recip", p(who + ".pem"), "-inkey", p(who + ".key"), input=msg)


def ossl_verify(entity, ca="localca.pem"):
    return ossl("cms", "-verify", "-CAfile", p(ca), "-purpose", "any", input=entity)


out = protect(MSG, "alice@demo.test", ["bob@example.org"])
o = out.stdout
dec = ossl_decrypt(o, "bob")
ver = ossl_verify(dec.stdout)
t.ok(out.returncode == 0 and b"smime-type=enveloped-data" in o and b"Subject: ...\r\n" in o and
     b"secret plans" not in o, "protect: EnvelopedData, outer Subject hidden", out.stderr.decode())
pr = printed(o)
t.ok(dec.returncode == 0 and "aes-256-cbc" in pr and "rsaEncryption" in pr,
     "openssl cms decrypts sign+encrypt to bob (RSA PKCS#1 v1.5, AES-256-CBC)", dec.stderr.decode())
t.ok(ver.returncode == 0 and b"Hello Bob" in ver.stdout and b"Subject: secret plans" in ver.stdout and
     b'protected-headers="v1"' in ver.stdout and b"multipart/signed" in dec.stdout,
     "openssl cms verifies the inner multipart/signed (alice, EC); protected headers inside",
     (ver.stderr + dec.stdout[:300]).decode(errors="replace"))
spr = ossl("cms", "-cmsout", "-print", "-in", "-", input=dec.stdout)
sp = printed(split_signed(dec.stdout)[1], der=True)
t.ok("SMIMECapabilities" in sp or "S/MIME Capabilities" in sp or "smimeCapabilities" in sp.lower(),
     "the signature carries SMIMECapabilities", sp[-2000:])
t.ok("aes-256-gcm" in sp and "sha256" in sp and "Peer CA" not in sp and "sealgate local CA" in sp,
     "SMIMECapabilities name AES-256-GCM; SHA-256; the local CA chain is included", sp[-1500:])

oaep = conf("oaep.conf", 'rsa_padding = "oaep";')
out = protect(MSG, "alice@demo.test", ["bob@example.org"], cfg=oaep)
pr = printed(out.stdout)
dec = ossl_decrypt(out.stdout, "bob")
t.ok(out.returncode == 0 and "rsaesOaep" in pr and dec.returncode == 0 and b"Hello Bob" in dec.stdout,
     "rsa_padding=oaep: RSAES-OAEP; openssl cms decrypts", out.stderr.decode() + pr[:600])

ecm = with_header("alice@demo.test", "erin@example.org", b"Content-Type: text/plain\r\n\r\nHi Erin\r\n")
out = protect(ecm, "alice@demo.test", ["erin@example.org"])
pr = printed(out.stdout)
dec = ossl_decrypt(out.stdout, "erin")
t.ok(out.returncode == 0 and "dhSinglePass-stdDH-sha256kdf-scheme" in pr and dec.returncode == 0 and
     b"Hi Erin" in dec.stdout, "EC recipient (erin): ECDH sha256kdf; openssl cms decrypts", dec.stderr.decode())

gcm = conf("gcm.conf", 'gcm_for = ["example.org"];')
out = protect(MSG, "alice@demo.test", ["bob@example.org", "erin@example.org"], cfg=gcm)
pr = printed(out.stdout)
d1, d2 = ossl_decrypt(out.stdout, "bob"), ossl_decrypt(out.stdout, "erin")
t.ok(out.returncode == 0 and b"smime-type=authEnveloped-data" in out.stdout and "aes-256-gcm" in pr and
     d1.returncode == 0 and d2.returncode == 0 and b"Hello Bob" in d1.stdout and d1.stdout == d2.stdout,
     "gcm_for domain: one AuthEnvelopedData (AES-256-GCM) for bob (RSA) and erin (EC); both decrypt",
     (out.stderr + d1.stderr + d2.stderr).decode())
out2 = protect(MSG, "alice@demo.test", ["bob@example.org", "carol@demo.test"], cfg=gcm)
t.ok(out2.returncode == 0 and b"smime-type=enveloped-data" in out2.stdout,
     "GCM only when every recipient of the group reads it (carol is not listed): CBC", out2.stderr.decode())

opq = conf("opaque.conf", 'signing = "opaque";')
out = protect(MSG, "alice@demo.test", ["bob@example.org"], cfg=opq)
dec = ossl_decrypt(out.stdout, "bob")
ver = ossl_verify(dec.stdout)
t.ok(b"smime-type=signed-data" in dec.stdout and ver.returncode == 0 and b"Hello Bob" in ver.stdout,
     "signing=opaque: SignedData inside the envelope verifies in openssl", (dec.stderr + ver.stderr).decode())

out = protect(MSG, "alice@demo.test", [])
ver = ossl_verify(out.stdout)
t.ok(out.returncode == 0 and b"multipart/signed" in out.stdout and b"Subject: secret plans" in out.stdout and
     ver.returncode == 0, "sign only: clear-signed, outer Subject kept, openssl verifies", ver.stderr.decode())
out = protect(MSG, "alice@demo.test", [], opaque=True)
ver = ossl_verify(out.stdout)
t.ok(out.returncode == 0 and b"smime-type=signed-data" in out.stdout and ver.returncode == 0,
     "sign only, opaque ordered by the request: openssl verifies", ver.stderr.decode())

pss = conf("pss.conf", 'rsa_signature = "pss"; digest = "sha512";')
cm = with_header("carol@demo.test", "bob@example.org", b"Content-Type: text/plain\r\n\r\nfrom carol\r\n")
out = protect(cm, "carol@demo.test", [], cfg=pss)
ver = ossl_verify(out.stdout)
sp = printed(split_signed(out.stdout)[1], der=True)
t.ok(ver.returncode == 0 and "rsassaPss" in sp and "sha512" in sp and b"micalg=sha-512" in out.stdout,
     "rsa_signature=pss, digest=sha512 (carol, RSA): openssl verifies", ver.stderr.decode() + sp[-800:])

out = protect(MSG, "alice@demo.test", ["nobody@example.org"])
t.ok(out.returncode == 1 and b"nobody@example.org" in out.stderr and not out.stdout,
     "no certificate for a recipient: protect fails, nothing produced", out.stderr.decode())

# ---- openssl cms -> sealgate ----
CONTENT = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice, from openssl.\r\n"
write("content.txt", CONTENT)


def ossl_sign(who, *extra, detached=True):
    args = ["cms", "-sign", "-signer", p(who + ".pem"), "-inkey", p(who + ".key"), "-in", p("content.txt"),
            "-certfile", p("peerca.pem")]
    if not detached:
        args.append("-nodetach")
    return ossl(*args, *extra).stdout


def ossl_encrypt(entity, who, cipher, *keyopts):
    return ossl("cms", "-encrypt", "-binary", cipher, "-recip", p(who + ".pem"), *keyopts, input=entity).stdout


signed = ossl_sign("bob", "-md", "sha256")
for who, cipher, extra, what in [("alice", "-aes-256-cbc", [], "EC, CBC"),
                                 ("alice", "-aes-256-gcm", [], "EC, GCM"),
                                 ("carol", "-aes-256-cbc", [], "RSA PKCS#1 v1.5, CBC"),
                                 ("carol", "-aes-256-gcm", ["-keyopt", "rsa_padding_mode:oaep"], "RSA OAEP, GCM")]:
    enc = with_header("bob@example.org", f"{who}@demo.test", ossl_encrypt(signed, who, cipher, *extra))
    l1 = peel(enc, "bob@example.org", [f"{who}@demo.test", "nobody@demo.test"])
    l2 = peel(l1["inner"] or b"", "bob@example.org")
    t.ok(l1.get("kind") == "encrypted" and l1.get("dec") == "ok" and l1.get("readable") == "1,0" and
         l2.get("kind") == "signed" and l2.get("sig") == "valid" and l2.get("from_match") == "yes" and
         l2.get("signer") == fpr_of(p("bob.pem")) and int(l2.get("chain_bytes", 0)) > 0,
         f"openssl cms sign (bob) + encrypt to {who} ({what}): decrypted and verified", str(l1) + str(l2))

l = peel(with_header("bob@example.org", "x", signed), "mallory@example.org")
t.ok(l.get("sig") == "invalid" and l.get("sig_reason") == "from-mismatch", "signature by bob under From mallory: "
     "invalid, from-mismatch", str(l))
tampered = signed.replace(b"Hello Alice", b"Hello Alicf")
l = peel(with_header("bob@example.org", "x", tampered), "bob@example.org")
t.ok(l.get("sig") == "invalid" and l.get("sig_reason") == "bad-signature", "modified clear-signed content: "
     "invalid, bad-signature", str(l))
l = peel(with_header("bob@example.org", "x", ossl_sign("bob", "-md", "sha1")), "bob@example.org")
t.ok(l.get("sig") == "invalid" and l.get("sig_reason") == "weak-digest", "SHA-1 signature: invalid, weak-digest",
     str(l))
l = peel(with_header("bob@example.org", "x", ossl_sign("bob", "-keyopt", "rsa_padding_mode:pss")),
         "bob@example.org")
t.ok(l.get("sig") == "valid", "RSA-PSS signature (openssl): valid", str(l))
l = peel(with_header("erin@example.org", "x", ossl_sign("erin")), "erin@example.org")
t.ok(l.get("sig") == "valid" and l.get("signer") == fpr_of(p("erin.pem")), "ECDSA signature (erin): valid", str(l))
opaque = ossl_sign("erin", detached=False)
l = peel(with_header("erin@example.org", "x", opaque), "erin@example.org")
t.ok(l.get("kind") == "signed" and l.get("sig") == "valid" and l.get("inner") == CONTENT,
     "opaque SignedData (openssl -nodetach): valid, content is the inner entity", str(l))
xold = with_header("erin@example.org", "x", ossl_sign("erin").replace(b"application/pkcs7-signature",
                                                                        b"application/x-pkcs7-signature"))
l = peel(xold, "erin@example.org")
t.ok(l.get("kind") == "signed" and l.get("sig") == "valid", "application/x-pkcs7-signature accepted", str(l))
lfmsg = with_header("erin@example.org", "x", ossl_sign("erin")).replace(b"\r\n", b"\n")
l = peel(lfmsg, "erin@example.org")
t.ok(l.get("sig") == "valid", "clear-signed message with LF line ends (local delivery): valid", str(l))

# GCM tampering: flip one byte of the ciphertext; the tag must catch it and nothing is released.
enc = ossl_encrypt(CONTENT, "carol", "-aes-256-gcm")
der = bytearray(cms_der(enc))
der[-40] ^= 0x01
l = peel(with_header("bob@example.org", "carol@demo.test", p7m(bytes(der), "authEnveloped-data")), None,
         ["carol@demo.test"])
t.ok(l.get("dec") == "no-integrity" and l.get("inner") is None and l.get("inner_bytes") == "0",
     "AuthEnvelopedData with a modified byte: no-integrity, no plaintext", str(l))
enc = ossl_encrypt(CONTENT, "bob", "-aes-256-cbc")
l = peel(with_header("x@example.org", "alice@demo.test", enc), None, ["alice@demo.test"])
t.ok(l.get("kind") == "encrypted" and l.get("dec") == "no-key" and l.get("readable") == "0",
     "encrypted to bob only, asked for alice: no-key", str(l))
det = run([ENGINE, "-c", CONF, "detect"], input=with_header("a@b", "c@d", enc))
det2 = run([ENGINE, "-c", CONF, "detect"], input=MSG)
t.ok(det.stdout.strip() == b"encrypted" and det2.stdout.strip() == b"none", "detect: encrypted / none",
     str(det.stdout + det2.stdout))

# sealgate's own output peeled by sealgate (carol reads what alice sent; the sender's copy).
own = conf("own.conf", "encrypt_to_sender = true;")
out = protect(with_header("alice@demo.test", "carol@demo.test", CONTENT), "alice@demo.test",
              ["carol@demo.test"], cfg=own)
l1 = peel(out.stdout, "alice@demo.test", ["alice@demo.test", "carol@demo.test"])
l2 = peel(l1["inner"] or b"", "alice@demo.test")
t.ok(l1.get("dec") == "ok" and l1.get("readable") == "1,1" and l2.get("sig") == "valid" and
     l2.get("signer_aead") == "yes", "encrypt_to_sender: alice and carol both readable; signature valid, GCM "
     "announced", str(l1) + str(l2))

# ---- gpgsm ----
gh = p("gnupg")
os.makedirs(gh, mode=0o700)


def sha1fp(pem):
    return ossl("x509", "-in", pem, "-noout", "-fingerprint", "-sha1").stdout.decode().split("=")[1].strip()


write("gnupg/trustlist.txt", f"{sha1fp(p('localca.pem'))} S relax\n{sha1fp(p('peerca.pem'))} S relax\n")
write("gnupg/gpgsm.conf", "disable-crl-checks\ndisable-policy-checks\n")
write("gnupg/gpg-agent.conf", "allow-loopback-pinentry\n")


def gpgsm(*args, input=None):
    """gpgsm in batch mode; input goes through a file (gpgsm reads CMS from stdin unreliably),
    stdin carries the empty passphrase of the PKCS#12 files."""
    if input is not None:
        args = [*args, write("gpgsm.in", input)]
    return run(["gpgsm", "--homedir", gh, "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0",
                *args], input=b"\n")


for who in ("bob", "erin"):
    ossl("pkcs12", "-export", "-in", p(who + ".pem"), "-inkey", p(who + ".key"), "-certfile", p("peerca.pem"),
         "-passout", "pass:", "-out", p(who + ".p12"),
         # gpgsm 2.2 reads only the classic PKCS#12 algorithms, not OpenSSL 3's PBES2 default
         "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1")
gi = [gpgsm("--import", p(f)) for f in ("localca.pem", "peerca.pem", "bob.p12", "alice.pem", "carol.pem")]
t.ok(all(r.returncode == 0 for r in gi), "gpgsm imports both CAs, bob's key, alice and carol",
     b"".join(r.stderr for r in gi).decode(errors="replace"))
# gpgsm 2.2 (Debian 12) crashes importing an EC PKCS#12; the EC cases need it (GnuPG 2.4 works).
ge = gpgsm("--import", p("erin.p12"))
erin_key = ge.returncode == 0 and b"secret keys imported: 1" in ge.stderr

# What gpgsm 2.2 cannot do, by the words it says so with; any other failure fails the test.
GPGSM_LIMITS = [(b"error getting IV", "gpgsm 2.2 cannot read AuthEnvelopedData (AES-GCM)"),
                (b"error getting encrypted session key", "gpgsm 2.2 cannot decrypt RSAES-OAEP"),
                (b"Wrong key usage", "gpgsm 2.2 does not encrypt to keyAgreement (EC) certificates")]


def gpgsm_limit(r):
    for words, why in GPGSM_LIMITS:
        if r.returncode != 0 and words in r.stderr:
            return why
    return None


def gpgsm_open(msg, what):
    """gpgsm decrypts msg and verifies the multipart/signed inside."""
    d = gpgsm("--decrypt", input=cms_der(msg))
    if gpgsm_limit(d):
        t.skip(what, gpgsm_limit(d))
        return
    ent = d.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    ok = d.returncode == 0 and b"multipart/signed" in ent
    v = None
    if ok:
        content, sig = split_signed(ent)
        write("g.data", content)
        write("g.sig", sig)
        v = gpgsm("--verify", p("g.sig"), p("g.data"))
        ok = v.returncode == 0 and b"Good signature" in v.stderr
    t.ok(ok, what, (d.stderr + (v.stderr if v else b"")).decode(errors="replace"))


out = protect(MSG, "alice@demo.test", ["bob@example.org"])
gpgsm_open(out.stdout, "gpgsm decrypts (bob, RSA PKCS#1 v1.5, CBC) and verifies alice's (EC) signature")
out = protect(cm, "carol@demo.test", ["bob@example.org"], cfg=pss)
gpgsm_open(out.stdout, "gpgsm decrypts (bob) and verifies carol's RSA-PSS SHA-512 signature")
if erin_key:
    out = protect(ecm, "carol@demo.test", ["erin@example.org"])
    gpgsm_open(out.stdout, "gpgsm decrypts (erin, ECDH) and verifies carol's (RSA) signature")
else:
    t.skip("gpgsm decrypts (erin, ECDH)", "gpgsm 2.2 cannot import erin's EC PKCS#12")
out = protect(MSG, "alice@demo.test", ["bob@example.org"], cfg=gcm)
gpgsm_open(out.stdout, "gpgsm decrypts AES-256-GCM AuthEnvelopedData (bob)")
out = protect(MSG, "alice@demo.test", ["bob@example.org"], cfg=oaep)
gpgsm_open(out.stdout, "gpgsm decrypts RSAES-OAEP (bob)")

# gpgsm -> sealgate: opaque SignedData inside EnvelopedData, to carol (RSA) and alice (EC).
for signer, rcpt in (("bob@example.org", "carol@demo.test"), ("erin@example.org", "alice@demo.test"),
                     ("bob@example.org", "alice@demo.test")):
    what = f"gpgsm sign ({signer}) + encrypt to {rcpt}: sealgate decrypts and verifies"
    if signer.startswith("erin") and not erin_key:
        t.skip(what, "gpgsm 2.2 cannot import erin's EC PKCS#12")
        continue
    s = gpgsm("--sign", "--local-user", signer, input=CONTENT)
    e = gpgsm("--encrypt", "--recipient", rcpt, input=p7m(s.stdout, "signed-data"))
    if gpgsm_limit(e):
        t.skip(what, gpgsm_limit(e))
        continue
    l1 = peel(with_header(signer, rcpt, p7m(e.stdout, "enveloped-data")), signer, [rcpt])
    l2 = peel(l1["inner"] or b"", signer)
    t.ok(s.returncode == 0 and e.returncode == 0 and l1.get("dec") == "ok" and l2.get("sig") == "valid" and
         l2.get("from_match") == "yes" and l2.get("inner") == CONTENT, what,
         (s.stderr + e.stderr).decode(errors="replace") + str(l1) + str(l2))
s = gpgsm("--detach-sign", "--local-user", "bob@example.org", input=CONTENT)
b = "gpgsm-boundary"
cs = (f'MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; '
      f'micalg=sha-256; boundary="{b}"\r\n\r\n--{b}\r\n').encode() + CONTENT + \
    f"\r\n--{b}\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode() + \
    base64.encodebytes(s.stdout).replace(b"\n", b"\r\n") + f"\r\n--{b}--\r\n".encode()
l = peel(with_header("bob@example.org", "carol@demo.test", cs), "bob@example.org")
t.ok(s.returncode == 0 and l.get("sig") == "valid", "gpgsm detached signature in multipart/signed: valid",
     s.stderr.decode(errors="replace") + str(l))

t.ok(not sanitizer, "no sanitizer reports from sealgate or sg-engine", "\n".join(sanitizer[:10]))
run(["gpgconf", "--homedir", gh, "--kill", "all"])
t.done()
