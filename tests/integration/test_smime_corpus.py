#!/usr/bin/env python3
"""S/MIME corpus tables: third-party messages from ../shared/corpus (outside the repository)
peeled layer by layer by the S/MIME engine (tests/tools/sg-engine) at a fixed verification
time, each file's layers compared with the result its name or its source documents:
 - thunderbird-comm-central: NSS's S/MIME set (opaque and clear signatures with SHA-1/256/384/
   512, enveloped, sign-then-encrypt, encrypt-then-sign, Dave's outer signatures, .bad and
   .mismatch-econtent), Thunderbird's browser-test set, OpenSSL-made EnvelopedData for Fran
   (RSA-OAEP with label / SHA-256 / MGF, ECDH with AES-128 and AES-256);
 - autocrypt-protected-headers: the LAMPS samples, decrypted bytes compared with the .inner
   files shipped next to them; notmuch: the same samples and every other mail of its corpora
   (PGP/MIME, plain, broken: none of this engine's);
 - kde-mimetreeparser: real clients' S/MIME (Apple Mail, KMail, octet-stream .p7m, certs-only,
   S/MIME below the top level);
 - bouncycastle-bc-test-data: the RFC 4134 examples and ML-DSA SignedData.
Sealgate's verdicts differ from a mail client's on purpose in two places, both stated in the
expectations: SHA-1 signatures are `weak-digest`, and NSS's test certificates carry no
emailProtection EKU, so their good signatures verify but the certificate is `key-invalid`
(docs/x509.md). A missing corpus is a SKIP. Owner: src/cryptd (S/MIME)."""
import base64
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import smimetest  # noqa: E402
from sgtest import CORPUS, Tap, asan_binary  # noqa: E402

t = Tap()
TB = os.path.join(CORPUS, "thunderbird-comm-central")
NSS = os.path.join(TB, "mailnews", "test", "data", "smime")
BIN = asan_binary()
ENGINE = smimetest.engine_path(BIN)
tmp = tempfile.mkdtemp(prefix="sg-smime-corpus-")
CONF = os.path.join(tmp, "sg.conf")
with open(CONF, "w") as f:
    f.write(f'base_dir = "{tmp}/base";\n')
os.makedirs(os.path.join(tmp, "base"))
NSS_AT = 1769472000  # 2026-01-27 00:00 UTC: NSS certificates 2026-01-26 .. 2031-01-26
LAMPS_AT = 1574842528  # 2019-11-27, the LAMPS samples' date


def sg(*args):
    return smimetest.run([BIN, "-c", CONF, *args])


def imported(r, key=False):
    """Fingerprints the import reported (only those that came with their key when key)."""
    return [l.split()[1] for l in r.stdout.decode().splitlines()
            if l.startswith(("imported", "unchanged")) and (not key or l.endswith(" key"))]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def from_of(msg):
    m = re.search(rb"^From:.*?([\w.+-]+@[\w.-]+)", msg, re.M | re.I)
    return m.group(1).decode() if m else None


def walk(msg, frm, rcpt, at):
    """Layers of msg, outermost first, as (kind, dec or sig, reason, signer) tuples; the
    content of each layer is peeled next (decrypted entity, opaque content, first part of
    a clear-signed one). Also returns the innermost content."""
    layers, cur = [], msg
    for _ in range(8):
        d = smimetest.peel(ENGINE, CONF, cur, frm, [rcpt], at=at, scratch=tmp)
        if d.get("kind") in (None, "none"):
            break
        if d["kind"] == "encrypted":
            layers.append(("enc", d.get("dec"), d.get("reason"), ""))
            if d.get("dec") != "ok" or not d["inner"]:
                break
            cur = d["inner"]
        else:
            layers.append(("sig", d.get("sig"), d.get("sig_reason"), d.get("signer", "")))
            if d["inner"] is not None:
                cur = d["inner"]
            elif re.search(rb"^Content-Type:\s*multipart/signed", cur, re.M | re.I):
                cur = smimetest.split_signed(cur)[0]
            else:
                break  # opaque SignedData without content (RFC 4134 4.3 is detached)
    return layers, cur


