#!/usr/bin/env python3
"""The web role publishes internal users' keys (issue 13, docs/publishing.md) against a running
gateway with web.publish = true: fetched as a partner would, over HTTPS with a certificate for
demo.test and openpgpkey.demo.test that curl trusts (--cacert, --resolve: the machine's
/etc/hosts and trust store stay untouched), checked with GnuPG. WKD advanced and direct give
exactly the user's key with only her user ID (a key with a second, external user ID is reduced),
at the path gpg-wks-client computes; the policy files; CORS and the security headers; unknown
address, non-internal domain, wrong Host and a listing 404; HKP op=get by address and by
fingerprint (armored, imported by gpg), op=index 501, /pks/add no upload, POST 405; after
`sealgate key revoke` the next fetch is a revoked key (gpg --show-keys) without a restart. As
root, GnuPG itself fetches: `--locate-external-keys` over WKD and `--recv-keys` over HKPS, the
role on port 443 of a random loopback address, gpg in a private mount namespace with its own
/etc/hosts and CA bundle (the machine's files untouched). Owner: src/web."""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, wait_for  # noqa: E402

t = Tap()
WKS = "/usr/lib/gnupg/gpg-wks-client"
tmp = tempfile.mkdtemp(prefix="sg-publish-")
gw = Gateway(web="publish = true;", binary=asan_binary())  # the role's C code under ASan+UBSan when built
# WKD clients go to port 443. As root (make test), the web role listens on port 443 of a random
# loopback address of its own (127.x.y.z: no fixed port on 127.0.0.1 that another suite could
# hold), so that gpg itself can fetch over WKD (below); otherwise on its free port.
ROOT = os.geteuid() == 0 and shutil.which("unshare")
IP, PORT = "127.0.0.1", gw.web_port
if ROOT:
    for _ in range(20):
        ip = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        with socket.socket() as so:
            try:
                so.bind((ip, 443))
            except OSError:
                continue
        IP, PORT = ip, 443
        break
    with open(gw.conf) as f:
        conf = f.read().replace(f'listen = "127.0.0.1:{gw.web_port}"', f'listen = "{IP}:{PORT}"')
    with open(gw.conf, "w") as f:
        f.write(conf)

# A certificate for the two WKD host names, put where the gateway takes its TLS certificate from
# (it generates one only when none is there); curl trusts it through --cacert only.
tls = os.path.join(gw.base, "tls")
os.makedirs(tls, exist_ok=True)
cert, key = os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=openpgpkey.demo.test",
                "-addext", "subjectAltName=DNS:openpgpkey.demo.test,DNS:demo.test,DNS:keys.demo.test,DNS:partner.example,DNS:openpgpkey.partner.example",
                "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
os.chmod(key, 0o644)  # the web role runs as its own user when started as root; a test key


def curl(host, path, method="GET", extra=()):
    """(status, headers as lower-cased dict, body) of an HTTPS request to host (resolved to the
    gateway), verified against the test certificate."""
    out = os.path.join(tmp, "body")
    r = subprocess.run(["curl", "-s", "-S", "-o", out, "-D", "-", "-X", method, "--cacert", cert,
                        "--resolve", f"{host}:{PORT}:{IP}", *extra,
                        f"https://{host}:{PORT}{path}"], capture_output=True, timeout=30)
    lines = r.stdout.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if r.returncode == 0 and lines[0].startswith("HTTP") else 0
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
    body = open(out, "rb").read() if os.path.exists(out) and status else b""
    if os.path.exists(out):
        os.unlink(out)
    return status, headers, body


def show(data):
    """gpg --show-keys --with-colons of data: the colon lines."""
    r = subprocess.run(["gpg", "--homedir", gpghome, "--batch", "--with-colons", "--show-keys"], input=data,
                       capture_output=True, timeout=30)
    return r.stdout.decode()


def uids(colons):
    """The addresses of the user IDs ("<a@b>" and "Name <a@b>" as a@b)."""
    return [x.split(":")[9].rsplit("<", 1)[-1].rstrip(">") for x in colons.splitlines() if x.startswith("uid:")]


