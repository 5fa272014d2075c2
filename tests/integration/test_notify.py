#!/usr/bin/env python3
"""The master's side of systemd's notify protocol, with a datagram socket standing in for
systemd ($NOTIFY_SOCKET): READY=1 only after every role said it is up, WATCHDOG=1 at half the
WatchdogSec interval, RELOADING=1 then READY=1 on SIGHUP, nothing for a refused reload,
STOPPING=1 on SIGTERM, no READY=1 while a role keeps failing to start, and no role inherits the socket (only the master may speak to systemd;
the unit says NotifyAccess=main). Owner: tests (src/master/notify.c)."""
import os
import re
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, log_events, wait_for  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="sg-notify-")
sock_path = os.path.join(tmp, "notify")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sock_path)
os.chmod(sock_path, 0o666)  # systemd's socket takes datagrams from the service's own user too


def messages(timeout):
    """Datagrams that arrive within timeout seconds, each as a dict of its KEY=VALUE lines."""
    got, end = [], time.time() + timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            d = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(dict(l.split("=", 1) for l in d.splitlines() if "=" in l))
    return got


def until(key, timeout):
    """Messages up to and including the first that carries key (or all within the timeout)."""
    got, end = [], time.time() + timeout
    while time.time() < end:
        m = messages(min(0.5, end - time.time()))
        got += m
        if any(key in x for x in m):
            break
    return got


def events(gw):
    """(process, {key: value}) of every log line (log_events checks the line format)."""
    lines = gw.log_text().splitlines()
    return [(re.match(r"\S+ (\w+)\[", l).group(1), dict(f)) for l, f in zip(lines, log_events("\n".join(lines)))]


gw = Gateway(binary=asan_binary())
os.environ["NOTIFY_SOCKET"] = sock_path
os.environ["WATCHDOG_USEC"] = "1000000"
try:
    gw.start(wait=False)
    first = until("READY", 30)
    ready = [m for m in first if m.get("READY") == "1"]
    t.ok(len(ready) == 1 and ready[0].get("STATUS") == "4 roles running",
         "READY=1 once, with the number of roles in STATUS", str(first))
    # Every role's own "event=started" line is written before it sends its byte: by READY=1 all
    # four have said they are up.
    ev = events(gw)
    up = {who for who, e in ev if e.get("event") == "started"}
    t.ok({"cryptd", "relay"} <= up and ("master", "ready") in [(w, e.get("event")) for w, e in ev],
         "READY=1 comes after cryptd and relay logged event=started", str(up))
    t.ok({e.get("role") for _, e in ev if e.get("event") == "role-started"} == {"smtpd", "cryptd", "relay", "sink"},
         "all four roles were started")

    kicks = [m for m in messages(2.6) if m.get("WATCHDOG") == "1"]
    t.ok(2 <= len(kicks) <= 6, "WATCHDOG=1 about every half interval (1 s: 2..6 in 2.6 s)", str(len(kicks)))

    pids = gw.role_pids()
    leaked = []
    for role, pid in pids.items():
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
        # (the environment a role was exec'd with: its own unsetenv of the ready fd shows not here)
        leaked += [f"{role}:{v[:20]!r}" for v in env if v.startswith((b"NOTIFY_SOCKET=", b"WATCHDOG_"))]
    t.ok(len(pids) == 4 and not leaked, "no role is exec'd with NOTIFY_SOCKET or WATCHDOG_* in its environment",
         f"pids={pids} leaked={leaked}")

    # A refused reload says nothing to systemd: the service stays ready with the old configuration.
    good = open(gw.conf).read()
    with open(gw.conf, "w") as f:
        f.write("this is not libconfig;\n")
    gw.proc.send_signal(signal.SIGHUP)
    refused = wait_for(lambda: "event=reload-refused" in gw.log_text(), 10)
    said = [m for m in messages(1.5) if "WATCHDOG" not in m]
    t.ok(refused and not said, "a refused reload sends neither RELOADING nor READY", str(said))

    with open(gw.conf, "w") as f:
        f.write(good)
    gw.proc.send_signal(signal.SIGHUP)
    rel = [m for m in until("READY", 30) if "WATCHDOG" not in m]
    t.ok([("RELOADING" in m, "READY" in m) for m in rel] == [(True, False), (False, True)],
         "a reload is RELOADING=1, then READY=1 once the new instances are up", str(rel))

    gw.proc.send_signal(signal.SIGTERM)
    stop = [m for m in until("STOPPING", 20) if "WATCHDOG" not in m]
    t.ok(any(m.get("STOPPING") == "1" for m in stop), "SIGTERM: STOPPING=1", str(stop))
    t.ok(gw.proc.wait(20) == 0, "the master exits 0")
    t.ok(not gw.sanitizer_reports(), "no sanitizer reports", "\n".join(gw.sanitizer_reports()[:5]))

    # A role that cannot start (the relay's CA file is missing) keeps the service from READY=1,
    # however long the others are up; a reload that fixes it makes it ready.
    bad = Gateway(binary=asan_binary())
    fine = open(bad.conf).read()
    with open(bad.conf, "w") as f:
        f.write(fine.replace("relay = {", 'relay = { tls = "verify"; tls_ca_file = "/nonexistent/ca.pem";', 1))
    try:
        bad.start(wait=False)
        early = [m for m in messages(6) if "WATCHDOG" not in m]
        dead = "event=start-failed" in bad.log_text() and "event=role-exited role=relay" in bad.log_text()
        t.ok(dead and not any("READY" in m for m in early), "no READY=1 while the relay keeps failing to start",
             f"relay died: {dead}; got {early}")
        with open(bad.conf, "w") as f:
            f.write(fine)
        bad.proc.send_signal(signal.SIGHUP)
        fixed = [m for m in until("READY", 30) if "WATCHDOG" not in m]
        t.ok(any(m.get("READY") == "1" for m in fixed), "READY=1 once a reload lets the relay start", str(fixed))
    finally:
        bad.cleanup()
finally:
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC"):
        os.environ.pop(k, None)
    gw.cleanup()
    sock.close()
    os.unlink(sock_path)
    os.rmdir(tmp)
t.done()