def expected_nss(name, fprs):
    """The layers of alice.<content>.<layers>[.dave.<layers>][.bad|.mismatch-econtent].eml,
    outermost first (the name lists them inside out)."""
    tok = name[:-4].split(".")[1:]
    layers, signer, i = [], "alice", 0
    while i < len(tok):
        w = tok[i]
        if w == "env":
            layers.append(("enc", "ok", "", ""))
        elif w in ("sig", "dsig"):
            if tok[i + 1] == "SHA1":  # refused before anything is verified: no signer named
                layers.append(("sig", "invalid", "weak-digest", ""))
            elif w == "dsig" and i > 0 and tok[i - 1] == "env":
                # NSS's local-gen.sh re-enveloped the content after signing it: the clear
                # signature over an enveloped part does not match (openssl agrees, below).
                layers.append(("sig", "invalid", "bad-signature", ""))
            else:
                layers.append(("sig", "invalid", "key-invalid", fprs[signer]))
            i += 2
        elif w == "dave":
            signer = "dave"
        elif w in ("bad", "mismatch-econtent"):
            k, s, r, f = layers[-1]
            if r != "weak-digest":  # the digest is refused before anything is verified
                layers[-1] = (k, s, "bad-signature", "")
        i += 1
    return list(reversed(layers))


if not os.path.isdir(NSS):
    t.skip("S/MIME corpus", f"{CORPUS} not present")
    t.done()

# ---- Thunderbird / NSS ----
ca = imported(sg("cert", "import", os.path.join(NSS, "TestCA.pem")))
fprs = {}
for who in ("Alice", "Bob", "Dave"):
    got = imported(sg("cert", "import", os.path.join(NSS, who + ".p12"), "--password", "nss"), key=True)
    fprs[who.lower()] = got[0] if got else "?"
tr = sg("cert", "trust", ca[0]) if ca else None
t.ok(ca and tr.returncode == 0 and len(fprs) == 3, "NSS TestCA trusted; Alice, Bob, Dave with keys", str(fprs))

files = sorted(f for f in os.listdir(NSS) if f.startswith("alice.") and f.endswith(".eml"))
rows = []
for f in files:
    msg = read(os.path.join(NSS, f))
    got, _ = walk(msg, from_of(msg), "Bob@example.com", NSS_AT)
    want = expected_nss(f, fprs)
    rows.append((f, got == want))
    t.ok(got == want, f"NSS {f}: " + " / ".join(f"{k} {s} {r}".strip() for k, s, r, _ in got), f"want {want}")
print(f"# NSS table: {sum(ok for _, ok in rows)} of {len(rows)} files give their expected layers")
env_dsig = read(os.path.join(NSS, "alice.env.dsig.SHA256.multipart.eml"))
r = smimetest.run(["openssl", "cms", "-verify", "-noverify", "-out", "/dev/null"], input=env_dsig)
t.ok(r.returncode != 0 and b"verification failure" in r.stderr,
     "openssl cms also rejects the clear signature over the re-enveloped part (alice.env.dsig.*)", r.stderr.decode())

# Thunderbird's browser-test messages (same CA and keys): top-level layers and content.
BROWSER = os.path.join(TB, "mail", "test", "browser", "smime", "data")



def named(layers):
    """Layers with "a signer was named" in place of the fingerprint: that set's messages come
    from several generations of Alice's certificate (all under the same test CA)."""
    return [(k, s, r, bool(f)) for k, s, r, f in layers]


for f in sorted(os.listdir(BROWSER)):
    if not f.startswith("alice.") or ".in.mixed" in f or not f.endswith(".eml"):
        continue
    msg = read(os.path.join(BROWSER, f))
    got, inner = walk(msg, from_of(msg), "Bob@example.com", NSS_AT)
    want = expected_nss(f, fprs)
    t.ok(named(got) == named(want) and b"Content-Type" in inner, f"Thunderbird browser {f}", f"{got} want {want}")
for f in ("alice.dsig.SHA256.multipart.in.mixed.eml", "multipart-alternative.eml"):
    got, _ = walk(read(os.path.join(BROWSER, f)), "Alice@example.com", "Bob@example.com", NSS_AT)
    t.ok(got == [], f"Thunderbird browser {f}: S/MIME below the top level is not this layer's", str(got))

# OpenSSL-made EnvelopedData for Fran: RSA-OAEP variants and ECDH.
INTEROP = os.path.join(TB, "mailnews", "test", "data", "smime-interop")
fran = [imported(sg("cert", "import", os.path.join(INTEROP, p), "--password", "nss"), key=True)
        for p in ("Fran.p12", "Fran-ec.p12")]
