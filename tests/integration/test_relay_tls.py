"""test_relay_tls.py - the relay's TLS levels (relay.tls, docs/configuration.md "Relay TLS")
against the scriptable fake next hop of test_relay.py, with a CA, certificates and fingerprints
made by openssl here: verified by CA and name, wrong CA, wrong name, fingerprints, may with a
broken handshake, the legacy "must", the per-delivery log line, and check-config's refusals.
Mail that a level does not allow to go must be deferred and never appear at the hop in the
clear. Python 3 stdlib only. Owner: src/relay."""
import hashlib
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_relay import (BINARY, Hop, Relay, T, check_sanitizer_reports, make_tls_ctx, new_id, qfile,  # noqa: E402
                        wait_for)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", key, "-out", crt)
    return key, crt


def make_leaf(d, name, ca, san):
    """A server certificate for san (e.g. "DNS:hop.test,IP:127.0.0.1") issued by ca."""
    key, csr, crt = (os.path.join(d, name + x) for x in (".key", ".csr", ".crt"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={name}", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", crt)
    return key, crt


def server_ctx(leaf):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(leaf[1], leaf[0])
    return ctx


def cert_fp(crt, colons=False):
    out = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-fingerprint", "-sha256"], check=True,
                         capture_output=True, text=True).stdout
    fp = out.strip().split("=", 1)[1]
    return fp if colons else fp.replace(":", "").lower()


def key_fp(crt):
    pub = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-pubkey"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def one(name, ctx, tls, extra="", bad_tls=False, ext=("PIPELINING",)):
    """A hop with ctx and a relay at level tls; one message queued. Returns (hop, relay, qid)."""
    hop = Hop(list(ext), tls_ctx=ctx)
    hop.bad_tls = bad_tls
    relay = Relay(name, hop.port, tls=tls, extra=extra)
    qid = new_id()
    relay.put(qid, qfile(qid, "a@x.test", [f"{name}@y.test"], f"Subject: {name}\r\n\r\nsecret\r\n".encode()))
    relay.start()
    return hop, relay, qid


def no_mail_commands(hop):
    return not hop.txs and not any(c.split(" ", 1)[0].upper() in ("MAIL", "RCPT", "DATA", "BDAT")
                                   for _, c in hop.commands)


def expect_sent(name, ctx, tls, extra, fp, why, result="verified"):
    hop, relay, qid = one(name, ctx, tls, extra)
    try:
        ok = wait_for(lambda: hop.txs, 8)
        T.check(ok and hop.txs[0].tls and hop.txs[0].data == f"Subject: {name}\r\n\r\nsecret\r\n".encode(),
                f"{why}: delivered over TLS", relay.log()[-400:])
        line = wait_for(lambda: re.search(rf"{qid}: event=sent rcpt=<{name}@y.test> .*", relay.log()), 3)
        want = rf"tls={result} tls_proto=TLSv1\.[23] tls_cipher=[A-Z0-9_-]+ peer_fp={fp or '[0-9a-f]{64}'}$"
        T.check(line and re.search(want, line.group(0)), f"{why}: log line says tls={result}, protocol, cipher "
                "and the peer's fingerprint", line and line.group(0))
    finally:
        relay.stop()
        hop.close()


def expect_deferred(name, ctx, tls, extra, result, reason, why, bad_tls=False, wait_retry=False):
    """reason: a regular expression the deferred copy's last-error must contain."""
    hop, relay, qid = one(name, ctx, tls, extra, bad_tls=bad_tls)
    try:
        ok = wait_for(lambda: qid in relay.files("deferred"), 6)
        d = relay.read("deferred", qid) if ok else {}
        if wait_retry:  # the next attempts (retry_min = 1 s) must not fall back either
            wait_for(lambda: hop.nconn >= 3, 8)
        T.check(ok and no_mail_commands(hop) and re.search(reason, d.get("last-error", "")),
                f"{why}: deferred, nothing sent, last-error says why",
                (d.get("last-error"), hop.commands[:8], relay.log()[-300:]))
        line = wait_for(lambda: re.search(rf"{qid}: event=deferred rcpt=<{name}@y.test> .*", relay.log()), 3)
        T.check(line and f" tls={result}" in line.group(0), f"{why}: log line event=deferred ... tls={result}",
                line and line.group(0))
    finally:
        relay.stop()
        hop.close()


