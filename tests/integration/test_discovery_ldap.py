#!/usr/bin/env python3
"""LDAP as a key discovery source (issue 13, docs/discovery.md "LDAP") end to end through SMTP,
against a private slapd started here (tests/lib/sgslapd.py: its own slapd.conf and database in a
temp dir, a test CA, StartTLS on a free port, a bind DN with its password in a file). Mail to a
recipient whose OpenPGP key is only in the directory's pgpKey attribute arrives encrypted to that
key (over StartTLS and over ldaps://); the second message uses the cache (slapd stopped before it); with slapd down an uncached
recipient is deferred, never sent in the clear; an entry whose key is for another address is
refused; an address with filter metacharacters finds nothing (RFC 4515 escaping). A recipient
whose certificate (issued by a test CA the gateway trusts) is only in userCertificate;binary gets
S/MIME that openssl decrypts, also with slapd stopped (cache); a certificate for another address
and a CA certificate are refused. Owner: src/keys."""
import os
import re
import shutil
import socket
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, free_port, gpg_decrypts, pgp_mime_encrypted, gpg_runner, wait_for  # noqa: E402
from sgslapd import ADMIN, SUFFIX, Slapd  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="sg-disc-ldap-")
os.chmod(tmp, 0o755)
gpg = gpg_runner(os.path.join(tmp, "gnupg"))


def genkey(uid):
    gpg("--quick-gen-key", uid, "future-default", "default", "never")
    out = gpg("--with-colons", "--list-keys", f"<{uid}>").stdout.decode()
    return re.search(r"^fpr:+([0-9A-F]{40}):", out, re.M).group(1)


slapd = Slapd(tmp)
t.ok(slapd.made.returncode == 0, "test CA and slapd's certificate made by openssl", slapd.made.stderr.decode())
keys = {u: genkey(f"{u}@ldap.test") for u in ["pat", "quinn", "wrong-owner"]}
keys["uma"] = genkey("uma@ldaps.test")
cert = subprocess.run(["openssl", "x509", "-in", slapd.ca, "-outform", "DER"], capture_output=True).stdout


def smime_cert(name, addr):
    """An RSA certificate for addr (emailProtection) issued by the test CA, DER; key in name.key."""
    p = lambda n: os.path.join(tmp, n)  # noqa: E731
    with open(p(name + ".ext"), "w") as f:
        f.write(f"subjectAltName=email:{addr}\nextendedKeyUsage=emailProtection\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={addr}", "-keyout",
                    p(name + ".key"), "-out", p(name + ".csr")], capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", slapd.ca, "-CAkey",
                    slapd.path("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p(name + ".ext"), "-out",
                    p(name + ".pem")], capture_output=True)
    return subprocess.run(["openssl", "x509", "-in", p(name + ".pem"), "-outform", "DER"], capture_output=True).stdout


sam_cert = smime_cert("sam", "sam@ldap.test")
tom_cert = smime_cert("tom", "someone-else@ldap.test")


def person(uid, mail, extra):
    oc = [("objectClass", "inetOrgPerson"), ("objectClass", "pgpKeyHolder"), ("objectClass", "pkiUser")]
    return (f"uid={uid},{SUFFIX}", oc + [("uid", uid), ("cn", uid), ("sn", uid), ("mail", mail)] + extra)


r = slapd.load([
    person("pat", "pat@ldap.test", [("pgpKey", gpg("--export", keys["pat"]).stdout)]),
    person("quinn", "quinn@ldap.test", [("pgpKey", gpg("--export", keys["quinn"]).stdout)]),
    # the directory says rita, the key says wrong-owner@: refused by the discovery filter
    person("rita", "rita@ldap.test", [("pgpKey", gpg("--export", keys["wrong-owner"]).stdout)]),
    # a catch-all entry a filter injection ("*") would find
    person("star", "star@ldap.test", [("pgpKey", gpg("--export", keys["pat"]).stdout)]),
    person("cert", "cert@ldap.test", [("userCertificate;binary", cert)]),
    person("sam", "sam@ldap.test", [("userCertificate;binary", sam_cert)]),
    person("uma", "uma@ldaps.test", [("pgpKey", gpg("--export", keys["uma"]).stdout)]),
    # tom's entry holds a certificate for another address: refused
    person("tom", "tom@ldap.test", [("userCertificate;binary", tom_cert)]),
])
t.ok(r.returncode == 0, "entries loaded with slapadd", r.stderr.decode())
t.ok(slapd.start(), "private slapd answers a StartTLS search", open(slapd.path("slapd.log")).read()[-500:])

