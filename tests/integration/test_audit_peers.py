#!/usr/bin/env python3
"""Peers witnessing each other (issue 14, docs/notary.md "Witnessing") with two gateways on
loopback: gateway B publishes its log's checkpoints and consistency proofs through its web role
(audit.publish); gateway A runs `sealgate audit witness` against B's HTTPS endpoint (through
src/net, B's certificate as the CA): the first checkpoint is accepted and cosigned, a later one
after more entries is accepted with B's consistency proof (checked by A) and cosigned, and the
cosignature lines verify in this file with python3-cryptography (C2SP tlog-cosignature). Then
a misbehaving peer (a Python HTTPS server holding B's key) presents another tree of a size A
has seen: A reports the fork (exit 3), keeps both signed notes as evidence, and logs a
`peer-fork` entry in its own log. Owner: src/audit."""
import base64
import glob
import hashlib
import http.server
import os
import shutil
import ssl
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, free_port, wait_for, wait_port  # noqa: E402
import tlogverify as tlv  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

t = Tap()
A = Gateway(sink=False, next_hop="127.0.0.1:1")
B = Gateway(sink=False, next_hop="127.0.0.1:1", web=True)
AUDIT = "audit = { checkpoint_every = 1; checkpoint_seconds = 1; %s };\n"
A.write_config(AUDIT % "")
B.write_config(AUDIT % "publish = true;")
for gw, host in ((A, "gw-a.demo.test"), (B, "gw-b.demo.test")):
    with open(gw.conf) as f:
        text = f.read().replace('hostname = "gw.demo.test";', f'hostname = "{host}";')
    with open(gw.conf, "w") as f:
        f.write(text)
B_ORIGIN, A_ORIGIN = "gw-b.demo.test/sealgate-audit", "gw-a.demo.test/sealgate-audit"
fake = None


def cosig_ok(line, witness, pub, note):
    """C2SP tlog-cosignature, checked from its definition."""
    prefix = "\u2014 " + witness + " "
    if not line.startswith(prefix):
        return False
    raw = base64.b64decode(line[len(prefix):].strip())
    if raw[:4] != hashlib.sha256(witness.encode() + b"\n\x04" + pub).digest()[:4]:
        return False
    (ts,) = struct.unpack(">Q", raw[4:12])
    body = note.partition("\n\n")[0] + "\n"
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(raw[12:], f"cosignature/v1\ntime {ts}\n{body}".encode())
        return True
    except Exception:
        return False


def witness(url, origin, key, ca):
    return subprocess.run([A.binary, "-c", A.conf, "audit", "witness", url, origin, key, "--ca", ca,
                           "--connect-to", f"gw-b.demo.test:{url.rsplit(':', 1)[1]}:127.0.0.1:{url.rsplit(':', 1)[1]}"],
                          capture_output=True, text=True, timeout=60)


