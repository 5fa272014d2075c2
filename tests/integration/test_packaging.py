#!/usr/bin/env python3
"""The Debian packaging agrees with the code, fast (the package build itself is `make deb-check`):
the sysusers.d users and groups are the ones scripts/deps.sh makes and the configuration's
defaults name (users.*), with the same memberships; the unit starts the installed binary on the
conffile the package installs, is Type=notify with NotifyAccess=main, reloads with SIGHUP, keeps
only CAP_SETUID and CAP_SETGID with `sealgate prepare` as privileged ExecStartPre, and its state
and runtime directories are the conffile's base_dir and pid_file's directory; the conffile loads
and listens on loopback; `sealgate prepare` (what postinst runs) makes the KEK, store, TLS pair
and spool and keeps them when run again; as root, the master started within the unit's bounding
set and no_new_privs (setpriv) starts every role, each without a capability under its own user,
reloads and stops; `systemd-analyze verify` passes and `systemd-analyze security` scores 2.0 or
lower when systemd is installed. Owner: build."""
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ports import free_port  # noqa: E402
from sgtest import BINARY, ROOT, Tap, wait_for  # noqa: E402

t = Tap()
D = os.path.join(ROOT, "debian")


def read(*p):
    with open(os.path.join(ROOT, *p)) as f:
        return f.read()


# ---- users ----
sysusers = [l.split() for l in read("debian", "sealgate.sysusers").splitlines() if l.strip() and not l.startswith("#")]
s_groups = {l[1] for l in sysusers if l[0] == "g"}
s_users = {l[1]: l[2].split(":")[1] for l in sysusers if l[0] == "u"}  # user -> primary group
s_members = {(l[1], l[2]) for l in sysusers if l[0] == "m"}

deps = read("scripts", "deps.sh")
roles = re.search(r"for u in ([^;]+); do", deps).group(1).split()
d_users = {u: "sealgate" for u in roles}
d_users.update({u: u for u in re.findall(r"useradd --system --gid (\S+) ", deps) if u != "sealgate"})
d_groups = {"sealgate", *roles, *[g for g in re.findall(r"groupadd --system (\S+)", deps) if not g.startswith('"')]}
t.ok(s_users == d_users, "sysusers.d makes the users of scripts/deps.sh with the same primary groups",
     f"{s_users} != {d_users}")
t.ok(s_groups == d_groups, "sysusers.d makes the groups of scripts/deps.sh", f"{s_groups} != {d_groups}")
store_members = re.search(r"for u in ([^;]+); do\n[^\n]*usermod -a -G sealgate-store", deps).group(1).split()
t.ok(s_members == {(u, u) for u in roles} | {(u, "sealgate-store") for u in store_members},
     "each role user is a member of its own group (the spool names them), the store's users of sealgate-store",
     str(s_members))

config_c = read("src", "lib", "config.c")
defaults = dict(re.findall(r'set_str\(&c->users\.(\w+), "([^"]+)"\)', config_c))
t.ok(set(defaults.values()) == set(s_users) | {"sealgate", "sealgate-store"} and defaults.get("group") == "sealgate"
     and defaults.get("store_group") == "sealgate-store",
     "the configuration's default users.* are the sysusers.d users and group", str(defaults))

# ---- unit ----
unit = read("debian", "sealgate.service")


def values(key):
    return re.findall(rf"^{key}=(.*)$", unit, re.M)


conf_dest = read("debian", "sealgate.install").split()
conf_path = "/" + conf_dest[1].strip("/") + "/" + os.path.basename(conf_dest[0])
t.ok(values("Type") == ["notify"] and values("NotifyAccess") == ["main"],
     "Type=notify and only the master may notify", str(values("Type") + values("NotifyAccess")))
t.ok(values("ExecStart") == [f"/usr/bin/sealgate -c {conf_path} start"],
     "ExecStart is the installed binary (meson's bindir) on the installed conffile", str(values("ExecStart")))