# A server that accepts connections and never answers (StartTLS would wait forever).
silent = socket.socket()
silent.bind(("127.0.0.1", free_port()))
silent.listen(8)
silent_uri = f"ldap://127.0.0.1:{silent.getsockname()[1]}"

gw = Gateway(binary=asan_binary())
gw.write_config(f'''internal_domains = ["demo.test"];
discovery = {{
  sources = ["local"];
  timeout = 3;
  tls_ca_file = "{slapd.ca}";
  domains = ( {{ domain = "ldap.test"; sources = ["local", "ldap"];
                 ldap = {{ uri = "{slapd.uri}"; base = "{SUFFIX}"; filter = "(&(objectClass=inetOrgPerson)(mail={{address}}))";
                          bind_dn = "{ADMIN}"; password_file = "{slapd.path("password")}"; timeout = 2; size_limit = 2; }}; }},
              {{ domain = "ldaps.test"; sources = ["ldap"];
                 ldap = {{ uri = "{slapd.ldaps_uri}"; base = "{SUFFIX}"; bind_dn = "{ADMIN}";
                          password_file = "{slapd.path("password")}"; }}; }},
              {{ domain = "silent.test"; sources = ["ldap"]; ldap = {{ uri = "{silent_uri}"; base = "{SUFFIX}"; timeout = 2; }}; }} );
}};
''')
ca_fpr = subprocess.run(["openssl", "x509", "-in", slapd.ca, "-noout", "-fingerprint", "-sha256"],
                        capture_output=True, text=True).stdout.split("=")[-1].strip().replace(":", "")
r = gw.cli("cert", "import", slapd.ca)
r2 = gw.cli("cert", "trust", ca_fpr)
t.ok(r.returncode == 0 and r2.returncode == 0, "the gateway trusts the test CA (cert import, cert trust)",
     r.stdout + r.stderr + r2.stdout + r2.stderr)
r = gw.cli("ca", "init")
r2 = gw.cli("ca", "issue", "alice@demo.test")
t.ok(r.returncode == 0 and r2.returncode == 0, "alice has an S/MIME certificate from the gateway's CA (to sign)",
     r.stderr + r2.stderr)
gw.start()


def msg(rcpt, marker):
    return f"From: alice@demo.test\r\nTo: {rcpt}\r\nSubject: ldap\r\n\r\n{marker}\r\n".encode()


def encrypted(d):
    return pgp_mime_encrypted(d)


def decrypts(d, marker):
    return gpg_decrypts(gpg, d, marker)


def deferred(addr, marker):
    before = gw.sink_files()
    fails = gw.log_text().count("event=key-lookup-failed")
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", [addr], msg(addr, marker))
    ok = wait_for(lambda: gw.log_text().count("event=key-lookup-failed") > fails, 30)
    return ok and not (gw.sink_files() - before)


