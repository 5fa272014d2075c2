#!/usr/bin/env python3
"""`sealgate cert` and `sealgate ca` against real X.509 peers: certificates, PKCS#12 (legacy
RC2-40 too), keys in files of their own and PKCS#7 made by the openssl command import as
expected (weak and garbage input rejected, a key that is not the certificate's refused); `cert
trust FILE` and `cert import --trust`; the
local CA's certificates pass `openssl verify -purpose smimesign/smimeencrypt`, work with
`openssl cms` and validate in gpgsm; revocation reaches openssl through the CRL. Owner: src/keys."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary  # noqa: E402

t = Tap()
gw = Gateway(sink=False, next_hop="127.0.0.1:1", binary=asan_binary())
tmp = tempfile.mkdtemp(prefix="sg-certs-")
cli_errors = []


def p(name):
    return os.path.join(tmp, name)


def ossl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=120, cwd=tmp)


def sg(*args, input=None):
    r = subprocess.run([gw.binary, "-c", gw.conf, *args], input=input, capture_output=True, timeout=60)
    out = subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(errors="replace"),
                                      r.stderr.decode(errors="replace"))
    cli_errors.extend(l for l in out.stderr.splitlines() if "Sanitizer" in l or "runtime error:" in l)
    return out


def lines(r):
    return [l for l in r.stdout.splitlines() if l.strip()]


def write(name, data):
    with open(p(name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return p(name)


def fpr_of(pem):
    r = ossl("x509", "-in", pem, "-noout", "-fingerprint", "-sha256")
    return r.stdout.decode().strip().split("=", 1)[1].replace(":", "")


EXT = """[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ee]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[eeec]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::SAN}
"""


def make(name, subj, keyalg, issuer=None, ext="ee", san="x@example.org"):
    """Key and certificate by the openssl command; issuer is a name made before."""
    key, crt = p(name + ".key"), p(name + ".pem")
    ossl("genpkey", *keyalg, "-out", key)
    env = dict(os.environ, SAN=san)
    if issuer is None:
        args = ["req", "-new", "-x509", "-key", key, "-subj", subj, "-days", "365", "-sha256",
                "-config", p("ext.cnf"), "-extensions", ext, "-out", crt]
    else:
        csr = p(name + ".csr")
        subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", subj, "-out", csr,
                        "-config", p("req.cnf")], capture_output=True, cwd=tmp, env=env)
        args = ["x509", "-req", "-in", csr, "-CA", p(issuer + ".pem"), "-CAkey", p(issuer + ".key"),
                "-CAcreateserial", "-days", "200", "-sha256", "-extfile", p("ext.cnf"), "-extensions", ext,
                "-out", crt]
    r = subprocess.run(["openssl", *args], capture_output=True, cwd=tmp, env=env)
    return crt if r.returncode == 0 and os.path.exists(crt) else None


RSA2048 = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
EC256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]

try:
    write("ext.cnf", EXT)
    write("req.cnf", "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n")
    # ---- certificates made by openssl ----
    root = make("root", "/CN=Test Root", RSA2048, ext="ca")
    inter = make("inter", "/CN=Test Intermediate", RSA2048, issuer="root", ext="ca")
    alice = make("alice", "/CN=Alice", RSA2048, issuer="inter", san="alice@example.org")
    carol = make("carol", "/CN=Carol", EC256, issuer="inter", ext="eeec", san="carol@example.org")
    t.ok(all([root, inter, alice, carol]), "openssl made root, intermediate, RSA-2048 and EC P-256 certificates")

    r = sg("cert", "import", root, inter, alice)
    out = lines(r)
    t.ok(r.returncode == 0 and len(out) == 3 and all(l.startswith("imported ") for l in out),
         "root, intermediate and end-entity import", r.stdout + r.stderr)
    t.ok(fpr_of(alice) in r.stdout and "CN=Alice" in r.stdout, "import line has the SHA-256 fingerprint and subject",
         r.stdout)
    r = sg("cert", "import", alice)
    t.ok(lines(r) and lines(r)[0].startswith("unchanged " + fpr_of(alice)), "importing again: unchanged", r.stdout)

    both = write("carol-both.pem", open(carol).read() + open(p("carol.key")).read())
    r = sg("cert", "import", both)
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("imported ") and lines(r)[0].split()[-1] == "key",
         "EC certificate with its PKCS#8 key in one PEM: imported with key", r.stdout + r.stderr)

    # An encrypted PKCS#8 key (with --password) and a traditional RSA key, each with its cert.
    ossl("pkcs8", "-topk8", "-v2", "aes256", "-in", "alice.key", "-passout", "pass:pw", "-out", "alice-enc.key")
    r = sg("cert", "import", "--password", "pw", write("alice-enc.pem", open(alice).read()
                                                          + open(p("alice-enc.key")).read()))
    t.ok(r.returncode == 0 and lines(r) and lines(r)[0].startswith("imported " + fpr_of(alice))
         and lines(r)[0].endswith(" key"), "encrypted PKCS#8 key with --password: key taken", r.stdout + r.stderr)
    sg("cert", "delete", fpr_of(alice))
    ossl("pkey", "-in", "alice.key", "-traditional", "-out", "alice-trad.key")
    trad = open(p("alice-trad.key")).read()
    r = sg("cert", "import", write("alice-trad.pem", open(alice).read() + trad))
    t.ok("BEGIN RSA PRIVATE KEY" in trad and r.returncode == 0 and lines(r) and lines(r)[0].endswith(" key"),
         "traditional RSA PRIVATE KEY: key taken", r.stdout + r.stderr)
    sg("cert", "delete", fpr_of(alice))
    r = sg("cert", "import", p("carol.key"))
    t.ok(lines(r) and lines(r)[0].startswith("rejected -") and "without its certificate" in r.stdout,
         "a private key alone: rejected", r.stdout + r.stderr)
    r = sg("cert", "import", alice)
    t.ok(lines(r) and lines(r)[0].startswith("imported ") and not lines(r)[0].endswith(" key"),
         "certificate again without key", r.stdout + r.stderr)

    # PKCS#12 with password: key, certificate and chain.
    ossl("pkcs12", "-export", "-in", alice, "-inkey", p("alice.key"), "-certfile", inter, "-passout", "pass:s3cret",
         "-out", p("alice.p12"))
    r = sg("cert", "import", p("alice.p12"))
    t.ok(lines(r) and all(l.startswith("rejected") for l in lines(r)) and "password" in r.stdout,
         "PKCS#12 without the password: rejected", r.stdout + r.stderr)
    r = sg("cert", "import", "--password", "s3cret", p("alice.p12"))
    t.ok(r.returncode == 0 and any(l.startswith("imported " + fpr_of(alice)) and l.endswith(" key") for l in lines(r))
         and any(l.startswith("unchanged " + fpr_of(inter)) for l in lines(r)),
         "PKCS#12 with password: the key is taken, the chain is known", r.stdout + r.stderr)

    # Legacy PKCS#12 (RC2-40 certificates, 3DES key: `-legacy`, what older CAs and Windows
    # exports write) and one with RC2-40 for the key too; Debian 12's default is AES (above).
    dora = make("dora", "/CN=Dora", RSA2048, issuer="inter", san="dora@example.org")
    r1 = ossl("pkcs12", "-export", "-legacy", "-in", dora, "-inkey", p("dora.key"), "-passout", "pass:old",
              "-out", p("dora-legacy.p12"))
    r2 = ossl("pkcs12", "-export", "-provider", "legacy", "-provider", "default", "-certpbe", "PBE-SHA1-RC2-40",
              "-keypbe", "PBE-SHA1-RC2-40", "-in", dora, "-inkey", p("dora.key"), "-passout", "pass:old",
              "-out", p("dora-rc2.p12"))
    info = ossl("pkcs12", "-info", "-noout", "-legacy", "-in", p("dora-legacy.p12"), "-passin", "pass:old")
    t.ok(r1.returncode == 0 and r2.returncode == 0 and b"RC2-CBC" in info.stdout + info.stderr,
         "openssl made legacy PKCS#12 files (RC2-40)", (r1.stderr + r2.stderr + info.stderr).decode())
    for f in ("dora-legacy.p12", "dora-rc2.p12"):
        r = sg("cert", "import", "--password", "old", p(f))
        t.ok(r.returncode == 0 and lines(r) and lines(r)[0] == f"imported {fpr_of(dora)} CN=Dora key",
             f"legacy PKCS#12 {f}: imported with its key", r.stdout + r.stderr)
        sg("cert", "delete", fpr_of(dora))
    r = sg("cert", "import", "--password", "wrong", p("dora-legacy.p12"))
    t.ok(r.returncode == 1 and "wrong password" in r.stdout and fpr_of(dora) not in sg("cert", "list").stdout,
         "legacy PKCS#12 with a wrong password: refused, exit status 1", r.stdout + r.stderr)

    # A certificate and its key in two files, in one call; the key may be PEM, DER, encrypted.
    r = sg("cert", "import", dora, p("dora.key"))
    t.ok(r.returncode == 0 and lines(r) == [f"imported {fpr_of(dora)} CN=Dora key"],
         "cert import CERT KEY: the certificate with its key", r.stdout + r.stderr)
    sg("cert", "delete", fpr_of(dora))
    ossl("pkcs8", "-topk8", "-nocrypt", "-in", "dora.key", "-outform", "DER", "-out", "dora-key.der")
    ossl("pkcs8", "-topk8", "-v2", "aes256", "-in", "dora.key", "-passout", "pass:kp", "-out", "dora-enc.key")
    ossl("pkey", "-in", "dora.key", "-traditional", "-aes256", "-passout", "pass:kp", "-out", "dora-trad.key")
    for key, pw in (("dora-key.der", []), ("dora-enc.key", ["--password", "kp"]), ("dora-trad.key", ["--password", "kp"])):
        r = sg("cert", "import", *pw, p(key), dora)
        t.ok(r.returncode == 0 and lines(r) == [f"imported {fpr_of(dora)} CN=Dora key"],
             f"cert import KEY CERT with {key}: imported with the key", r.stdout + r.stderr)
        sg("cert", "delete", fpr_of(dora))
    r = sg("cert", "import", dora, p("dora-enc.key"))
    t.ok(r.returncode == 1 and "--password" in r.stdout and fpr_of(dora) not in sg("cert", "list").stdout,
         "an encrypted key without --password: refused, the certificate is not imported without it",
         r.stdout + r.stderr)
    r = sg("cert", "import", dora, p("carol.key"))
    t.ok(r.returncode == 1 and "carol.key: private key matches none of the certificates given" in r.stdout
         and f"rejected {fpr_of(dora)}" in r.stdout and fpr_of(dora) not in sg("cert", "list").stdout,
         "CERT with a key that is not its own: refused with a clear message, nothing stored", r.stdout + r.stderr)
    r = sg("cert", "import", dora, p("no-such.key"))
    t.ok(r.returncode == 1 and "nothing imported" in r.stderr and fpr_of(dora) not in sg("cert", "list").stdout,
         "an unreadable file: nothing of the call imported", r.stdout + r.stderr)

    # PKCS#7 bundles, PEM and DER, and a DER certificate from standard input.
    ossl("crl2pkcs7", "-nocrl", "-certfile", root, "-certfile", inter, "-out", p("chain.p7b"))
    ossl("crl2pkcs7", "-nocrl", "-certfile", carol, "-outform", "DER", "-out", p("carol.p7c"))
    r = sg("cert", "import", p("chain.p7b"), p("carol.p7c"))
    t.ok(r.returncode == 0 and len(lines(r)) == 3 and all(l.startswith("unchanged") for l in lines(r)),
         ".p7b (PEM) and .p7c (DER) bundles are read", r.stdout + r.stderr)
    der = ossl("x509", "-in", root, "-outform", "DER").stdout
    r = sg("cert", "import", "-", input=der)
    t.ok(lines(r) and lines(r)[0].startswith("unchanged " + fpr_of(root)), "DER certificate on standard input",
         r.stdout + r.stderr)

    weak = make("weak", "/CN=Weak", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], issuer="inter",
                san="weak@example.org")
    r = sg("cert", "import", weak)
    t.ok(weak and lines(r) and lines(r)[0].startswith("rejected") and "2048" in r.stdout, "RSA-1024: rejected",
         r.stdout + r.stderr)
    r = sg("cert", "import", write("garbage.pem", b"\x00\x01garbage\xff" * 20))
    t.ok(lines(r) and lines(r)[0].startswith("rejected -"), "garbage: rejected", r.stdout + r.stderr)

    # ---- list, show, export, trust ----
    r = sg("cert", "list", "--address", "alice@EXAMPLE.org")
    t.ok(r.returncode == 0 and len(lines(r)) == 1 and fpr_of(alice) in r.stdout and "[K]" in r.stdout,
         "list --address: the one certificate, key held", r.stdout + r.stderr)
    r = sg("cert", "show", fpr_of(alice))
    t.ok(r.returncode == 0 and "alice@example.org" in r.stdout and "emailProtection" in r.stdout
         and "CN=Test Intermediate" in r.stdout and "held" in r.stdout, "show: issuer, address, usage, key",
         r.stdout + r.stderr)
    r = sg("cert", "export", fpr_of(alice))
    t.ok(r.returncode == 0 and r.stdout == open(alice).read(), "export returns the same PEM")
    r = sg("cert", "show", "00" * 32)
    t.ok(r.returncode != 0 and "no such certificate" in r.stderr, "show of an unknown fingerprint", r.stderr)
    r = sg("cert", "trust", fpr_of(alice))
    t.ok(r.returncode != 0 and "CA" in r.stderr, "trust of an end-entity certificate is refused", r.stderr)
    r = sg("cert", "trust", fpr_of(root))
    t.ok(r.returncode == 0 and "[trusted]" in sg("cert", "list").stdout, "trust of the root", r.stdout + r.stderr)
    r = sg("cert", "untrust", fpr_of(root))
    t.ok(r.returncode == 0 and "[trusted]" not in sg("cert", "list").stdout, "untrust of the root")

    # cert trust FILE, and cert import --trust (import and trust in one step).
    r = sg("cert", "trust", root)
    t.ok(r.returncode == 0 and lines(r) == [f"trusted {fpr_of(root)}"] and "[trusted]" in sg("cert", "list").stdout,
         "cert trust FILE: the root in the file becomes a trust anchor", r.stdout + r.stderr)
    r = sg("cert", "untrust", root)
    t.ok(r.returncode == 0 and "[trusted]" not in sg("cert", "list").stdout, "cert untrust FILE", r.stdout + r.stderr)
    r = sg("cert", "trust", alice)
    t.ok(r.returncode != 0 and "CA" in r.stderr, "cert trust FILE of an end-entity certificate: refused", r.stderr)
    r = sg("cert", "trust", p("chain.p7b"))
    t.ok(r.returncode != 0 and "[trusted]" not in sg("cert", "list").stdout, "cert trust of a file that is no single "
         "certificate: refused", r.stdout + r.stderr)
    other = make("other", "/CN=Other Root", RSA2048, ext="ca")
    r = sg("cert", "trust", other)
    t.ok(r.returncode != 0 and "not in the store" in r.stderr and "cert import --trust" in r.stderr,
         "cert trust FILE of an unknown certificate: says how to import and trust it", r.stderr)
    r = sg("cert", "import", "--trust", other)
    out = [l for l in lines(sg("cert", "list")) if l.startswith(fpr_of(other))]
    t.ok(r.returncode == 0 and lines(r) == [f"imported {fpr_of(other)} CN=Other Root trusted"]
         and out and "[trusted]" in out[0], "cert import --trust: imported and a trust anchor", r.stdout + r.stderr)
    r = sg("cert", "import", "--trust", dora)
    out = [l for l in lines(sg("cert", "list")) if l.startswith(fpr_of(dora))]
    t.ok(r.returncode == 1 and "not a CA certificate" in r.stdout and out and "[trusted]" not in out[0],
         "cert import --trust of an end-entity certificate: imported, not trusted, exit status 1", r.stdout + r.stderr)
    sg("cert", "delete", fpr_of(other))
    sg("cert", "delete", fpr_of(dora))

    # ---- the local CA ----
    r = sg("ca", "init", "--subject", "CN=Demo Mail CA,O=demo")
    cafpr = r.stdout.strip()
    t.ok(r.returncode == 0 and len(cafpr) == 64, "ca init prints the CA fingerprint", r.stdout + r.stderr)
    write("ca.pem", sg("ca", "export").stdout)
    r = sg("ca", "issue", "bob@demo.test", "--usage", "both")
    bob = r.stdout.strip()
    t.ok(r.returncode == 0 and len(bob) == 64, "ca issue bob@demo.test --usage both", r.stdout + r.stderr)
    write("bob.pem", sg("cert", "export", bob).stdout)
    r = ossl("verify", "-CAfile", "ca.pem", "-purpose", "smimesign", "bob.pem")
    t.ok(r.returncode == 0, "openssl verify -purpose smimesign: OK (EC)", (r.stdout + r.stderr).decode())
    r = sg("ca", "issue", "rob@demo.test", "--usage", "both", "--rsa")
    rob = r.stdout.strip()
    write("rob.pem", sg("cert", "export", rob).stdout)
    r = ossl("verify", "-CAfile", "ca.pem", "-purpose", "smimeencrypt", "rob.pem")
    t.ok(r.returncode == 0, "openssl verify -purpose smimeencrypt: OK (RSA)", (r.stdout + r.stderr).decode())
    r = ossl("verify", "-CAfile", "ca.pem", "-purpose", "smimesign", "rob.pem")
    t.ok(r.returncode == 0, "openssl verify -purpose smimesign: OK (RSA)", (r.stdout + r.stderr).decode())
    txt = ossl("x509", "-in", "bob.pem", "-noout", "-text").stdout.decode()
    t.ok("email:bob@demo.test" in txt and "E-mail Protection" in txt and "Key Agreement" in txt
         and "CA:FALSE" in txt and "Authority Key Identifier" in txt, "bob's certificate profile", txt)

    # openssl cms with the issued certificates and the keys from `cert export --key`.
    write("msg.txt", "Subject: hi\r\n\r\nhello bob\r\n")
    for who, fp in (("bob", bob), ("rob", rob)):
        write(who + ".key", sg("cert", "export", fp, "--key").stdout)
        r = ossl("cms", "-sign", "-in", "msg.txt", "-signer", who + ".pem", "-inkey", who + ".key", "-out",
                 who + ".sig")
        v = ossl("cms", "-verify", "-in", who + ".sig", "-CAfile", "ca.pem", "-purpose", "smimesign")
        t.ok(r.returncode == 0 and v.returncode == 0 and b"hello bob" in v.stdout, f"openssl cms sign/verify ({who})",
             (r.stderr + v.stderr).decode())
        r = ossl("cms", "-encrypt", "-aes256", "-in", "msg.txt", "-out", who + ".enc", who + ".pem")
        d = ossl("cms", "-decrypt", "-in", who + ".enc", "-recip", who + ".pem", "-inkey", who + ".key")
        t.ok(r.returncode == 0 and d.returncode == 0 and b"hello bob" in d.stdout,
             f"openssl cms encrypt/decrypt ({who})", (r.stderr + d.stderr).decode())

    # gpgsm: imports the CA and bob, validates once the CA is in trustlist.txt.
    gh = p("gnupg")
    os.makedirs(gh, mode=0o700)
    cafp_sha1 = ossl("x509", "-in", "ca.pem", "-noout", "-fingerprint", "-sha1").stdout.decode().split("=")[1].strip()
    write("gnupg/trustlist.txt", f"{cafp_sha1} S relax\n")
    write("gnupg/gpgsm.conf", "disable-crl-checks\ndisable-policy-checks\n")

    def gpgsm(*args):
        return subprocess.run(["gpgsm", "--homedir", gh, "--batch", *args], capture_output=True, timeout=120)

    r1, r2 = gpgsm("--import", p("ca.pem")), gpgsm("--import", p("rob.pem"))
    r3 = gpgsm("--import", p("bob.pem"))
    t.ok(r1.returncode == 0 and r2.returncode == 0, "gpgsm imports the CA and rob's certificate",
         (r1.stderr + r2.stderr).decode())
    lv = gpgsm("--with-colons", "--with-validation", "--list-keys", "rob@demo.test")
    recs = [l.split(":") for l in lv.stdout.decode().splitlines() if l.startswith("crt:")]
    t.ok(lv.returncode == 0 and recs and recs[0][1] not in ("i", "r", "e", "n", "d"),
         "gpgsm --with-validation: rob's RSA certificate valid", (lv.stdout + lv.stderr).decode())
    lv = gpgsm("--with-colons", "--with-validation", "--list-keys", "bob@demo.test")
    recs = [l.split(":") for l in lv.stdout.decode().splitlines() if l.startswith("crt:")]
    t.ok(r3.returncode == 0 and lv.returncode == 0 and recs and recs[0][1] not in ("i", "r", "e", "n", "d"),
         "gpgsm --with-validation: bob's EC certificate valid", (r3.stderr + lv.stdout + lv.stderr).decode())

    # ---- revocation ----
    r = sg("ca", "revoke", bob)
    t.ok(r.returncode == 0, "ca revoke", r.stdout + r.stderr)
    r = sg("ca", "revoke", fpr_of(alice))
    t.ok(r.returncode != 0 and "not issued" in r.stderr, "revoking a foreign certificate is refused", r.stderr)
    r = sg("ca", "crl")
    crl = os.path.join(gw.base, "ca", "crl.pem")
    t.ok(r.returncode == 0 and os.path.exists(crl), "ca crl writes <base_dir>/ca/crl.pem", r.stdout + r.stderr)
    serial = ossl("x509", "-in", "bob.pem", "-noout", "-serial").stdout.decode().strip().split("=")[1]
    txt = ossl("crl", "-in", crl, "-noout", "-text").stdout.decode()
    t.ok(serial.upper() in txt.upper().replace(":", "") and "CRL Number" in txt and "Next Update" in txt,
         "openssl crl lists the serial, CRL number, next update", txt)
    r = ossl("verify", "-crl_check", "-CRLfile", crl, "-CAfile", "ca.pem", "bob.pem")
    t.ok(r.returncode != 0 and b"revoked" in r.stdout + r.stderr, "openssl verify -crl_check: bob revoked",
         (r.stdout + r.stderr).decode())
    r = ossl("verify", "-crl_check", "-CRLfile", crl, "-CAfile", "ca.pem", "rob.pem")
    t.ok(r.returncode == 0, "openssl verify -crl_check: rob still OK", (r.stdout + r.stderr).decode())
    r = sg("ca", "crl", "--out", p("crl2.pem"))
    num = ossl("crl", "-in", "crl2.pem", "-noout", "-crlnumber").stdout.decode().strip()
    t.ok(r.returncode == 0 and num.lower() in ("crlnumber=0x02", "crlnumber=02", "crlnumber=2"),
         "a second CRL (--out FILE) has CRL number 2", r.stdout + r.stderr + num)

    # ---- learned certificates: marked in the list; the admin importing one makes it ordinary ----
    db = sqlite3.connect(os.path.join(gw.base, "store", "sealgate.db"))
    db.execute("UPDATE x509_certs SET learned = 1 WHERE fpr = ?", (fpr_of(carol),))  # as sg_certstore_learn does
    db.commit()
    db.close()
    line = [l for l in lines(sg("cert", "list")) if l.startswith(fpr_of(carol))]
    t.ok(line and line[0].endswith("[learned]"), "cert list marks a learned certificate [learned]", str(line))
    r = sg("cert", "import", carol)
    line = [l for l in lines(sg("cert", "list")) if l.startswith(fpr_of(carol))]
    t.ok(lines(r) and lines(r)[0].startswith("imported ") and line and "[learned]" not in line[0],
         "the admin importing it: imported, no longer learned", r.stdout + str(line))

    # ---- delete ----
    r = sg("cert", "delete", fpr_of(carol))
    t.ok(r.returncode == 0 and fpr_of(carol) not in sg("cert", "list").stdout, "delete", r.stdout + r.stderr)
    r = sg("cert", "delete", fpr_of(carol))
    t.ok(r.returncode != 0 and "no such certificate" in r.stderr, "delete again: no such certificate", r.stderr)

    # No private key in the clear in any file of the base directory (db, WAL, ...): the whole
    # PKCS#8 DER, and for RSA a 32-byte slice from the middle (private exponent and primes).
    files = [os.path.join(d, f) for d, _, fs in os.walk(gw.base) for f in fs]
    raw = b"".join(open(f, "rb").read() for f in files)
    bobder = ossl("pkey", "-in", "bob.key", "-outform", "DER").stdout
    robder = ossl("pkey", "-in", "rob.key", "-outform", "DER").stdout
    mid = robder[len(robder) // 2:len(robder) // 2 + 32]
    t.ok(bobder and robder and bobder not in raw and robder not in raw and mid not in raw,
         "no private key in the clear in the base directory's files", str(files))
    t.ok(not cli_errors, "no sanitizer reports from the CLI", "\n".join(cli_errors))
finally:
    gw.cleanup()
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
t.done()