def wkd_hash(addr):
    r = subprocess.run([WKS, "--print-wkd-hash", addr], capture_output=True, text=True)
    return r.stdout.split()[0]


gpghome = os.path.join(tmp, "gnupg")
os.makedirs(gpghome, mode=0o700)
try:
    gw.start()
    t.ok(wait_for(lambda: socket.create_connection((IP, PORT), timeout=0.5).close() or True, 15),
         f"the web role listens on {IP}:{PORT}", gw.log_text()[-800:])
    r = gw.cli("key", "generate", "alice@demo.test")
    alice = r.stdout.strip().split()[-1] if r.returncode == 0 else ""
    t.ok(len(alice) == 40, "sealgate key generate alice@demo.test", r.stdout + r.stderr)
    # carol's key carries a second, external user ID: published reduced to carol@demo.test.
    subprocess.run(["gpg", "--homedir", gpghome, "--batch", "--passphrase", "", "--quick-gen-key",
                    "carol@demo.test", "ed25519", "sign,cert", "never"], check=True, capture_output=True)
    cfpr = [x.split(":")[9] for x in subprocess.run(
        ["gpg", "--homedir", gpghome, "--with-colons", "--list-keys", "carol@demo.test"],
        capture_output=True, text=True).stdout.splitlines() if x.startswith("fpr:")][0]
    subprocess.run(["gpg", "--homedir", gpghome, "--batch", "--passphrase", "", "--quick-add-key", cfpr, "cv25519",
                    "encr", "never"], check=True, capture_output=True)
    subprocess.run(["gpg", "--homedir", gpghome, "--batch", "--passphrase", "", "--quick-add-uid", cfpr,
                    "Carol <carol@partner.example>"], check=True, capture_output=True)
    exp = subprocess.run(["gpg", "--homedir", gpghome, "--export", cfpr], capture_output=True).stdout
    r = subprocess.run([gw.binary, "-c", gw.conf, "key", "import", "-"], input=exp, capture_output=True)
    t.ok(r.returncode == 0, "carol's key with two user IDs imported", r.stdout + r.stderr)

    h = wkd_hash("alice@demo.test")
    adv = f"/.well-known/openpgpkey/demo.test/hu/{h}?l=alice"
    st, hd, body = curl("openpgpkey.demo.test", adv)
    c = show(body)
    t.ok(st == 200 and f"fpr:::::::::{alice}:" in c and uids(c) == ["alice@demo.test"],
         f"WKD advanced at gpg-wks-client's hash {h}: alice's key with only her user ID", f"{st} {c}")
    t.ok(hd.get("content-type") == "application/octet-stream" and hd.get("access-control-allow-origin") == "*"
         and "default-src 'self'" in hd.get("content-security-policy", "")
         and hd.get("x-content-type-options") == "nosniff" and "max-age=" in hd.get("strict-transport-security", ""),
         "octet-stream, CORS * and the role's security headers", str(hd))
    st, hd, body2 = curl("demo.test", f"/.well-known/openpgpkey/hu/{h}")
    t.ok(st == 200 and body2 == body, "WKD direct (Host demo.test, no ?l=) gives the same key", str(st))
    st, _, _ = curl("demo.test", f"/.well-known/openpgpkey/demo.test/hu/{h}?l=alice")
    t.ok(st == 404, "the advanced layout under Host demo.test (not openpgpkey.) is 404", str(st))
    st, _, _ = curl("demo.test", f"/.well-known/openpgpkey/hu/{h}", method="HEAD", extra=("-I",))
    t.ok(st == 200, "HEAD is served", str(st))

    ch = wkd_hash("carol@demo.test")
    st, _, body = curl("openpgpkey.demo.test", f"/.well-known/openpgpkey/demo.test/hu/{ch}?l=carol")
    c = show(body)
    t.ok(st == 200 and f"fpr:::::::::{cfpr}:" in c and uids(c) == ["carol@demo.test"],
         "a key with an external second user ID is published with carol@demo.test only", f"{st} {c}")

    for host, path in (("openpgpkey.demo.test", "/.well-known/openpgpkey/demo.test/policy"),
                       ("demo.test", "/.well-known/openpgpkey/policy")):
        st, hd, _ = curl(host, path)
        t.ok(st == 200 and hd.get("access-control-allow-origin") == "*", f"policy file at {host}{path}", str(st))

    st, _, _ = curl("openpgpkey.demo.test", f"/.well-known/openpgpkey/demo.test/hu/{wkd_hash('nobody@demo.test')}?l=nobody")
    t.ok(st == 404, "an unknown address is 404", str(st))
    st, _, _ = curl("openpgpkey.demo.test", f"/.well-known/openpgpkey/demo.test/hu/{h}?l=bob")
    t.ok(st == 200, "a wrong ?l= does not matter: the hash decides (found by scanning)", str(st))
    st, _, body3 = curl("openpgpkey.demo.test", f"/.well-known/openpgpkey/demo.test/hu/{h}?l=ALICE")
    t.ok(st == 200 and f"fpr:::::::::{alice}:" in show(body3), "?l=ALICE (the hash lower-cases) finds alice", str(st))
    st, _, _ = curl("openpgpkey.partner.example", f"/.well-known/openpgpkey/partner.example/hu/{ch}?l=carol")
    t.ok(st == 404, "a non-internal domain is 404 (advanced)", str(st))
    st, _, _ = curl("partner.example", f"/.well-known/openpgpkey/hu/{ch}")
    t.ok(st == 404, "a non-internal domain is 404 (direct)", str(st))
    for p in ("/.well-known/openpgpkey/demo.test/hu/", "/.well-known/openpgpkey/demo.test/", "/.well-known/openpgpkey/"):
        st, _, _ = curl("openpgpkey.demo.test", p)
        t.ok(st == 404, f"no listing at {p}", str(st))
    st, _, _ = curl("openpgpkey.demo.test", adv, method="POST", extra=("--data", "x"))
    t.ok(st == 405, "POST is 405", str(st))

    # gpg itself as a partner: WKD on https://openpgpkey.demo.test (port 443). A private mount
    # namespace gives gpg and its dirmngr a hosts file naming the gateway's address and a CA
    # bundle of the test certificate alone; the machine's own files stay as they are.
    if ROOT and PORT == 443:
        home = os.path.join(tmp, "partner")
        os.makedirs(home, mode=0o700)
        with open(os.path.join(home, "dirmngr.conf"), "w") as f:
            # the system resolver reads /etc/hosts; HKPS trusts the test certificate only
            f.write(f"standard-resolver\nhkp-cacert {cert}\n")
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write(f"127.0.0.1 localhost\n{IP} openpgpkey.demo.test demo.test keys.demo.test\n")

        def partner_gpg(*args):
            script = (f"mount --bind {hosts} /etc/hosts && mount --bind {cert} /etc/ssl/certs/ca-certificates.crt"
                      f" && gpg --homedir {home} --batch {' '.join(args)}; rc=$?; "
                      f"gpgconf --homedir {home} --kill all; exit $rc")
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                               capture_output=True, text=True, timeout=60)
            lst = subprocess.run(["gpg", "--homedir", home, "--with-colons", "--list-keys"], capture_output=True,
                                 text=True).stdout
            return r, lst

        r, lst = partner_gpg("--auto-key-locate", "clear,nodefault,wkd", "--locate-external-keys", "alice@demo.test")
        t.ok(r.returncode == 0 and f"fpr:::::::::{alice}:" in lst and uids(lst) == ["alice@demo.test"]
             and lst.count("pub:") == 1,
             "gpg --auto-key-locate clear,nodefault,wkd --locate-external-keys alice@demo.test: exactly "
             "alice's key, only her user ID", r.stdout + r.stderr + lst)
        r, lst = partner_gpg("--keyserver", "hkps://keys.demo.test", "--recv-keys", cfpr)
        t.ok(r.returncode == 0 and f"fpr:::::::::{cfpr}:" in lst and "carol@partner.example" not in lst
             and lst.count("pub:") == 2,
             "gpg --keyserver hkps://keys.demo.test --recv-keys FPR: carol's key without her external user ID",
             r.stdout + r.stderr + lst)
    else:
        t.skip("gpg --locate-external-keys over WKD", "needs root and unshare (port 443, private /etc/hosts)")

    # ---- HKP ----
    st, hd, body = curl("keys.demo.test", "/pks/lookup?op=get&options=mr&search=alice%40demo.test")
    c = show(body)
    t.ok(st == 200 and body.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK") and f"fpr:::::::::{alice}:" in c,
         "HKP op=get by address: alice's armored key", f"{st} {body[:60]}")
    st, _, body = curl("keys.demo.test", f"/pks/lookup?op=get&search=0x{cfpr}")
    os.makedirs(os.path.join(tmp, "g2"), mode=0o700)
    imp = subprocess.run(["gpg", "--homedir", os.path.join(tmp, "g2"), "--batch", "--import"], input=body,
                         capture_output=True)
    lst = subprocess.run(["gpg", "--homedir", os.path.join(tmp, "g2"), "--with-colons", "--list-keys"],
                         capture_output=True, text=True).stdout
    t.ok(st == 200 and imp.returncode == 0 and uids(lst) == ["carol@demo.test"],
         "HKP op=get by fingerprint: gpg --import takes carol's key with only her internal user ID", f"{st} {lst}")
    for q, want, name in (("op=index&search=alice", 501, "op=index refused"),
                          ("op=vindex&search=alice%40demo.test", 501, "op=vindex refused"),
                          ("op=get&search=alice", 404, "a substring is not searched"),
                          ("op=get&search=carol%40partner.example", 404, "a non-internal address is 404"),
                          ("op=get&search=nobody%40demo.test", 404, "an unknown address is 404")):
        st, _, _ = curl("keys.demo.test", "/pks/lookup?" + q)
        t.ok(st == want, f"HKP: {name} ({want})", str(st))
    st, _, _ = curl("keys.demo.test", "/pks/add", method="POST", extra=("--data", "keytext=x"))
    t.ok(st in (404, 405), "HKP /pks/add: no upload", str(st))

    # ---- revocation, without a restart ----
    pid = gw.role_pids().get("web")
    r = gw.cli("key", "revoke", alice, "retired")
    t.ok(r.returncode == 0, "sealgate key revoke", r.stdout + r.stderr)
    st, _, body = curl("openpgpkey.demo.test", adv)
    c = show(body)
    t.ok(st == 200 and c.startswith("pub:r:") and uids(c) == ["alice@demo.test"],
         "the next WKD fetch is alice's key, revoked (gpg --show-keys)", f"{st} {c}")
    st, _, body = curl("keys.demo.test", f"/pks/lookup?op=get&search=0x{alice}")
    t.ok(st == 200 and show(body).startswith("pub:r:"), "HKP by fingerprint: revoked too", str(st))
    if ROOT and PORT == 443:
        r, lst = partner_gpg("--auto-key-locate", "clear,nodefault,wkd", "--locate-external-keys", "alice@demo.test")
        mine = [x for x in lst.split("\npub:")[1:] if f":{alice}:" in x]
        t.ok(bool(mine) and mine[0].startswith("r:"),
             "the partner's gpg, locating alice again over WKD, now has her key revoked", r.stderr + lst)
    t.ok(pid and gw.role_pids().get("web") == pid, "the web role was not restarted", str(gw.role_pids()))
finally:
    gw.stop()
    subprocess.run(["gpgconf", "--homedir", gpghome, "--kill", "all"], capture_output=True)
    subprocess.run(["gpgconf", "--homedir", os.path.join(tmp, "g2"), "--kill", "all"], capture_output=True)
t.ok(not gw.sanitizer_reports(), "no sanitizer report", "\n".join(gw.sanitizer_reports()[:5]))
gw.cleanup()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