t.ok(values("ExecReload") == ["/bin/kill -HUP $MAINPID"], "ExecReload is SIGHUP (the master's reload)")
caps = set(" ".join(values("CapabilityBoundingSet")).split())
t.ok(caps == {"CAP_SETUID", "CAP_SETGID"} and values("NoNewPrivileges") == ["yes"],
     "the bounding set is what the master needs to become the role users, no more; no_new_privs", str(caps))
t.ok(values("ExecStartPre") == [f"+/usr/bin/sealgate -c {conf_path} prepare"],
     "ExecStartPre runs `sealgate prepare` with full privileges (owners the master cannot set)",
     str(values("ExecStartPre")))
t.ok(values("UMask") == ["0077"] and "fchmod(w->fd, 0640)" in read("src", "queue", "queue.c"),
     "UMask=0077, and queue files set their 0640 themselves (roles share them by group)")
t.ok(values("WatchdogSec") and int(values("WatchdogSec")[0].rstrip("s")) > 30,
     "WatchdogSec is above the 30 s a reload may wait for a role", str(values("WatchdogSec")))

conf = read("debian", "sealgate.conf")
base = re.search(r'^base_dir = "([^"]+)";', conf, re.M).group(1)
pid = re.search(r'^pid_file = "([^"]+)";', conf, re.M).group(1)
t.ok(base == "/var/lib/" + values("StateDirectory")[0], "StateDirectory is the conffile's base_dir", base)
t.ok(os.path.dirname(pid) == "/run/" + values("RuntimeDirectory")[0], "RuntimeDirectory holds the pid file", pid)
t.ok(values("ProtectSystem") == ["strict"] and not values("ReadWritePaths"),
     "ProtectSystem=strict with only the state and runtime directories writable")