for f in sorted(x for x in os.listdir(INTEROP) if x.endswith(".env")):
    # The certificates say Fran@ and Fran-ec@example.com; local parts compare exactly (x509.md).
    d = smimetest.peel(ENGINE, CONF, read(os.path.join(INTEROP, f)), None,
                       ["Fran@example.com", "Fran-ec@example.com"], scratch=tmp)
    want = "0,1" if "-ec_" in f else "1,0"
    t.ok(all(fran) and d.get("kind") == "encrypted" and d.get("dec") == "ok" and d.get("readable") == want and
         d["inner"] and b"test message to Fran" in d["inner"], f"smime-interop {f}: decrypted for Fran",
         str(d)[:300])

# ---- the LAMPS samples (autocrypt-protected-headers) ----
LAMPS = os.path.join(CORPUS, "autocrypt-protected-headers")
if os.path.isdir(LAMPS):
    p12 = read(os.path.join(LAMPS, "bob.p12"))
    body = b"".join(l for l in p12.splitlines() if not l.startswith(b"-----"))
    with open(os.path.join(tmp, "lamps-bob.p12"), "wb") as f:  # PEM-armored PKCS#12: DER inside
        f.write(base64.b64decode(body))
    lca = imported(sg("cert", "import", os.path.join(LAMPS, "sample-ca.pem")))
    bob = imported(sg("cert", "import", os.path.join(tmp, "lamps-bob.p12"), "--password", "bob"), key=True)
    ok = lca and bob and sg("cert", "trust", lca[0]).returncode == 0
    t.ok(ok, "LAMPS sample CA trusted, Bob's key imported", str(lca) + str(bob))
    for name in sorted(x[:-4] for x in os.listdir(LAMPS) if x.startswith("smime-") and x.endswith(".eml")):
        msg = read(os.path.join(LAMPS, name + ".eml"))
        layers, cur, want_layers = [], msg, []
        # The .inner files are what each layer yields (LF line ends as shipped).
        d = smimetest.peel(ENGINE, CONF, msg, from_of(msg), ["bob@smime.example"], at=LAMPS_AT, scratch=tmp)
        layers.append((d.get("kind"), d.get("dec") or d.get("sig")))
        same = True
        level, inner = name + ".inner", d["inner"]
        while os.path.exists(os.path.join(LAMPS, level)) and inner is not None:
            same = same and inner.replace(b"\r\n", b"\n") == read(os.path.join(LAMPS, level)).replace(b"\r\n", b"\n")
            d = smimetest.peel(ENGINE, CONF, inner, from_of(msg), ["bob@smime.example"], at=LAMPS_AT, scratch=tmp)
            layers.append((d.get("kind"), d.get("dec") or d.get("sig")))
            level, inner = level + ".inner", d["inner"]
        good = all(s in ("ok", "valid") for k, s in layers if k != "none")
        t.ok(good and same and layers[0][0] != "none", f"LAMPS {name}: " +
             " / ".join(f"{k} {s}" for k, s in layers if k != "none") + "; decrypted bytes equal the .inner files",
             str(layers))

# ---- notmuch: the same LAMPS samples, its own opaque-signed test mail, and everything else ----
NOTMUCH = os.path.join(CORPUS, "notmuch", "test", "corpora")
if os.path.isdir(NOTMUCH):
    for root, _, names in sorted(os.walk(NOTMUCH)):
        for n in sorted(names):
            if n == "README":
                continue
            rel = os.path.relpath(os.path.join(root, n), NOTMUCH)
            msg = read(os.path.join(root, n))
            got, _ = walk(msg, from_of(msg), "bob@smime.example", LAMPS_AT)
            kinds = [(k, st) for k, st, _, _ in got]
            if rel.startswith("protected-headers/smime-"):
                want = {"smime-onepart-signed.eml": [("sig", "valid")],
                        "smime-multipart-signed.eml": [("sig", "valid")],
                        "smime-enc+legacy-disp.eml": [("enc", "ok")]}.get(n, [("enc", "ok"), ("sig", "valid")])
            elif rel.startswith("pkcs7/"):
                want = [("sig", "valid")]  # the LAMPS one-part sample again
            else:
                want = []  # PGP/MIME, plain, broken: not the S/MIME engine's
            t.ok(kinds == want,
                 f"notmuch {rel}: " + (" / ".join(f"{k} {st} {r}".strip() for k, st, r, _ in got) or "none"), str(got))

