#!/usr/bin/env python3
"""Revocation checking against real servers: a CRL made by `sealgate ca crl` served by Python's
http.server, and a real OCSP responder (`openssl ocsp -index ... -port ...`). One sealgate
store plays the remote CA (A), another the gateway under test (B), which trusts A's CA and
checks A's certificates with `sealgate cert check`. Covers: good, revoked by CRL, revoked by
OCSP, responder down with hard and with soft fail, a stale cache refetched (CRL and OCSP),
oversized responses refused (declared and streamed), a forged CRL and a CRL rollback refused,
a CRL over https (server verified), ports not allowed, fetching off.
Owner: src/keys."""
import http.server
import os
import pwd
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Tap, asan_binary, free_port, wait_for  # noqa: E402

t = Tap()
BIN = asan_binary()
tmp = tempfile.mkdtemp(prefix="sg-revocation-")
os.chmod(tmp, 0o755)  # the fetch helper (nobody when we are root) reads tls_ca_file here
www = os.path.join(tmp, "www")
os.makedirs(www)
HTTP, OCSP, DEAD, HTTPS = free_port(), free_port(), free_port(), free_port()
sanitizer = []
hits = {}
peer_uids = set()


def peer_uid(port):
    """The uid owning the loopback TCP socket bound to port (the client's end), from /proc."""
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if int(cols[1].rsplit(":", 1)[1], 16) == port:
                        return int(cols[7])
        except OSError:
            pass
    return None


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves www/ (Content-Length set), counts requests per path, and has two oversized
    routes: /stream.crl (no Content-Length, read until close) and POST /ocsp-big."""

    def __init__(self, *a, **kw):
        super().__init__(*a, directory=www, **kw)

    def log_message(self, *a):
        pass

    def do_GET(self):
        hits[self.path] = hits.get(self.path, 0) + 1
        peer_uids.add(peer_uid(self.client_address[1]))
        if self.path == "/stream.crl":
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"\x30" * 1024)
            except OSError:
                pass  # the client gave up, as it should
            return
        super().do_GET()

    def do_POST(self):
        hits[self.path] = hits.get(self.path, 0) + 1
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b"\x30" * (200 * 1024)
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP), Handler)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
# The same files over https, with a self-signed server certificate for 127.0.0.1.
tls_cert, tls_key = os.path.join(tmp, "tls.pem"), os.path.join(tmp, "tls.key")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", tls_key, "-out", tls_cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
httpsd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTPS), Handler)
tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls_ctx.load_cert_chain(tls_cert, tls_key)
httpsd.socket = tls_ctx.wrap_socket(httpsd.socket, server_side=True)
threading.Thread(target=httpsd.serve_forever, daemon=True).start()


def conf(name, extra=""):
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write(f'base_dir = "{os.path.join(tmp, name)}";\n{extra}')
    return path


A = conf("a")
C = conf("c")  # a forger: a CA with the same name as A's, but another key


def policy(methods, unreachable="hard-fail", extra=""):
    m = ", ".join(f'"{x}"' for x in methods)
    return conf("b", f'revocation = {{ methods = [{m}]; unreachable = "{unreachable}"; timeout = 5;'
                     f' allowed_ports = [{HTTP}, {OCSP}, {DEAD}, {HTTPS}]; {extra} }};\n')


B = policy(["crl"])


def sg(cfg, *args):
    r = subprocess.run([BIN, "-c", cfg, *args], capture_output=True, text=True, timeout=60)
    sanitizer.extend(l for l in r.stderr.splitlines() if "Sanitizer" in l or "runtime error:" in l)
    return r


def field(out, name):
    for line in out.splitlines():
        if line.startswith(name + " "):
            return line[len(name):].strip()
    return ""


def check(name, cfg=None):
    r = sg(cfg or B, "cert", "check", os.path.join(tmp, name + ".pem"), "--address", name + "@partner.test")
    return r.returncode, field(r.stdout, "verdict"), field(r.stdout, "reason"), r


def url(path, port=None):
    return f"http://127.0.0.1:{port or HTTP}/{path}"


# ---- the remote CA (A) and its certificates ----
r = sg(A, "ca", "init", "--subject", "CN=Remote Test CA")
t.ok(r.returncode == 0, "A: ca init", r.stderr)
with open(os.path.join(tmp, "ca.pem"), "w") as f:
    f.write(sg(A, "ca", "export").stdout)
ca_fpr = r.stdout.strip()
certs = {  # name: (CRL URL, OCSP URL)
    "alice": (url("ca.crl"), url("", OCSP)),
    "bob": (url("ca.crl"), url("", OCSP)),
    "carol": (url("ca.crl"), url("", OCSP)),
    "dave": (url("ca.crl"), url("", OCSP)),
    "frank": (url("ca.crl", DEAD), url("", DEAD)),
    "erin": (url("big.crl"), None),
    "gina": (url("stream.crl"), None),
    "hana": (None, url("ocsp-big")),
    "ivan": (url("forged.crl"), None),
    "jack": (f"https://127.0.0.1:{HTTPS}/ca.crl", None),
}
fprs = {}
for name, (crl, ocsp) in certs.items():
    args = ["ca", "issue", f"{name}@partner.test", "--rsa"] if name == "alice" else ["ca", "issue", f"{name}@partner.test"]
    if crl:
        args += ["--crl-url", crl]
    if ocsp:
        args += ["--ocsp-url", ocsp]
    r = sg(A, *args)
    fprs[name] = r.stdout.strip()
    with open(os.path.join(tmp, name + ".pem"), "w") as f:
        f.write(sg(A, "cert", "export", fprs[name]).stdout)
t.ok(all(len(f) == 64 for f in fprs.values()), "A: ca issue with --crl-url/--ocsp-url for 10 certificates")
x = subprocess.run(["openssl", "x509", "-in", os.path.join(tmp, "alice.pem"), "-noout", "-ext",
                    "crlDistributionPoints,authorityInfoAccess"], capture_output=True, text=True)
t.ok(url("ca.crl") in x.stdout and f"OCSP - URI:{url('', OCSP)}" in x.stdout,
     "openssl sees the distribution point and the OCSP URL", x.stdout + x.stderr)


def publish_crl():
    sg(A, "ca", "crl", "--out", os.path.join(tmp, "crl.pem"))
    subprocess.run(["openssl", "crl", "-in", os.path.join(tmp, "crl.pem"), "-outform", "DER", "-out",
                    os.path.join(www, "ca.crl")], check=True)


sg(A, "ca", "revoke", fprs["bob"])
publish_crl()
with open(os.path.join(www, "big.crl"), "wb") as f:  # oversized, with Content-Length
    f.write(b"\x30" * (64 * 1024))
sg(C, "ca", "init", "--subject", "CN=Remote Test CA")
sg(C, "ca", "crl", "--out", os.path.join(www, "forged.crl"))

# ---- the OCSP responder: openssl ocsp with an index where bob and carol are revoked ----
key = sg(A, "cert", "export", ca_fpr, "--key").stdout
with open(os.path.join(tmp, "cakey.pem"), "w") as f:
    f.write(key)
os.chmod(os.path.join(tmp, "cakey.pem"), 0o600)


def index_line(name, revoked):
    pem = os.path.join(tmp, name + ".pem")
    serial = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-serial"], capture_output=True,
                            text=True).stdout.strip().split("=", 1)[1]
    exp = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 365 * 86400))
    rev = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 3600)) if revoked else ""
    return f"{'R' if revoked else 'V'}\t{exp}\t{rev}\t{serial}\tunknown\t/CN={name}@partner.test\n"


with open(os.path.join(tmp, "index.txt"), "w") as f:
    for n in ("alice", "bob", "carol", "dave"):
        f.write(index_line(n, n in ("bob", "carol")))
ocsp_log = open(os.path.join(tmp, "ocsp.log"), "w")
ocsp = subprocess.Popen(["openssl", "ocsp", "-index", os.path.join(tmp, "index.txt"), "-port", str(OCSP),
                         "-rsigner", os.path.join(tmp, "ca.pem"), "-rkey", os.path.join(tmp, "cakey.pem"),
                         "-CA", os.path.join(tmp, "ca.pem"), "-nmin", "60", "-timeout", "5"],
                        stdout=ocsp_log, stderr=subprocess.STDOUT, cwd=tmp)
try:
    # Not wait_port: openssl ocsp serves one connection at a time and waits forever for a
    # request on a probe connection that sends none.
    def listening():
        with open(os.path.join(tmp, "ocsp.log")) as f:
            return "waiting for OCSP client connections" in f.read()
    t.ok(wait_for(listening, 10), "openssl ocsp responder listens")

    # ---- the gateway (B) trusts A's CA ----
    sg(B, "cert", "import", os.path.join(tmp, "ca.pem"))
    r = sg(B, "cert", "trust", ca_fpr)
    t.ok(r.returncode == 0, "B: trusts the remote CA", r.stderr)

    # ---- CRL ----
    rc, v, why, _ = check("alice")
    t.ok(rc == 0 and v == "valid" and f"good (CRL, fetched from {url('ca.crl')})" in why,
         "CRL: good certificate valid, CRL fetched from its distribution point", why)
    rc, v, why, _ = check("bob")
    t.ok(rc == 1 and v == "revoked" and "listed in the CRL (cached)" in why,
         "CRL: revoked certificate (the cached CRL is used, not fetched again)", why)
    t.ok(hits.get("/ca.crl") == 1, "one fetch for both checks", str(hits))
    rc, v, why, _ = check("carol")
    t.ok(rc == 0 and v == "valid", "CRL: carol is not in the CRL (she is revoked only at the OCSP responder)", why)

    # ---- OCSP ----
    B = policy(["ocsp"])
    rc, v, why, _ = check("alice")
    t.ok(rc == 0 and v == "valid" and f"good (OCSP, from {url('', OCSP)}" in why,
         "OCSP: good certificate valid, answer from the responder", why)
    rc, v, why, _ = check("carol")
    t.ok(rc == 1 and v == "revoked" and "(OCSP, from" in why, "OCSP: revoked by the responder", why)
    rc, v, why, _ = check("carol")
    t.ok(rc == 1 and v == "revoked" and "(OCSP, cached)" in why, "OCSP: the cached answer is used", why)

    # ---- responder down: hard and soft fail ----
    db = sqlite3.connect(os.path.join(tmp, "b", "store", "sealgate.db"))
    db.execute("DELETE FROM x509_crls")  # else the issuer's cached CRL (from alice's point) answers
    db.commit()
    B = policy(["ocsp", "crl"], "hard-fail")
    rc, v, why, r = check("frank")
    t.ok(rc == 1 and v == "revocation unknown" and "unreachable" in why and why.endswith("hard-fail")
         and "OCSP responder" in why and "CRL distribution point" in why,
         "responder and distribution point down, hard-fail: revocation unknown, both named", why)
    B = policy(["ocsp", "crl"], "soft-fail")
    rc, v, why, r = check("frank")
    t.ok(rc == 0 and v == "valid" and why.startswith("valid; revocation unknown:") and why.endswith("soft-fail")
         and "accepted: soft-fail" in field(r.stdout, "revocation"),
         "same with soft-fail: valid, and the result says revocation unknown, soft-fail", why)
    B = policy(["ocsp", "crl"], "hard-fail")
    rc, v, why, _ = check("bob")
    t.ok(rc == 1 and v == "revoked" and "(OCSP, from" in why, "ocsp before crl: OCSP answers first", why)
    B = policy(["crl", "ocsp"], "hard-fail")
    rc, v, why, _ = check("carol")
    t.ok(rc == 0 and "(CRL, fetched" in why, "crl before ocsp: the CRL answers first (carol not listed)", why)

    # ---- stale cache refetched ----
    B = policy(["crl"])
    before = hits.get("/ca.crl", 0)
    rc, v, why, _ = check("dave")
    t.ok(rc == 0 and "(CRL, cached)" in why and hits.get("/ca.crl", 0) == before, "dave good by the cached CRL", why)
    sg(A, "ca", "revoke", fprs["dave"])
    publish_crl()
    rc, v, why, _ = check("dave")
    t.ok(rc == 0 and hits.get("/ca.crl", 0) == before,
         "new CRL published, cache still fresh: not fetched, still good (what the cache knows)", why)
    db.execute("UPDATE x509_crls SET next_update = strftime('%s','now') - 10 WHERE url IS NOT NULL")
    db.commit()
    rc, v, why, _ = check("dave")
    t.ok(rc == 1 and v == "revoked" and "fetched from" in why and hits.get("/ca.crl", 0) == before + 1,
         "cache past nextUpdate: refetched, now revoked", why)
    B = policy(["ocsp"])
    db.execute("UPDATE x509_ocsp SET until = strftime('%s','now') - 10, fetched = 0")
    db.commit()
    rc, v, why, _ = check("alice")
    fetched = db.execute("SELECT fetched FROM x509_ocsp WHERE fpr = ?", (fprs["alice"],)).fetchone()
    t.ok(rc == 0 and "(OCSP, from" in why and fetched and fetched[0] > 0,
         "OCSP answer past its time: asked again and cached again", why)

    # ---- rollback: an older CRL (lower number) does not replace the cached one ----
    B = policy(["crl"])
    shutil.copy(os.path.join(www, "ca.crl"), os.path.join(tmp, "new.crl"))
    db.execute("UPDATE x509_crls SET number = number + 5, next_update = 0 WHERE url IS NOT NULL")
    db.commit()
    rc, v, why, _ = check("alice")
    t.ok(rc == 1 and v == "revocation unknown" and "rollback" in why,
         "a CRL numbered below the cached one is refused as a rollback", why)

    # ---- oversized and forged responses ----
    B = policy(["crl", "ocsp"], "hard-fail", "crl_max_size = 4096; ocsp_max_size = 65536;")
    for name, expect, what in [("erin", "larger than 4096 bytes", "oversized CRL (Content-Length) refused"),
                               ("gina", "larger than 4096 bytes", "oversized CRL streamed without Content-Length refused"),
                               ("hana", "larger than 65536 bytes", "oversized OCSP response refused"),
                               ("ivan", "signature does not verify",
                                "a CRL with the CA's name signed by another key is refused")]:
        rc, v, why, _ = check(name)
        t.ok(rc == 1 and v == "revocation unknown" and expect in why, what, why)

    # ---- https distribution point: the server is verified ----
    db.execute("DELETE FROM x509_crls")
    db.commit()
    rc, v, why, _ = check("jack")
    t.ok(rc == 1 and v == "revocation unknown" and "certificate" in why.lower(),
         "https with a server certificate the system does not trust: no answer", why)
    B = policy(["crl"], "hard-fail", f'tls_ca_file = "{tls_cert}";')
    rc, v, why, r = check("jack")
    t.ok(rc == 0 and f"fetched from https://127.0.0.1:{HTTPS}/ca.crl" in why,
         "https with revocation.tls_ca_file trusting the server: CRL fetched", why + r.stderr)

    # ---- who fetched: the helper, dropped to nobody when the test runs as root ----
    want = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    t.ok(peer_uids == {want}, f"every CRL fetch came from uid {want} (the fetch helper), never from the CLI itself",
         str(peer_uids))
    r = sg(B, "cert", "check", os.path.join(tmp, "alice.pem"))
    t.ok("by helper process" in field(r.stdout, "fetches"), "cert check says the fetches run in the helper", r.stdout)

    # ---- ports and fetch off ----
    B = conf("b", f'revocation = {{ methods = ["ocsp"]; unreachable = "hard-fail"; allowed_ports = [{HTTP}]; }};\n')
    db.execute("DELETE FROM x509_ocsp")
    db.commit()
    rc, v, why, _ = check("alice")
    t.ok(rc == 1 and f"port {OCSP} not in revocation.allowed_ports" in why,
         "a responder on a port not allowed is not contacted", why)
    B = conf("b", 'revocation = { methods = ["ocsp", "crl"]; fetch = false; unreachable = "soft-fail"; };\n')
    n = sum(hits.values())
    rc, v, why, _ = check("bob")
    t.ok(rc == 1 and v == "revoked" and sum(hits.values()) == n, "fetch off: the cached CRL still revokes", why)
    db.close()
finally:
    ocsp.terminate()
    ocsp.wait(10)
    ocsp_log.close()
    httpd.shutdown()
    httpsd.shutdown()

t.ok(not sanitizer, "no sanitizer reports from the CLI", "\n".join(sanitizer[:5]))
shutil.rmtree(tmp, ignore_errors=True)
t.done()