# The conffile loads (its base_dir moved into a temp directory, the rest as shipped).
tmp = tempfile.mkdtemp(prefix="sg-pkg-")
os.chmod(tmp, 0o755)  # as root the role users must reach the spool below it
try:
    cpath = os.path.join(tmp, "sealgate.conf")
    with open(cpath, "w") as f:
        f.write(conf.replace(f'base_dir = "{base}";', f'base_dir = "{tmp}/base";')
                .replace(f'pid_file = "{pid}";', 'pid_file = "sealgate.pid";'))
    r = subprocess.run([BINARY, "-c", cpath, "check-config"], capture_output=True, text=True, timeout=30)
    listen = re.search(r"^smtpd\.listen:\s+(\S+)", r.stdout, re.M)
    t.ok(r.returncode == 0 and listen and listen.group(1).startswith("127.0.0.1:"),
         "the conffile loads and smtpd listens on loopback", r.stdout[-800:] + r.stderr)

    # What postinst runs on every install and upgrade: `sealgate prepare`, twice here.
    r1 = subprocess.run([BINARY, "-c", cpath, "prepare"], capture_output=True, text=True, timeout=60)
    kek = os.path.join(tmp, "base", "keys", "kek")
    made = {n: os.path.exists(os.path.join(tmp, "base", n))
            for n in ("keys/kek", "store/sealgate.db", "tls/cert.pem", "tls/key.pem", "spool/incoming")}
    t.ok(r1.returncode == 0 and all(made.values()), "sealgate prepare makes the KEK, the store, the TLS pair, the spool",
         f"{r1.stderr} {made}")
    first = open(kek, "rb").read() if os.path.exists(kek) else b""
    cert = open(os.path.join(tmp, "base", "tls", "cert.pem"), "rb").read() if made["tls/cert.pem"] else b""
    t.ok(len(first) == 32 and os.stat(kek).st_mode & 0o077 == 0, "the KEK: 32 bytes, no access for group or others")
    if os.geteuid() == 0:
        t.ok(pwd.getpwuid(os.stat(kek).st_uid).pw_name == "sealgate-cryptd", "as root the KEK is the cryptd user's")
    r2 = subprocess.run([BINARY, "-c", cpath, "prepare"], capture_output=True, text=True, timeout=60)
    t.ok(r2.returncode == 0 and open(kek, "rb").read() == first
         and open(os.path.join(tmp, "base", "tls", "cert.pem"), "rb").read() == cert,
         "a second prepare (an upgrade) keeps the KEK and the certificate", r2.stderr)

    # postinst makes the first administrator after prepare (test_admin_bootstrap drives that command).
    post = [l.strip() for l in read("debian", "sealgate.postinst").splitlines() if l.strip().startswith("sealgate ")]
    t.ok(post == [f"sealgate -c {conf_path} prepare", f"sealgate -c {conf_path} admin bootstrap"],
         "postinst runs prepare, then admin bootstrap, on the installed conffile", str(post))

    # The master as the unit runs it: after ExecStartPre's prepare (above), within the bounding
    # set and with no_new_privs, as setpriv sets them (make deb-check does the same, with mail).
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        t.skip("the master within the unit's bounding set", "needs root and setpriv")
    else:
        spath = os.path.join(tmp, "start.conf")
        with open(cpath) as f:
            c = f.read()
        c = re.sub(r'listen = "127\.0\.0\.1:\d+"', f'listen = "127.0.0.1:{free_port()}"', c)
        c = re.sub(r'next_hop = "127\.0\.0\.1:\d+"', f'next_hop = "127.0.0.1:{free_port()}"', c)
        with open(spath, "w") as f:
            f.write(c + f'web = {{ listen = "127.0.0.1:{free_port()}"; }};\n')
        lpath = os.path.join(tmp, "master.log")
        bset = ",".join(["-all"] + ["+" + x.lower().removeprefix("cap_") for x in sorted(caps)])
        p = subprocess.Popen(["setpriv", "--bounding-set", bset, "--inh-caps=-all", "--no-new-privs",
                              BINARY, "-c", spath, "start"], stdout=open(lpath, "wb"), stderr=subprocess.STDOUT,
                             preexec_fn=lambda: os.umask(0o077))

        def log():
            return open(lpath, errors="replace").read()

        def status(pid):
            st = dict(x.split(":\t", 1) for x in open(f"/proc/{pid}/status").read().splitlines() if ":\t" in x)
            return st["Uid"].split()[0], int(st["CapEff"], 16)
        try:
            up = wait_for(lambda: "event=ready" in log(), 60, 0.2)
            kids = [int(x) for x in open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()] if up else []
            seen = {pid: status(pid) for pid in [p.pid] + kids}
            t.ok(up and seen[p.pid] == ("0", 0xc0) and len(kids) == 4
                 and all(u != "0" and eff == 0 for pid, (u, eff) in seen.items() if pid != p.pid),
                 "within the bounding set the master (root, CAP_SETUID and CAP_SETGID) starts the four roles, "
                 "each under its own user without a capability", f"{seen}\n{log()[-2000:]}")
            p.send_signal(signal.SIGHUP)
            again = wait_for(lambda: log().count("event=ready") >= 2, 60, 0.2)
            t.ok(again and "event=signal-failed" not in log(), "it reloads: the old roles are signalled "
                 "as their users, new ones come up", log()[-2000:])
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
        t.ok(rc == 0 and "event=master-stopped" in log() and "error" not in log(),
             "SIGTERM stops every role and the master, exit 0, no error logged", f"{rc}\n{log()[-2000:]}")

    analyze = shutil.which("systemd-analyze")
    if not analyze:
        t.skip("systemd-analyze verify of the unit", "systemd is not installed (make deb-check runs it)")
    else:
        upath = os.path.join(tmp, "sealgate.service")  # the unit, run from the build tree
        with open(upath, "w") as f:
            f.write(unit.replace("/usr/bin/sealgate", BINARY))
        v = subprocess.run([analyze, "verify", upath], capture_output=True, text=True, timeout=60)
        t.ok(v.returncode == 0 and not v.stderr.strip(), "systemd-analyze verify of the unit", v.stderr)
        sec = subprocess.run([analyze, "security", "--offline=yes", upath], capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout)
        score = float(m.group(1)) if m else 99.0
        print(f"# systemd-analyze security: overall exposure {score} (docs/operations.md states it)")
        t.ok(score <= 2.0, f"systemd-analyze security scores {score} <= 2.0", sec.stdout[-1500:] + sec.stderr)
        t.ok(f"exposure {score}" in read("docs", "operations.md"), f"docs/operations.md states the exposure {score}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
