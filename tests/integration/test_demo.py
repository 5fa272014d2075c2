#!/usr/bin/env python3
"""The `make run` shape: `sealgate start` on the embedded defaults (no configuration file), in a
fresh directory. swaks with STARTTLS → 127.0.0.1:10025 → cryptd → relay → built-in sink →
run/sink/new/, the portal on https://127.0.0.1:8443, and the CLI acting on that instance
without flags. Owner: tests."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import BINARY, Tap, wait_for, wait_port  # noqa: E402

t = Tap()


def port_free(p):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", p)) != 0


if not (port_free(10025) and port_free(10027) and port_free(8443)):
    t.ok(False, "demo ports 10025, 10027 and 8443 are free", "something else listens there (a `make run`?)")
    t.done()

work = tempfile.mkdtemp(prefix="sg-demo-")
os.chmod(work, 0o755)
env = {k: v for k, v in os.environ.items() if k != "SEALGATE_CONFIG"}
log = open(os.path.join(work, "gateway.log"), "wb")
proc = subprocess.Popen([BINARY, "start"], cwd=work, env=env, stdout=log, stderr=log, start_new_session=True)
try:
    t.ok(wait_port(10025, 15), "smtpd listens on 127.0.0.1:10025 with no configuration file")
    t.ok(wait_port(10027, 15), "the built-in sink listens on 127.0.0.1:10027")
    body = "demo body line\n"
    sw = subprocess.run(["swaks", "--server", "127.0.0.1:10025", "--from", "alice@demo.test",
                         "--to", "bob@example.net", "--header", "Subject: demo", "--body", body, "--tls"],
                        capture_output=True, text=True, timeout=60)
    t.ok(sw.returncode == 0 and "250 2.0.0" in sw.stdout, "swaks with STARTTLS is accepted", sw.stdout[-600:] + sw.stderr[-300:])
    files = wait_for(lambda: glob.glob(os.path.join(work, "run", "sink", "new", "*")), 20)
    t.ok(len(files or []) == 1, "the message arrives in run/sink/new/", str(files))
    if files:
        data = open(files[0], "rb").read()
        t.ok(data.startswith(b"Return-Path: <alice@demo.test>\r\nDelivered-To: bob@example.net\r\n")
             and b"Subject: demo" in data and b"demo body line" in data, "sink file has the envelope and the message", data[:300])
    cert = os.path.join(work, "run", "tls", "cert.pem")
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-subject", "-issuer"], capture_output=True, text=True)
    t.ok(out.returncode == 0 and "sealgate.demo.test" in out.stdout, "a self-signed certificate for the hostname was generated", out.stdout + out.stderr)
    t.ok(os.path.exists(os.path.join(work, "run", "store", "sealgate.db")), "the SQLite store exists")
    t.ok(wait_port(8443, 15), "the portal listens on 127.0.0.1:8443")
    portal = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:8443", "-quiet"], input="GET /login HTTP/1.0\r\n\r\n",
                            capture_output=True, text=True, timeout=30)
    t.ok("200 OK" in portal.stdout and "Sign in" in portal.stdout, "... over TLS with the gateway's certificate: the sign-in page",
         portal.stdout[:300] + portal.stderr[-300:])
    q = subprocess.run([BINARY, "queue", "list"], cwd=work, env=env, capture_output=True, text=True, timeout=20)
    t.ok(q.returncode == 0 and "0 messages" in q.stdout, "`sealgate queue list` acts on the running instance without flags", q.stdout + q.stderr)
    c = subprocess.run([BINARY, "check-config"], cwd=work, env=env, capture_output=True, text=True, timeout=20)
    t.ok(c.returncode == 0 and "(embedded defaults)" in c.stdout, "check-config reports the embedded defaults", c.stdout + c.stderr)
finally:
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
    t.ok(rc == 0, "the gateway stops cleanly on SIGTERM", str(rc))
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
t.done()