# ---- KDE mimetreeparser: real clients' S/MIME (Apple Mail, KMail, octet-stream .p7m) ----
# Their key is RSA-1024, which the certificate store refuses (docs/x509.md): encrypted mail is
# no-key, signatures name no stored certificate; SHA-1 (Apple Mail 2013) is weak-digest.
KDE = os.path.join(CORPUS, "kde-mimetreeparser", "autotests", "testdata")
KDE_WANT = {"smime-cert.mbox": [], "smime-encrypted-ambiguous-mime.mbox": [],
            "smime-encrypted-not-so-ambiguous-mime.mbox": [],
            "smime-encrypted-octet-stream.mbox": [("enc", "no-key", "no-key")],
            "smime-encrypted.mbox": [("enc", "no-key", "no-key")],
            "smime-opaque-enc+sign.mbox": [("enc", "no-key", "no-key")],
            "smime-opaque-signed-encrypted-attachment.mbox": [("enc", "no-key", "no-key")],
            "smime-signed-encrypted.mbox": [("enc", "no-key", "no-key")],
            "smime-opaque-sign.mbox": [("sig", "invalid", "weak-digest")],
            "smime-signed-apple.mbox": [("sig", "invalid", "weak-digest")],
            "smime-signed-charset.mbox": [("sig", "invalid", "unknown-key")]}
if os.path.isdir(KDE):
    for n, want in sorted(KDE_WANT.items()):
        msg = read(os.path.join(KDE, n))
        msg = msg.split(b"\n", 1)[1] if msg.startswith(b"From ") else msg  # mbox separator line
        got, _ = walk(msg, "test@example.com", "test@example.com", 1338508800)  # 2012, in validity
        t.ok([(k, st, r) for k, st, r, _ in got] == want,
             f"KDE {n}: " + (" / ".join(f"{k} {st} {r}".strip() for k, st, r, _ in got) or "none"), str(got))

# ---- RFC 4134 examples and ML-DSA SignedData (bouncycastle-bc-test-data) ----
# 1999 algorithms: SHA-1 signatures are weak-digest; Bob's RSA-1024 key cannot be stored, so the
# EnvelopedData (3DES, RC2) is no-key; Data, DigestedData, EncryptedData and certs-only are not
# S/MIME protection. OpenSSL 3.0 does not know ML-DSA: those signatures do not verify.
BC = os.path.join(CORPUS, "bouncycastle-bc-test-data")
if os.path.isdir(BC):
    def rfc4134_want(n):
        sec = n.rsplit(".", 1)[0]
        if sec.startswith("4.") and sec != "4.11":
            return [("sig", "invalid", "weak-digest")]
        if sec.startswith("5."):
            return [("enc", "no-key", "no-key")]
        return []
    files = sorted(os.listdir(os.path.join(BC, "rfc4134")))
    for n in [f for f in files if f.endswith((".bin", ".eml"))]:
        data = read(os.path.join(BC, "rfc4134", n))
        msg = data if n.endswith(".eml") else smimetest.p7m(data, "signed-data")
        got, _ = walk(msg, "AliceRSA@example.com", "BobRSA@example.com", 1000000000)
        t.ok([(k, st, r) for k, st, r, _ in got] == rfc4134_want(n),
             f"RFC 4134 {n}: " + (" / ".join(f"{k} {st} {r}".strip() for k, st, r, _ in got) or "none"), str(got))
    for n in sorted(os.listdir(os.path.join(BC, "pkix", "cms", "mldsa"))):
        pem = read(os.path.join(BC, "pkix", "cms", "mldsa", n))
        b64 = pem.split(b"-----BEGIN CMS-----")[1].split(b"-----END CMS-----")[0]
        got, _ = walk(smimetest.p7m(base64.b64decode(re.sub(rb"\s", b"", b64)), "signed-data"), "x@example.com",
                      "x@example.com", None)
        t.ok(len(got) == 1 and got[0][:2] == ("sig", "invalid"), f"ML-DSA {n}: " +
             " / ".join(f"{k} {st} {r}".strip() for k, st, r, _ in got), str(got))

t.ok(not smimetest.sanitizer, "no sanitizer reports", "\n".join(smimetest.sanitizer[:10]))
t.done()
