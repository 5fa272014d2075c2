#!/usr/bin/env python3
"""deb-check-root.py - runs inside the fresh Debian 12 root of scripts/deb-check (as root, no
systemd as PID 1): installs the package with dpkg -i, checks what postinst made, starts the
unit's ExecStartPre and ExecStart as systemd would (its UMask, RuntimeDirectory, NOTIFY_SOCKET,
WATCHDOG_USEC, CapabilityBoundingSet and NoNewPrivileges through setpriv; READY=1 must arrive;
the master keeps CAP_SETUID and CAP_SETGID alone, the roles none), sends a message through it to a fake next hop, reloads, stops; upgrades to
the rebuilt package (KEK bytes, store, TLS pair and a deferred message kept; the rebuild has one
store migration more, which postinst runs; the message is delivered after it), removes (data
kept), purges (data gone). The first administrator: postinst's one-time password file exists
(root, 0600), its password signs in to the installed web role, and the upgrade keeps both. Prints TAP; exits 1 when a check failed. Owner: build.
Usage: deb-check-root.py OLD.deb NEW.deb"""
import hashlib
import http.client
import os
import pwd
import re
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time

OLD, NEW = sys.argv[1], sys.argv[2]
UNIT = "/lib/systemd/system/sealgate.service"
CONF = "/etc/sealgate/sealgate.conf"
BASE = "/var/lib/sealgate"
KEK = BASE + "/keys/kek"
STORE = BASE + "/store/sealgate.db"
PWFILE = "/etc/sealgate/initial-admin-password"
WEB = ("127.0.0.1", 8443)  # the shipped configuration's web.listen (the default)
NEXT_HOP = ("127.0.0.1", 10026)  # the shipped configuration's next hop
n = failed = 0


def ok(cond, what, why=""):
    global n, failed
    n += 1
    failed += not cond
    print(f"{'ok' if cond else 'not ok'} {n} - {what}" + ("" if cond else f": {why}"), flush=True)
    return cond


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


class NextHop:
    """A minimal SMTP server on the next hop's address that keeps every message it accepts."""

    def __init__(self):
        self.got = []
        self.refuse = False  # answer 421: the relay defers, the message waits in the spool
        self.srv = socket.create_server(NEXT_HOP, reuse_port=False)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        f = c.makefile("rwb")

        def reply(s):
            f.write(s.encode() + b"\r\n")
            f.flush()
        if self.refuse:
            reply("421 4.3.2 nexthop.test down for the test")
            c.close()
            return
        reply("220 nexthop.test ESMTP")
        data = None
        for line in f:
            cmd = line.strip().upper()
            if data is not None:
                if line in (b".\r\n", b".\n"):
                    self.got.append(b"".join(data))
                    data = None
                    reply("250 2.0.0 kept")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
            elif cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                reply("250 nexthop.test")
            elif cmd == b"DATA":
                data = []
                reply("354 go on")
            elif cmd == b"QUIT":
                reply("221 bye")
                break
            else:
                reply("250 2.0.0 ok")
        c.close()


def unit_values(key):
    vals = []
    for line in open(UNIT):
        m = re.match(rf"^{key}=(.*)$", line.strip())
        if m:
            vals.append(m.group(1))
    return vals


def unit_caps():
    """setpriv's arguments for the unit's CapabilityBoundingSet= and NoNewPrivileges=: the
    master then has the capabilities it would have under systemd, no more."""
    caps = " ".join(unit_values("CapabilityBoundingSet")).split()
    bset = ",".join(["-all"] + ["+" + c.lower().removeprefix("cap_") for c in caps])
    nnp = ["--no-new-privs"] if unit_values("NoNewPrivileges") == ["yes"] else []
    return ["setpriv", "--bounding-set", bset, "--inh-caps=-all"] + nnp


def start_service():
    """ExecStartPre and ExecStart as systemd would run them; returns (process, notify socket).
    ExecStartPre with "+" runs with every privilege, ExecStart within the unit's bounding set."""
    os.makedirs("/run/sealgate", mode=int(unit_values("RuntimeDirectoryMode")[0], 8), exist_ok=True)
    path = "/run/sg-notify"
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    wd = unit_values("WatchdogSec")[0]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": path, "LANG": "C.UTF-8",
           "WATCHDOG_USEC": str(int(wd.rstrip("s")) * 1000000)}
    umask = int(unit_values("UMask")[0], 8)
    for pre in unit_values("ExecStartPre"):
        r = run(*pre.lstrip("+").split(), env=env)
        ok(r.returncode == 0, f"ExecStartPre {pre} succeeds", r.stdout + r.stderr)
    argv = unit_caps() + unit_values("ExecStart")[0].split()
    p = subprocess.Popen(argv, env=env, stdout=open("/root/sealgate.log", "ab"), stderr=subprocess.STDOUT,
                         preexec_fn=lambda: os.umask(umask), start_new_session=True)
    return p, s


