#!/usr/bin/env python3
"""Role confinement (issue 9, item 7): each spool state has the owner it needs, tried as each
running role's own credentials (uid and groups read from /proc); no_new_privs in every role;
the sink under a user of its own; the web role reads the store but never the KEK nor a spool
state; the master's restart back-off starts again after a healthy
run; and a gateway started as an ordinary user still carries mail (nothing to drop).
Owner: src/master."""
import errno
import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import BINARY, Gateway, Tap, free_port, is_root, put_message, wait_for  # noqa: E402

t = Tap()
MSG = b"From: a@example.org\r\nTo: user@demo.test\r\nSubject: roles\r\n\r\nbody\r\n"


def creds(pid):
    """(uid, gid, [groups]) of a running process."""
    uid = gid = None
    groups = []
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Uid":
                uid = int(v.split()[0])
            elif k == "Gid":
                gid = int(v.split()[0])
            elif k == "Groups":
                groups = [int(x) for x in v.split()]
    return uid, gid, groups


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def as_creds(c, op, path):
    """Runs op on path in a child with the credentials c; returns 0 or the errno."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            os.setgroups(c[2])
            os.setresgid(c[1], c[1], c[1])
            os.setresuid(c[0], c[0], c[0])
            if op == "list":
                os.listdir(path)
            elif op == "read":
                with open(path, "rb") as f:
                    f.read(1)
            elif op == "create":
                name = os.path.join(path, "probe.%d" % os.getpid())
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
                os.unlink(name)
        except OSError as e:
            code = e.errno or 255
        os.write(w, str(code).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 16)
    os.close(r)
    os.waitpid(pid, 0)
    return int(out or b"255")


def spool_access(gw, pids):
    """Every allowed and forbidden access of issue 9, as each role's own uid and groups."""
    sp = gw.spool
    states = [s for s in ("incoming", "hold", "active", "outgoing", "deferred", "dsn")
              if os.path.isdir(os.path.join(sp, s))]
    for state in states:
        # A name no role processes (not a queue id), so it stays where it was planted.
        with open(os.path.join(sp, "tmp", "plant"), "wb") as f:
            f.write(MSG)
        os.rename(os.path.join(sp, "tmp", "plant"), os.path.join(sp, state, "planted"))
    allowed, denied = "allowed", "denied"
    cases = [
        ("smtpd", "create", "incoming", allowed), ("smtpd", "create", "tmp/smtpd", allowed),
        ("smtpd", "list", "incoming", denied), ("smtpd", "list", "hold", denied), ("smtpd", "read", "hold/planted", denied),
        ("smtpd", "create", "outgoing", denied), ("smtpd", "read", "outgoing/planted", denied),
        ("smtpd", "list", "active", denied), ("smtpd", "list", "deferred", denied),
        ("smtpd", "create", "deferred", denied), ("smtpd", "read", "deferred/planted", denied),
        ("smtpd", "list", "dsn", denied), ("smtpd", "list", "corrupt", denied),
        ("smtpd", "list", "tmp/cryptd", denied),
        ("cryptd", "list", "incoming", allowed), ("cryptd", "read", "incoming/planted", allowed),
        ("cryptd", "list", "hold", allowed), ("cryptd", "list", "active", allowed),
        ("cryptd", "list", "dsn", allowed), ("cryptd", "read", "dsn/planted", allowed),
        ("cryptd", "create", "outgoing", allowed), ("cryptd", "create", "tmp/cryptd", allowed),
        # The queue operations run in cryptd for every state but corrupt/ (docs/architecture.md).
        ("cryptd", "list", "outgoing", allowed), ("cryptd", "read", "outgoing/planted", allowed),
        ("cryptd", "list", "deferred", allowed), ("cryptd", "read", "deferred/planted", allowed),
        ("cryptd", "create", "deferred", allowed), ("cryptd", "list", "corrupt", denied),
        ("cryptd", "list", "tmp/relay", denied),
        ("relay", "list", "outgoing", allowed), ("relay", "read", "outgoing/planted", allowed),
        ("relay", "list", "deferred", allowed), ("relay", "create", "deferred", allowed),
        ("relay", "create", "dsn", allowed), ("relay", "create", "tmp/relay", allowed),
        ("relay", "list", "dsn", denied),
        ("relay", "list", "incoming", denied), ("relay", "read", "incoming/planted", denied),
        ("relay", "create", "incoming", denied),
        ("relay", "list", "hold", denied), ("relay", "read", "hold/planted", denied),
        ("relay", "list", "active", denied), ("relay", "read", "active/planted", denied),
        ("relay", "list", "corrupt", denied), ("relay", "list", "tmp/cryptd", denied),
        ("relay", "list", "tmp/smtpd", denied), ("relay", "create", "hold", denied),
        ("sink", "list", "", denied), ("sink", "read", "incoming/planted", denied),
        ("sink", "read", "outgoing/planted", denied),
    ]
    for role, op, rel, want in cases:
        if role not in pids:
            t.ok(False, f"{role} {op} {rel}: role running", str(pids))
            continue
        got = as_creds(creds(pids[role]), op, os.path.join(sp, rel))
        ok = got == 0 if want == allowed else got == errno.EACCES
        t.ok(ok, f"as {role}'s user: {op} spool/{rel} {want}", os.strerror(got) if got else "succeeded")
    nd = os.path.join(gw.sink_dir, "new")
    t.ok(as_creds(creds(pids["sink"]), "create", nd) == 0, "as sink's user: create in its maildir allowed")
    t.ok(as_creds(creds(pids["relay"]), "create", nd) == errno.EACCES,
         "as relay's user: create in the sink's maildir denied")
    # The web role (docs/web.md): the store through its group, never the KEK, no spool state.
    web = creds(pids["web"]) if "web" in pids else None
    for op, path, want in [("read", os.path.join(gw.base, "store", "sealgate.db"), allowed),
                           ("create", os.path.join(gw.base, "store"), allowed),
                           ("read", os.path.join(gw.base, "keys", "kek"), denied),
                           ("list", os.path.join(gw.base, "keys"), denied),
                           ("list", os.path.join(sp, "hold"), denied), ("read", os.path.join(sp, "hold", "planted"), denied),
                           ("create", os.path.join(sp, "incoming"), denied), ("list", os.path.join(sp, "deferred"), denied),
                           ("create", os.path.join(sp, "outgoing"), denied), ("list", os.path.join(sp, "tmp", "cryptd"), denied),
                           ("list", os.path.join(sp, "outgoing"), denied),
                           ("read", os.path.join(sp, "outgoing", "planted"), denied),
                           ("read", os.path.join(sp, "deferred", "planted"), denied)]:
        if not web:
            t.ok(False, f"web {op} {path}: role running", str(pids))
            continue
        got = as_creds(web, op, path)
        ok = got == 0 if want == allowed else got == errno.EACCES
        t.ok(ok, f"as web's user: {op} {os.path.relpath(path, gw.base)} {want}", os.strerror(got) if got else "succeeded")
    for role in ("smtpd", "relay", "sink"):
        got = as_creds(creds(pids[role]), "read", os.path.join(gw.base, "store", "sealgate.db"))
        t.ok(got == errno.EACCES, f"as {role}'s user: read the store denied (only cryptd and web are in its group)",
             os.strerror(got) if got else "succeeded")
    for state in states:
        os.unlink(os.path.join(sp, state, "planted"))