try:
    A.start()
    B.start()
    t.ok(wait_port(B.web_port, 15), "gateway B's web role listens")
    for _ in range(3):
        B.cli("admin", "list")
    wait_for(lambda: B.cli("audit", "show", "2", "--json").stdout.count('"checkpoint"'), 15)
    bkey = open(os.path.join(B.base, "keys", "audit.pub")).read().strip()
    bpub = base64.b64decode(bkey)
    apub = base64.b64decode(open(os.path.join(A.base, "keys", "audit.pub")).read().strip())
    ca = os.path.join(B.base, "tls", "cert.pem")
    url = f"https://gw-b.demo.test:{B.web_port}"
    r = witness(url, B_ORIGIN, bkey, ca)
    lines = r.stdout.splitlines()
    note1 = open(glob.glob(os.path.join(A.base, "audit", "peers", "*.note"))[0]).read() if r.returncode == 0 else ""
    t.ok(r.returncode == 0 and lines[0].startswith("new " + B_ORIGIN) and tlv.check_note(note1, bpub),
         "A accepts B's first checkpoint over HTTPS (B's signature checked) and keeps it", r.stdout + r.stderr)
    t.ok(len(lines) > 1 and cosig_ok(lines[1], A_ORIGIN, apub, note1),
         "A's cosignature of it verifies independently (C2SP tlog-cosignature)", r.stdout)
    size1 = tlv.check_note(note1, bpub)[1] if note1 else 0
    for _ in range(5):
        B.cli("admin", "list")
    wait_for(lambda: (lambda n: n and n[1] > size1 + 3)(tlv.check_note(subprocess.run(
        ["curl", "-sk", f"https://127.0.0.1:{B.web_port}/.well-known/sealgate-notary/checkpoint"],
        capture_output=True, text=True).stdout, bpub)), 15)
    r = witness(url, B_ORIGIN, bkey, ca)
    note2 = open(glob.glob(os.path.join(A.base, "audit", "peers", "*.note"))[0]).read()
    lines = r.stdout.splitlines()
    t.ok(r.returncode == 0 and lines[0].startswith("new ") and "consistent" in lines[0]
         and tlv.check_note(note2, bpub)[1] > size1 and cosig_ok(lines[1], A_ORIGIN, apub, note2),
         "after more entries: the larger checkpoint is consistent with the first (B's proof) and cosigned",
         r.stdout + r.stderr)
    r = witness(url, B_ORIGIN, bkey, ca)
    t.ok(r.returncode == 0 and r.stdout.startswith(("same ", "new ")), "asked again: the same tree (or a newer one)",
         r.stdout + r.stderr)

    # ---- a misbehaving peer: B's key, another tree of a size A has accepted ----
    origin_line, size_s, _ = note2.split("\n")[:3]
    pem = open(os.path.join(B.base, "keys", "audit.key"), "rb").read()
    k = serialization.load_pem_private_key(pem, None)
    assert isinstance(k, Ed25519PrivateKey)
    body = f"{origin_line}\n{size_s}\n{base64.b64encode(hashlib.sha256(b'another tree').digest()).decode()}\n"
    kid = hashlib.sha256(origin_line.encode() + b"\n\x01" + bpub).digest()[:4]
    forged = body + f"\n\u2014 {origin_line} {base64.b64encode(kid + k.sign(body.encode())).decode()}\n"
    t.ok(tlv.check_note(forged, bpub) is not None, "the misbehaving peer's note carries a valid signature of B's key")

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = forged.encode() if self.path.endswith("/checkpoint") else b""
            self.send_response(200 if data else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass
    port = free_port()
    fake = http.server.HTTPServer(("127.0.0.1", port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ca, os.path.join(B.base, "tls", "key.pem"))
    fake.socket = ctx.wrap_socket(fake.socket, server_side=True)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    r = fork_r = witness(f"https://gw-b.demo.test:{port}", B_ORIGIN, bkey, ca)
    ev = sorted(glob.glob(os.path.join(A.base, "audit", "evidence", "*")))
    kept = ev and {os.path.basename(p) for p in glob.glob(os.path.join(ev[-1], "*"))} >= {"accepted.note", "presented.note"}
    t.ok(r.returncode == 3 and "FORK" in r.stdout and kept
         and open(os.path.join(ev[-1], "presented.note")).read() == forged
         and open(os.path.join(ev[-1], "accepted.note")).read() == note2,
         "the fork is reported (exit 3) with both signed notes kept as evidence", r.stdout + r.stderr)
    d = os.path.join(A.dir, "exp")
    A.cli("audit", "export", d)
    kinds = [dict(tlv.fields(e)[1]) for e in tlv.parse_entries(open(os.path.join(d, "entries"), "rb").read())
             if tlv.fields(e)[0] == 3]
    t.ok(any(f.get("event") == "peer-fork" and f.get("peer") == B_ORIGIN and f.get("note-b") == forged for f in kinds),
         "A's own log holds the peer-fork entry with the presented note")
    t.ok("event=peer-fork" in fork_r.stderr + A.log_text(), "the fork is logged (event=peer-fork)", fork_r.stderr)
    r = A.cli("audit", "verify")
    t.ok(r.returncode == 0, "A's log verifies", r.stdout + r.stderr)
finally:
    if fake:
        fake.shutdown()
    for gw in (A, B):
        try:
            gw.stop()
        except Exception:
            pass
        shutil.rmtree(gw.dir, ignore_errors=True)
t.done()