try:
    d = gw.send_one("alice@demo.test", "pat@ldap.test", msg("pat@ldap.test", "to-pat-1"))
    t.ok(encrypted(d) and decrypts(d, "to-pat-1"), "key only in LDAP (pgpKey): the mail arrives encrypted to it")
    ks = gw.cli("key", "show", keys["pat"]).stdout
    t.ok(re.search(r"trust +discovered \(ldap ldap://127\.0\.0\.1:\d+/", ks) is not None,
         "key show: trust discovered, source ldap and the server", ks)
    t.ok("(mail=pat@ldap.test)" in gw.log_text(), "the configured filter with the address was asked")

    # An entry whose key is for another address: refused (a definitive "none": the fallback, plain).
    d = gw.send_one("alice@demo.test", "rita@ldap.test", msg("rita@ldap.test", "to-rita"))
    t.ok(d is not None and not encrypted(d), "rita's entry holds a key for another address: not used")
    t.ok(re.search(r"addr=rita@ldap.test source=ldap .*result=not-found reason=\"[^\"]*address", gw.log_text())
         is not None, "... logged with the filter's reason")
    t.ok(gw.cli("key", "list", "--address", "rita@ldap.test").stdout.strip() == "", "... and nothing imported")

    # ldaps:// (TLS from the first byte) instead of StartTLS.
    d = gw.send_one("alice@demo.test", "uma@ldaps.test", msg("uma@ldaps.test", "to-uma"))
    t.ok(encrypted(d) and decrypts(d, "to-uma"), "the same over ldaps://: encrypted")

    # Filter metacharacters in the address are escaped: "*" matches no entry.
    d = gw.send_one("alice@demo.test", "s*@ldap.test", msg("s*@ldap.test", "to-star"))
    t.ok(d is not None and not encrypted(d) and "(mail=s\\2a@ldap.test)" in gw.log_text() and
         re.search(r'addr=s\*@ldap.test source=ldap .*result=not-found reason="no entry with a key"', gw.log_text())
         is not None, "an address with * is escaped (\\2a): no entry is found by it (star's would match s*)")

    # S/MIME: a certificate in userCertificate;binary that validates for the address.
    d = gw.send_one("alice@demo.test", "sam@ldap.test", msg("sam@ldap.test", "to-sam-1"))
    with open(os.path.join(tmp, "sam.msg"), "wb") as f:
        f.write(d or b"")
    dec = subprocess.run(["openssl", "cms", "-decrypt", "-in", os.path.join(tmp, "sam.msg"), "-recip",
                          os.path.join(tmp, "sam.pem"), "-inkey", os.path.join(tmp, "sam.key")], capture_output=True)
    t.ok(d is not None and b"application/pkcs7-mime" in d and b"to-sam-1" in dec.stdout,
         "certificate only in LDAP (userCertificate;binary, issued by the trusted CA): S/MIME, openssl decrypts it",
         (d or b"")[:400].decode(errors="replace") + dec.stderr.decode())
    t.ok(re.search(r"addr=sam@ldap.test kind=certificate fpr=[0-9A-F]{64} source=ldap .*result=imported",
                   gw.log_text()) is not None, "... logged as imported from ldap")
    # Certificates that do not validate for the address: tom's is for another address, the
    # CA's own certificate in cert@'s entry is no end-entity certificate of cert@.
    for who in ["tom", "cert"]:
        d = gw.send_one("alice@demo.test", f"{who}@ldap.test", msg(f"{who}@ldap.test", f"to-{who}"))
        t.ok(d is not None and b"pkcs7-mime" not in d and not encrypted(d) and
             re.search(rf"addr={who}@ldap.test kind=certificate source=ldap .*result=not-found", gw.log_text())
             is not None, f"{who}'s entry: the certificate does not validate for {who}@ldap.test, refused (plain)")
    t.ok("kind=certificate" in gw.log_text() and
         re.search(r"addr=tom@ldap.test kind=certificate .*reason=\"[^\"]*(address|rfc822)", gw.log_text(), re.I)
         is not None, "... tom's refusal names the address", )

    # A server that never answers: the lookup ends at its timeout, the message is deferred, and
    # the fetch helper (and cryptd) stay usable.
    t.ok(deferred("mute@silent.test", "to-mute"), "a server that never answers: deferred, nothing delivered")
    t.ok(re.search(r"addr=mute@silent.test source=ldap .*result=error", gw.log_text()) is not None,
         "... logged as a failed lookup")

    # slapd down: pat is cached (still encrypted), quinn is not (deferred, not sent in the clear).
    slapd.stop()
    d = gw.send_one("alice@demo.test", "pat@ldap.test", msg("pat@ldap.test", "to-pat-2"))
    t.ok(encrypted(d) and decrypts(d, "to-pat-2"), "second message to pat with slapd stopped: encrypted (cache)")
    d = gw.send_one("alice@demo.test", "sam@ldap.test", msg("sam@ldap.test", "to-sam-2"))
    t.ok(d is not None and b"application/pkcs7-mime" in d, "second message to sam with slapd stopped: S/MIME (cache)")
    t.ok(deferred("quinn@ldap.test", "to-quinn"), "slapd down, quinn uncached: deferred, nothing delivered")
    t.ok(re.search(r"addr=quinn@ldap.test source=ldap .*result=error", gw.log_text()) is not None,
         "... the failed lookup is logged as an error (not as no key)")
    # slapd back: the deferred message goes encrypted when the queue retries it.
    before = gw.sink_files()
    t.ok(slapd.start(), "slapd started again")

    def quinn_arrived():
        for f in gw.sink_files() - before:
            with open(os.path.join(gw.sink_dir, "new", f), "rb") as fh:
                d = fh.read()
            if encrypted(d) and decrypts(d, "to-quinn"):
                return True
        return False
    t.ok(wait_for(quinn_arrived, 120), "... and once it is back, quinn's deferred message goes encrypted")
    gw.stop()
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "; ".join(gw.sanitizer_reports()[:3]))
finally:
    gw.cleanup()
    slapd.stop()
    silent.close()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
