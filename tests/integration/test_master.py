#!/usr/bin/env python3
"""Master, cryptd and queue CLI: supervision, privilege drop, identity processing, crash
recovery, reload, stop, and every `sealgate queue` subcommand. Owner: tests."""
import grp
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, is_root, listdir, parse_qfile, put_message, uid_of, wait_for  # noqa: E402

t = Tap()
# The relay's next hop is a closed port, so processed mail stays in outgoing/ or deferred/.
gw = Gateway(sink=False, next_hop="127.0.0.1:1", binary=asan_binary())
MSG = b"From: a@example.org\r\nTo: user@demo.test\r\nSubject: identity\r\n\r\n\xc3\xa9 8-bit body\r\n..dot\r\n"


def where(qid_prefix):
    for s in ("incoming", "active", "outgoing", "deferred", "hold", "corrupt"):
        for n in listdir(gw.spool, s):
            if n.startswith(qid_prefix):
                return s, n
    return None, None


def uid_of_pid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]


try:
    # Recovery: a message left in active/ by a crashed cryptd is processed at the next start.
    gw.start()  # a first run lays out the spool with its owners and modes
    gw.stop()
    stranded = put_message(gw.spool, "active", MSG)
    leftover = os.path.join(gw.spool, "tmp", "smtpd.1.0000000000000001")
    open(leftover, "w").write("half a message")

    gw.start()
    pids = wait_for(lambda: (lambda p: p if len(p) >= 3 else None)(gw.role_pids()), 10) or gw.role_pids()
    t.ok("cryptd" in pids and "relay" in pids and "smtpd" in pids, "master starts smtpd, cryptd and relay", str(pids))
    t.ok(not os.path.exists(leftover), "unacknowledged tmp leftovers removed at start")
    t.ok(wait_for(lambda: where(stranded)[0] in ("outgoing", "deferred"), 10),
         "message stranded in active/ is recovered and processed", str(where(stranded)))

    # Only cryptd carries the crypto stack; the master and network roles run from sealgate-net
    # and must not even map librnp or GMime (memory per process, and less code facing the net).
    def mapped(pid):
        try:
            with open(f"/proc/{pid}/maps") as f:
                return f.read()
        except OSError:
            return ""
    for role, pid in sorted(pids.items()) + [("master", gw.proc.pid)]:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe")) if os.path.exists(f"/proc/{pid}/exe") else "?"
        maps = mapped(pid)
        heavy = [lib for lib in ("librnp", "libgmime", "libbotan") if lib in maps]
        if role == "cryptd":
            t.ok(exe == "sealgate" and "librnp" in maps, "cryptd runs from the full sealgate binary", exe)
        else:
            t.ok(exe == "sealgate-net" and maps and not heavy, f"{role} runs from sealgate-net without the crypto stack",
                 f"exe={exe} mapped={heavy}")

    if is_root():
        for role in ("cryptd", "smtpd", "relay"):
            want = uid_of("sealgate-" + role)
            # A role drops privileges once it has opened what it needs: wait for that moment.
            got = wait_for(lambda: role in pids and (lambda u: u if u and all(x == want for x in u) else None)(uid_of_pid(pids[role])), 10) \
                or (uid_of_pid(pids[role]) if role in pids else None)
            t.ok(got is not None and all(u == want for u in got), f"{role} runs as sealgate-{role} (real, effective, saved uid)", f"{got} != {want}")
        st = os.stat(os.path.join(gw.base, "store", "sealgate.db"))
        sd = os.stat(os.path.join(gw.base, "store"))
        store_gid = grp.getgrnam("sealgate-store").gr_gid
        t.ok(st.st_uid == uid_of("sealgate-cryptd") and (st.st_mode & 0o7777) == 0o660 and st.st_gid == store_gid
             and sd.st_uid == uid_of("sealgate-cryptd") and (sd.st_mode & 0o7777) == 0o2770 and sd.st_gid == store_gid,
             "store and its directory belong to the cryptd user and the store group (the web role), modes 0660/2770",
             f"{oct(st.st_mode)} {oct(sd.st_mode)}")
        wal = os.path.join(gw.base, "store", "sealgate.db-wal")
        t.ok(not os.path.exists(wal) or os.stat(wal).st_uid == uid_of("sealgate-cryptd"),
             "SQLite's WAL file is the cryptd user's, not root's")
    else:
        t.skip("privilege drop", "not root")

    # Identity processing: bytes and envelope unchanged, output named after the input.
    qid = put_message(gw.spool, "incoming", MSG, sender="s@example.org",
                      rcpts=[("user@demo.test", "SUCCESS,FAILURE", "rfc822;user+40demo.test"), "x@example.net"],
                      envid="ENV+2B1", ret="HDRS", body="8BITMIME", smtputf8=True)
    state = wait_for(lambda: where(qid)[0] in ("outgoing", "deferred") and where(qid), 10)
    t.ok(bool(state) and state[1] == qid + ".0", "cryptd writes one output <id>.0 for the group", str(state))
    t.ok(qid not in listdir(gw.spool, "incoming") and qid not in listdir(gw.spool, "active"), "input removed after output")
    if state:
        env, data = parse_qfile(open(os.path.join(gw.spool, *state), "rb").read())
        t.ok(data == MSG, "identity transform keeps the bytes exactly")
        t.ok(env["from"] == "s@example.org" and env.get("envid") == "ENV+2B1" and env.get("ret") == "HDRS"
             and env.get("body") == "8BITMIME" and env.get("smtputf8") == "1", "envelope fields kept", str(env))
        t.ok([r["addr"] for r in env["rcpt"]] == ["user@demo.test", "x@example.net"]
             and env["rcpt"][0].get("notify") == "SUCCESS,FAILURE"
             and env["rcpt"][0].get("orcpt") == "rfc822;user+40demo.test", "recipients and DSN parameters kept")

    # A corrupt queue file is moved aside, never deleted, never passed on.
    bad = "00000000000000ab"
    with open(os.path.join(gw.spool, "tmp", bad), "wb") as f:
        f.write(b"SEALGATE-QUEUE 1\nid 00000000000000ab\nfrom x\n")
    os.rename(os.path.join(gw.spool, "tmp", bad), os.path.join(gw.spool, "incoming", bad))
    t.ok(wait_for(lambda: bad in listdir(gw.spool, "corrupt"), 10), "torn file moved to corrupt/")
    t.ok("event=corrupt" in gw.log_text(), "corrupt file logged")

    # Supervision: a killed role is restarted.
    old = gw.role_pids().get("cryptd")
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: (gw.role_pids().get("cryptd") or old) != old and gw.role_pids().get("cryptd"), 10)
    t.ok(bool(new), "cryptd killed with SIGKILL is restarted", f"old={old} new={new}")

    # Only one master per base directory.
    second = subprocess.run([gw.binary, "-c", gw.conf, "start"], capture_output=True, text=True, timeout=10)
    t.ok(second.returncode != 0 and "already running" in second.stderr, "a second start is refused", second.stderr[-200:])

    # Reload: a broken file is refused and the roles keep running; a good one restarts them.
    good = open(gw.conf).read()
    cryptd_pid = gw.role_pids().get("cryptd")
    open(gw.conf, "a").write("smtpd = { max_errors = ; };\n")
    gw.proc.send_signal(signal.SIGHUP)
    t.ok(wait_for(lambda: "event=reload-refused" in gw.log_text(), 10), "broken configuration refused on SIGHUP")
    time.sleep(0.5)
    t.ok(gw.proc.poll() is None and gw.role_pids().get("cryptd") == cryptd_pid, "running configuration stays in force")
    open(gw.conf, "w").write(good)
    gw.proc.send_signal(signal.SIGHUP)
    t.ok(wait_for(lambda: "event=reloaded" in gw.log_text(), 15), "good configuration reloaded")
    t.ok(wait_for(lambda: gw.role_pids().get("cryptd") not in (None, cryptd_pid), 10), "roles restarted with the new configuration")

    # CLI.
    out = gw.cli("queue", "list")
    name = state[1] if state else "?"
    t.ok(out.returncode == 0 and name in out.stdout and "<s@example.org>" in out.stdout, "queue list shows the message", out.stdout + out.stderr)
    out = gw.cli("queue", "show", name)
    t.ok(out.returncode == 0 and "rcpt:        <user@demo.test> NOTIFY=SUCCESS,FAILURE" in out.stdout
         and "Subject: identity" in out.stdout and "8-bit body" not in out.stdout,
         "queue show prints envelope and headers, not the body", out.stdout + out.stderr)
    out = gw.cli("queue", "hold", name)
    t.ok(out.returncode == 0 and name in listdir(gw.spool, "hold"), "queue hold moves it to hold/", out.stdout + out.stderr)
    out = gw.cli("queue", "release", name)
    # The relay may be moving it between outgoing/ and deferred/ while where() looks, so wait.
    t.ok(out.returncode == 0 and wait_for(lambda: where(name)[0] in ("outgoing", "deferred"), 10),
         "queue release of processed output goes back to the relay", out.stdout + out.stderr + str(where(name)))
    held = put_message(gw.spool, "hold", MSG)
    out = gw.cli("queue", "release", held)
    t.ok(out.returncode == 0 and wait_for(lambda: where(held)[0] in ("outgoing", "deferred"), 10),
         "queue release of an unprocessed message goes through cryptd", out.stdout + out.stderr)
    dq = put_message(gw.spool, "hold", MSG)
    os.rename(os.path.join(gw.spool, "hold", dq), os.path.join(gw.spool, "deferred", dq + ".0"))
    out = gw.cli("queue", "retry", dq + ".0")
    t.ok(out.returncode == 0 and "deferred -> outgoing" in out.stdout, "queue retry moves deferred to outgoing", out.stdout + out.stderr)
    out = gw.cli("queue", "delete", bad)
    t.ok(out.returncode == 0 and bad not in listdir(gw.spool, "corrupt"), "queue delete removes a message", out.stdout + out.stderr)
    out = gw.cli("queue", "show", "../../etc/passwd")
    t.ok(out.returncode == 2 and "not a queue id" in out.stderr, "paths are not accepted as queue ids")
    out = gw.cli("queue", "show", "0000000000000000")
    t.ok(out.returncode == 1 and "no message" in out.stderr, "unknown id reported")
    out = gw.cli("check-config")
    t.ok(out.returncode == 0 and "configuration OK" in out.stdout, "check-config accepts the running configuration", out.stdout + out.stderr)

    # Stop: SIGTERM ends every role and removes the pid file.
    children = list(gw.role_pids().values())
    rc = gw.stop()
    t.ok(rc == 0, "master exits 0 on SIGTERM", str(rc))
    t.ok(all(not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z" for p in children),
         "no role outlives the master")
    t.ok(not os.path.exists(os.path.join(gw.base, "sealgate.pid")), "pid file removed")
    reports = gw.sanitizer_reports()
    t.ok(not reports, "no sanitizer report from any process", "; ".join(reports[:3]))
finally:
    gw.cleanup()
t.done()