def proc_caps(pid):
    """(real uid, effective capabilities) of a process."""
    st = dict(line.split(":\t", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":\t" in line)
    return st["Uid"].split()[0], int(st["CapEff"], 16)


def children(pid):
    return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def wait_msg(s, key, timeout):
    s.settimeout(1)
    end, seen = time.time() + timeout, []
    while time.time() < end:
        try:
            d = s.recv(4096).decode()
        except socket.timeout:
            continue
        seen.append(d.replace("\n", " "))
        if re.search(rf"^{key}$", d, re.M):
            return True, seen
    return False, seen


def submit(subject):
    msg = f"From: alice@localdomain\r\nTo: bob@example.net\r\nSubject: {subject}\r\n\r\nhello\r\n"
    with smtplib.SMTP("127.0.0.1", 10025, timeout=30) as c:
        c.sendmail("alice@localdomain", ["bob@example.net"], msg)


def arrived(hop, subject, since=0, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if any(f"Subject: {subject}".encode() in m for m in hop.got[since:]):
            return True
        time.sleep(0.2)
    return False


def send_through(hop, subject):
    before = len(hop.got)
    try:
        submit(subject)
    except (OSError, smtplib.SMTPException) as e:
        return f"smtp: {e}"
    return None if arrived(hop, subject, before) else "not at the next hop within 60 s"


def run_service(hop, label, while_up=None):
    p, s = start_service()
    ready, seen = wait_msg(s, "READY=1", 90)
    ok(ready, f"{label}: READY=1 arrives on NOTIFY_SOCKET", f"got {seen}; log:\n" + log_tail())
    caps = {pid: proc_caps(pid) for pid in [p.pid] + children(p.pid)}
    ok(caps[p.pid] == ("0", 0xc0) and len(caps) > 1 and all(c == (c[0], 0) and c[0] != "0" for pid, c in caps.items() if pid != p.pid),
       f"{label}: the master is root with CAP_SETUID, CAP_SETGID alone; every role runs as its own user without one", str(caps))
    err = send_through(hop, f"through {label}")
    ok(err is None, f"{label}: a message sent to 127.0.0.1:10025 arrives at the next hop", f"{err}\n{log_tail()}")
    if while_up:
        while_up()
    reload = unit_values("ExecReload")[0].replace("$MAINPID", str(p.pid)).split()
    r = run(*reload)
    again, seen = wait_msg(s, "READY=1", 60)
    ok(r.returncode == 0 and again and any("RELOADING=1" in x for x in seen),
       f"{label}: ExecReload reloads (RELOADING=1, then READY=1)", f"{r.stderr} {seen}")
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    ok(rc == 0, f"{label}: SIGTERM stops the master, exit 0", str(rc))
    s.close()


def web_login(name, password):
    """The portal's sign-in form as a browser sends it (GET /login for its token, then POST):
    the POST's status, 303 when signed in. The certificate is the self-signed one of postinst."""
    import ssl
    import urllib.parse
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE

    def req(method, path, body=None, headers=None):
        c = http.client.HTTPSConnection(*WEB, context=ctx, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
        finally:
            c.close()
    try:
        _, hdrs, page = req("GET", "/login")
        m = re.search(r'name="pre" value="([0-9a-f]+)"', page)
        cookie = "; ".join(v.split(";", 1)[0] for k, v in hdrs if k.lower() == "set-cookie")
        body = urllib.parse.urlencode({"pre": m.group(1) if m else "", "name": name, "password": password})
        h = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        return req("POST", "/login", body, h)[0]
    except OSError as e:
        return str(e)


def first_admin_password():
    try:
        m = re.search(r"^password: (\S+)$", open(PWFILE).read(), re.M)
        return m.group(1) if m else ""
    except OSError:
        return ""


def check_first_admin(label):
    pw = first_admin_password()
    ok(pw and web_login("admin", pw + "x") != 303 and web_login("admin", pw) == 303,
       f"{label}: the password in {PWFILE} signs in as admin to the web role (a wrong one does not)", log_tail())


def log_tail():
    try:
        return "".join(open("/root/sealgate.log").readlines()[-15:])
    except OSError:
        return ""


def store_dump():
    con = sqlite3.connect(f"file:{STORE}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0], list(con.iterdump())
    finally:
        con.close()


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def mode_owner(path):
    st = os.stat(path)
    return st.st_mode & 0o7777, pwd.getpwuid(st.st_uid).pw_name


# ---- install ----
r = run("dpkg", "-i", OLD)
ok(r.returncode == 0, "dpkg -i of the package", r.stdout[-2000:] + r.stderr[-2000:])
install_said = r.stdout + r.stderr
# cryptd and web are the store group's members (the web role opens the store, never the KEK).
for u, groups in [("sealgate-smtpd", {"sealgate", "sealgate-smtpd"}),
                  ("sealgate-cryptd", {"sealgate", "sealgate-cryptd", "sealgate-store"}),
                  ("sealgate-relay", {"sealgate", "sealgate-relay"}), ("sealgate-sink", {"sealgate-sink"}),
                  ("sealgate-web", {"sealgate", "sealgate-web", "sealgate-store"})]:
    have = set(run("id", "-nG", u).stdout.split())
    ok(have == groups, f"sysusers made {u} with groups {sorted(groups)}", str(have))
ok(os.path.exists(KEK) and mode_owner(KEK) == (0o600, "sealgate-cryptd") and os.path.getsize(KEK) == 32,
   "postinst made the KEK: 32 bytes, sealgate-cryptd, 0600", str(os.path.exists(KEK) and mode_owner(KEK)))
ok(os.path.exists(STORE) and mode_owner(STORE) == (0o660, "sealgate-cryptd"), "postinst made the store (cryptd's and the store group's, 0660)")
cert = run("openssl", "x509", "-in", BASE + "/tls/cert.pem", "-noout", "-subject") if os.path.exists("/usr/bin/openssl") else None
ok(os.path.exists(BASE + "/tls/cert.pem") and os.path.exists(BASE + "/tls/key.pem")
   and mode_owner(BASE + "/tls/key.pem")[0] & 0o077 == 0, "postinst made a TLS certificate and a private key only root reads")
ok(CONF in run("dpkg-query", "--control-show", "sealgate", "conffiles").stdout, "the configuration is a conffile")
ok(re.search(r'listen = "127\.0\.0\.1:', open(CONF).read()) is not None, "the shipped configuration listens on loopback")

pw = first_admin_password()
ok(pw and os.path.exists(PWFILE) and mode_owner(PWFILE) == (0o600, "root") and os.stat(PWFILE).st_gid == 0,
   "postinst made the first administrator's password file: root:root, 0600", str(os.path.exists(PWFILE) and mode_owner(PWFILE)))
ok(PWFILE in install_said and pw not in install_said, "dpkg -i says where the password is and never prints it",
   install_said[-800:])
accounts = run("sealgate", "-c", CONF, "admin", "list").stdout.split()
ok("admin" in accounts and "administrator" in accounts, "the account admin exists with the Administrator role", str(accounts))

v = run("systemd-analyze", "verify", UNIT)
ok(v.returncode == 0 and not v.stderr.strip(), "systemd-analyze verify of the installed unit", v.stderr)
sec = run("systemd-analyze", "security", "--offline=yes", UNIT)
m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout)
score = float(m.group(1)) if m else 99
# What the master's setuid to the role users leaves (docs/operations.md, "Hardening").
print(f"# systemd-analyze security: overall exposure {score}", flush=True)
ok(score <= 2.0, f"systemd-analyze security: exposure {score} <= 2.0", sec.stdout[-1500:] + sec.stderr)

hop = NextHop()
r = run("sealgate", "-c", CONF, "key", "generate", "alice@localdomain")
ok(r.returncode == 0, "a key generated into the store (so the upgrade has data to keep)", r.stderr)

# A message waits in the spool across the upgrade: the next hop refuses, so the relay defers it.
DEFERRED = BASE + "/spool/deferred"


def defer_one():
    hop.refuse = True
    try:
        submit("waits across the upgrade")
    except (OSError, smtplib.SMTPException) as e:
        ok(False, "a message accepted while the next hop is down", str(e))
        return
    end = time.time() + 60
    while time.time() < end and not os.listdir(DEFERRED):
        time.sleep(0.2)
    ok(bool(os.listdir(DEFERRED)), "with the next hop down the message waits in deferred/", log_tail())


def first_run():
    check_first_admin("0.1.0")
    defer_one()


run_service(hop, "0.1.0", first_run)
hop.refuse = False
waiting = sorted(os.listdir(DEFERRED))
kek_before, (ver_before, dump_before) = sha(KEK), store_dump()
tls_before = sha(BASE + "/tls/cert.pem") + sha(BASE + "/tls/key.pem")
pwfile_before = sha(PWFILE)

# ---- upgrade ----
r = run("dpkg", "-i", NEW)
newver = run("dpkg-query", "-W", "-f=${Version}", "sealgate").stdout
ok(r.returncode == 0 and newver != run("dpkg-deb", "-f", OLD, "Version").stdout.strip(),
   f"dpkg -i of the rebuilt package upgrades (now {newver})", r.stdout[-1500:] + r.stderr[-1500:])
ok("prepared /var/lib/sealgate" in r.stdout, "the upgrade's postinst ran the store migrations (sealgate prepare)", r.stdout[-1500:])
ok(sha(KEK) == kek_before, "the upgrade kept the KEK bytes")
ver_after, dump_after = store_dump()
# The rebuild has one migration more (scripts/deb-build, DEB_UPGRADE_MIGRATION=1): postinst ran
# it, and everything the store held before is still there.
added = [x for x in dump_after if x not in set(dump_before)]
ok(ver_before > 0 and ver_after == ver_before + 1 and set(dump_before) <= set(dump_after)
   and added and all("deb_check_upgrade" in x for x in added),
   f"the upgrade migrated the store (schema version {ver_before} -> {ver_after}) and kept its content",
   f"{ver_before} -> {ver_after}, added {added[:5]}, lost {[x for x in dump_before if x not in set(dump_after)][:5]}")
fresh = run("sh", "-c", "mkdir -p /tmp/fresh && printf 'base_dir=\"/tmp/fresh\";\\nsink={enabled=false;};\\n' > /tmp/fresh.conf "
            "&& sealgate -c /tmp/fresh.conf prepare >/dev/null && python3 -c 'import sqlite3; "
            "print(sqlite3.connect(\"/tmp/fresh/store/sealgate.db\").execute(\"PRAGMA user_version\").fetchone()[0])'")
ok(fresh.returncode == 0 and fresh.stdout.strip() == str(ver_after),
   "the kept store has the schema version the new version makes", f"{fresh.stdout} {fresh.stderr}")
ok(sorted(os.listdir(DEFERRED)) == waiting and waiting, "the upgrade kept the spool (the deferred message)")
ok(sha(BASE + "/tls/cert.pem") + sha(BASE + "/tls/key.pem") == tls_before, "the upgrade kept the TLS certificate and key")
ok(sha(PWFILE) == pwfile_before and "exists already" in r.stdout
   and run("sealgate", "-c", CONF, "admin", "list").stdout.split().count("admin") == 1,
   "the upgrade made no second administrator and kept the password file", r.stdout[-800:])


def retry_waiting():
    check_first_admin(newver)
    r = run("sealgate", "-c", CONF, "queue", "retry", "all")
    ok(r.returncode == 0 and arrived(hop, "waits across the upgrade"),
       "after the upgrade `sealgate queue retry all` delivers the message that waited",
       f"{r.stdout} {r.stderr}\n{log_tail()}")


run_service(hop, newver, retry_waiting)

ok(pw and pw not in open("/root/sealgate.log", errors="replace").read(), "the password is not in the service's log")

# ---- remove, purge ----
r = run("dpkg", "-r", "sealgate")
ok(r.returncode == 0 and not os.path.exists("/usr/bin/sealgate"), "dpkg -r removes the program", r.stderr)
ok(os.path.exists(KEK) and sha(KEK) == kek_before and os.path.exists(STORE) and os.path.exists(CONF),
   "remove keeps the KEK, the store and the configuration")
r = run("dpkg", "-P", "sealgate")
ok(r.returncode == 0 and not os.path.exists(BASE) and not os.path.exists("/etc/sealgate"),
   "dpkg -P removes /var/lib/sealgate and /etc/sealgate", r.stderr)
ok("purge deletes /var/lib/sealgate" in r.stdout + r.stderr, "purge says what it deletes", r.stdout + r.stderr)
print(f"1..{n}")
print(f"deb-check: {n - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