def backoff(gw):
    """Quick deaths back off 1, 2, 4 s; after a healthy run the back-off starts again."""
    def kill_relay():
        """Kills the running relay; returns the master's restart_in for it once it is back."""
        old = wait_for(lambda: gw.role_pids().get("relay"), 20)
        os.kill(old, signal.SIGKILL)
        mark = "role-died role=relay pid=%d " % old
        wait_for(lambda: mark in gw.log_text(), 10)
        line = [l for l in gw.log_text().splitlines() if mark in l]
        wait_for(lambda: (gw.role_pids().get("relay") or old) != old, 20)
        return line[-1].rsplit("restart_in=", 1)[1] if line else "?"

    # a dead role's half-written files in its own tmp/ROLE/ are removed by the master
    pid = wait_for(lambda: gw.role_pids().get("relay"), 20)
    left = os.path.join(gw.spool, "tmp", "relay", "relay.%d.0000000000000001" % pid) if is_root() else None
    if left:
        open(left, "w").write("half a message")
    quick = [kill_relay() for _ in range(3)]
    if left:
        t.ok(not os.path.exists(left), "the master removes a dead role's files from its tmp/relay/")
    t.ok(quick == ["1s", "2s", "4s"], "a role dying quickly is restarted after 1, 2, 4 s", str(quick))
    time.sleep(11)  # a healthy run: longer than the master's HEALTHY_RUN (10 s)
    after = [kill_relay(), kill_relay()]
    t.ok(after == ["0s", "1s"], "after a healthy run: restarted at once, then the back-off from 1 s again", str(after))