def check_config(workdir, body):
    conf = os.path.join(workdir, "cc.conf")
    with open(conf, "w") as f:
        f.write(f'base_dir = "{workdir}";\n' + body)
    p = subprocess.run([BINARY, "-c", conf, "check-config"], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def scenario_config(workdir):
    rc, out = check_config(workdir, 'relay = { tls = "dane"; };\n')
    T.check(rc != 0 and "not supported" in out, "check-config: tls = \"dane\" refused as not supported", out)
    rc, out = check_config(workdir, 'relay = { tls = "fingerprint"; };\n')
    T.check(rc != 0 and "tls_fingerprints" in out, "check-config: fingerprint level without fingerprints refused",
            out)
    rc, out = check_config(workdir, 'relay = { tls = "fingerprint"; tls_fingerprints = ["abcd"]; };\n')
    T.check(rc != 0 and "not a SHA-256 fingerprint" in out, "check-config: malformed fingerprint refused", out)
    rc, out = check_config(workdir, 'relay = { tls = "may"; tls_match = ["hop.test"]; };\n')
    T.check(rc != 0 and "tls_match" in out, "check-config: tls_match at a level that ignores it refused", out)
    rc, out = check_config(workdir, 'relay = { tls = "must"; };\n')
    T.check(rc == 0 and "tls=verify" in out, "check-config: the old \"must\" loads and means verify", out)


def main():
    if not os.access(BINARY, os.X_OK):
        T.fail(f"{BINARY} built", "missing (build first)")
        T.done()
    workdir = tempfile.mkdtemp(prefix="sg-relay-tls-")
    os.chmod(workdir, 0o755)
    t0 = time.time()
    ca, other_ca = make_ca(workdir, "ca1"), make_ca(workdir, "ca2")
    leaf = make_leaf(workdir, "leaf", ca, "DNS:hop.test,IP:127.0.0.1")
    good = server_ctx(leaf)
    selfsigned = make_tls_ctx(workdir)
    # A hop with no cipher in common (TLS 1.2 RSA key exchange only, EC certificate): it reads
    # the ClientHello and answers handshake_failure, every time.
    old_tls = server_ctx(leaf)
    old_tls.maximum_version = ssl.TLSVersion.TLSv1_2
    old_tls.set_ciphers("AES128-SHA")
    cafile = f'tls_ca_file = "{ca[1]}";'
    fp = cert_fp(leaf[1])
    steps = [
        lambda: expect_sent("verify-name", good, "verify", cafile + ' tls_match = ["hop.test"];', fp,
                            "verify, CA and tls_match"),
        lambda: expect_sent("verify-addr", good, "secure", cafile, fp, "secure, CA and the next hop's address"),
        lambda: expect_deferred("verify-wrong-ca", good, "verify", f'tls_ca_file = "{other_ca[1]}";', "untrusted",
                                "not trusted", "verify, certificate from another CA"),
        lambda: expect_deferred("verify-wrong-name", good, "verify", cafile + ' tls_match = ["other.test"];',
                                "trusted", "does not name", "verify, right CA, wrong name"),
        lambda: expect_sent("fpr-cert", good, "fingerprint", f'tls_fingerprints = ["{cert_fp(leaf[1], True)}"];', fp,
                            "fingerprint of the certificate (colon form)"),
        lambda: expect_sent("fpr-key", good, "fingerprint", f'tls_fingerprints = ["{"0" * 64}", "{key_fp(leaf[1])}"];',
                            fp, "fingerprint of the public key, second in the list"),
        lambda: expect_deferred("fpr-wrong", good, "fingerprint", f'tls_fingerprints = ["{cert_fp(other_ca[1])}"];',
                                "untrusted", "not in tls_fingerprints", "fingerprint not listed"),
        lambda: expect_deferred("must-selfsigned", selfsigned, "must", "", "untrusted", "not trusted",
                                "the old \"must\" now verifies: self-signed hop"),
        lambda: expect_deferred("may-no-cipher", old_tls, "may", "", "none", "TLS handshake",
                                "may, STARTTLS accepted but the handshake fails: no plain-text fallback",
                                wait_retry=True),
        # the garbage is seen before the handshake starts (an injection) or by it: either defers
        lambda: expect_deferred("may-garbage", selfsigned, "may", "", "none",
                                "after 220 to STARTTLS|TLS handshake .* failed",
                                "may, garbage instead of a handshake: no plain-text fallback",
                                bad_tls=True, wait_retry=True),
        lambda: expect_sent("encrypt-selfsigned", selfsigned, "encrypt", "", None, "encrypt, self-signed hop",
                            result="untrusted"),
        lambda: scenario_config(workdir),
    ]
    for i, step in enumerate(steps):
        try:
            step()
        except Exception as e:  # a crash in a step is a failure, not a silent pass
            T.check(False, f"step {i} ran to the end", repr(e))
    check_sanitizer_reports()
    print(f"# done in {time.time() - t0:.1f}s", file=sys.stderr)
    T.done()


if __name__ == "__main__":
    sys.exit(main())