def non_root():
    """The whole gateway as an ordinary user: no drop, same mail flow."""
    user = "sealgate-sink"  # any unprivileged account; the test only needs its uid
    pw = pwd.getpwnam(user)
    gw = Gateway()
    gw.write_config('internal_domains = ["demo.test"];\n')
    for dp, dns, fns in os.walk(gw.dir):
        for x in [dp] + [os.path.join(dp, f) for f in fns]:
            os.chown(x, pw.pw_uid, pw.pw_gid)
    gw.logf = open(gw.log, "ab")
    gw.proc = subprocess.Popen(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
                                gw.binary, "-c", gw.conf, "start"], stdout=gw.logf, stderr=gw.logf,
                               start_new_session=True)
    try:
        wait_for(lambda: "event=started workers" in gw.log_text(), 20)
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
            s.sendmail("a@example.org", ["user@demo.test"], MSG)
        nd = os.path.join(gw.sink_dir, "new")
        t.ok(wait_for(lambda: os.path.isdir(nd) and os.listdir(nd), 20),
             "started as an ordinary user, mail still flows through every role", gw.log_text()[-600:])
        pids = gw.role_pids()
        t.ok(pids and all(creds(p)[0] == pw.pw_uid for p in pids.values()),
             "as an ordinary user every role keeps that user", str({r: creds(p)[0] for r, p in pids.items()}))
    finally:
        gw.cleanup()


gw = Gateway(web=True)
try:
    if not is_root():
        t.skip("spool ownership per role user", "not root")
        gw.start()
    else:
        gw.start()
        pids = wait_for(lambda: (lambda p: p if len(p) == 5 else None)(gw.role_pids()), 20) or gw.role_pids()
        # each role drops after opening what it needs: wait until all have
        wait_for(lambda: all(creds(p)[0] != 0 for p in gw.role_pids().values()), 20)
        pids = gw.role_pids()
        sink_uid = pwd.getpwnam("sealgate-sink").pw_uid
        t.ok("sink" in pids and creds(pids["sink"])[0] == sink_uid
             and creds(pids["sink"])[1] != pwd.getpwnam("sealgate-relay").pw_gid,
             "the sink runs as sealgate-sink, outside the spool group", str(creds(pids["sink"])) if "sink" in pids else "")
        spool_access(gw, pids)
    pids = gw.role_pids()
    for role in ("smtpd", "cryptd", "relay", "sink", "web"):
        t.ok(role in pids and status_field(pids[role], "NoNewPrivs") == "1", f"{role} runs with no_new_privs",
             status_field(pids[role], "NoNewPrivs") if role in pids else "not running")
    qid = put_message(gw.spool, "incoming", MSG)
    t.ok(wait_for(lambda: any(os.listdir(os.path.join(gw.sink_dir, "new"))), 20),
         "mail still flows with the new owners", qid)
    backoff(gw)
finally:
    gw.cleanup()
if is_root() and shutil.which("setpriv"):
    non_root()
else:
    t.skip("gateway as an ordinary user", "not root or no setpriv")
t.done()
