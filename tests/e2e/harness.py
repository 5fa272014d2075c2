"""harness.py - shared pieces of the end-to-end tests (Python 3 stdlib only). Owner: tests/e2e.

TAP output (tests/lib/tap.py), free loopback ports, bounded waits, a sealgate gateway started from a temporary
config (`Gateway`), the role processes behind it, Maildir reading and a small SMTP client.
Everything started here lives in its own process group and is killed in stop()/close(), so a
failing test never leaves processes behind.
"""
import contextlib
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# TAP and the fake next hop are the suites' shared ones (tests/lib/tap.py, fakesmtp.py).
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from tap import Tap  # noqa: E402,F401  (the e2e tests take it from here)

BINARY = os.environ.get("SEALGATE_BINARY", os.path.join(ROOT, "build", "sealgate"))
OUT = os.path.join(ROOT, "tests", "out")
ROLES = ("smtpd", "cryptd", "relay", "sink")


def can_run(tap, what):
    """The end-to-end tests need root (Postfix, role users) and a built binary: skip or fail
    with the reason, and say whether to go on."""
    if os.geteuid() != 0:
        tap.skip(what, "not root")
        return False
    if not os.access(BINARY, os.X_OK):
        tap.fail("sealgate binary", f"{BINARY} missing (build first)")
        return False
    return True


@contextlib.contextmanager
def scenario(tap, name):
    """with scenario(tap, "name") as keep: ... -- an exception in the body is one failure
    named after the scenario; everything passed to keep() is cleaned up (cleanup() or stop()),
    last kept first, whatever happened."""
    kept = []
    try:
        yield lambda thing: kept.append(thing) or thing
    except Exception as e:
        tap.fail(name, repr(e))
    finally:
        for thing in reversed(kept):
            if hasattr(thing, "cleanup"):
                thing.cleanup()
            else:
                thing.stop()


def log(msg):
    """Diagnostics go to stderr (tests/run-all keeps them in tests/out/NAME.log)."""
    print(f"# {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


from ports import free_port  # noqa: E402,F401  (below the ephemeral range; see ports.py)


def wait_for(pred, timeout, interval=0.1):
    """Polls pred() until it returns a true value or timeout seconds pass; returns its value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def smtp_ready(port, timeout=1.0):
    """True when something on port answers with a 220 greeting."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = s.recv(512)
            try:
                s.sendall(b"QUIT\r\n")
            except OSError:
                pass
            return data.startswith(b"220")
    except OSError:
        return False


def kill_group(proc, grace=5.0):
    """SIGTERM the process group of proc, wait up to grace, then SIGKILL it."""
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if proc.poll() is None and pgid is not None:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def proc_table():
    """{pid: (ppid, cmdline-list)} for every process we can read."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(d)] = (ppid, cmd)
    return table


def descendants(pid, table=None):
    table = table or proc_table()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c, (pp, _) in table.items():
            if pp == p:
                out.append(c)
                todo.append(c)
    return out


def vm_hwm_kb(pid, field="VmHWM"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Gateway:
    """A sealgate started with `sealgate -c CONF start` in a fresh base_dir under /tmp.

    The base_dir is chmod 755 so the roles, dropped to their own users when we run as root,
    can reach the spool and the sink maildir the master creates below it."""

    def __init__(self, name, smtpd_port=None, next_hop_port=None, sink=True, sink_port=None,
                 extra="", relay_extra="", smtpd_extra=""):
        self.name = name
        self.base = tempfile.mkdtemp(prefix=f"sg-{name}-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.smtpd_port = smtpd_port or free_port()
        self.sink_port = sink_port or free_port()
        self.next_hop_port = next_hop_port or self.sink_port
        self.conf = os.path.join(self.base, "sealgate.conf")
        try:
            os.makedirs(OUT, exist_ok=True)
            logdir = OUT if os.access(OUT, os.W_OK) else self.base
        except OSError:
            logdir = self.base  # a read-only checkout: keep the log beside the spool
        self.logpath = os.path.join(logdir, f"{name}-sealgate.log")
        self.proc = None
        self.started_once = False
        with open(self.conf, "w") as f:
            f.write(f'base_dir = "{self.base}";\n'
                    f'internal_domains = ["demo.test"];\n'
                    f'log_level = "info";\n'
                    f'smtpd = {{ listen = "127.0.0.1:{self.smtpd_port}"; {smtpd_extra} }};\n'
                    f'relay = {{ next_hop = "127.0.0.1:{self.next_hop_port}"; retry_min = 1; '
                    f'retry_max = 2; {relay_extra} }};\n'
                    f'sink = {{ enabled = {"true" if sink else "false"}; '
                    f'listen = "127.0.0.1:{self.sink_port}"; }};\n'
                    'web = { enabled = false; };\n'  # the portal has its own suites (docs/web.md)
                    + extra)

    @property
    def maildir(self):
        return os.path.join(self.base, "sink")

    def start(self, timeout=20):
        # The first start truncates the log of an earlier run; a restart appends to it.
        self.logf = open(self.logpath, "ab" if self.started_once else "wb")
        self.started_once = True
        self.proc = subprocess.Popen([BINARY, "-c", self.conf, "start"], cwd=self.base,
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        ok = wait_for(lambda: self.proc.poll() is not None or smtp_ready(self.smtpd_port),
                      timeout, 0.2)
        if self.proc.poll() is not None:
            raise RuntimeError(f"sealgate start exited with {self.proc.returncode}: "
                               + self.log_tail())
        if not ok:
            raise RuntimeError(f"smtpd did not answer on port {self.smtpd_port} within "
                               f"{timeout}s: " + self.log_tail())

    def cli(self, *args, input=None):
        """`sealgate -c CONF ARGS...` (the admin's CLI), output as text."""
        return subprocess.run([BINARY, "-c", self.conf, *args], capture_output=True, text=True,
                              input=input, timeout=60)

    def load_policy(self, text, timeout=20):
        """Writes text as a policy file beside the spool, `policy load`s it and waits until
        cryptd has it in force (one more event=policy-loaded); returns (cli result, in force)."""
        path = os.path.join(self.base, "policy-loaded.conf")
        with open(path, "w") as f:
            f.write(text)
        wait_for(lambda: "event=policy-loaded" in self.log_text(), timeout, 0.2)  # the store is open
        n = self.log_text().count("event=policy-loaded")
        r = self.cli("policy", "load", path)
        return r, r.returncode == 0 and wait_for(lambda: self.log_text().count("event=policy-loaded") > n,
                                                 timeout, 0.2)

    def log_tail(self, n=6):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return " | ".join(lines[-n:])
        except OSError:
            return "(no log)"

    def log_text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def role_pids(self):
        """{role: [pids]} of the master's children, told apart by their command line
        (`sealgate ... ROLE`) or, failing that, by their log lines `ROLE[pid]`. A role's own
        children (cryptd's revocation fetch helper) are not roles."""
        table = proc_table()
        kids = [p for p in descendants(self.proc.pid, table) if table[p][0] == self.proc.pid]
        roles = {r: [] for r in ROLES}
        unknown = []
        for pid in kids:
            cmd = table[pid][1]
            role = next((a for a in reversed(cmd) if a in ROLES), None)
            if role is None:
                m = re.search(r"sealgate[- ](smtpd|cryptd|relay|sink)\b", " ".join(cmd))
                role = m.group(1) if m else None
            if role:
                roles[role].append(pid)
            else:
                unknown.append(pid)
        if unknown:
            txt = self.log_text()
            for pid in unknown:
                m = re.search(rf"\b(smtpd|cryptd|relay|sink)\[{pid}\]", txt)
                if m:
                    roles[m.group(1)].append(pid)
        return roles

    def gateway_pids(self):
        return [self.proc.pid] + descendants(self.proc.pid)

    def queue_list(self, *args):
        p = subprocess.run([BINARY, "-c", self.conf, "queue", "list", *args], cwd=self.base,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.returncode, p.stdout.decode(errors="replace")

    def spool_count(self, states=("incoming", "active", "outgoing", "deferred", "dsn")):
        n = 0
        for s in states:
            d = os.path.join(self.base, "spool", s)
            try:
                n += len([x for x in os.listdir(d) if not x.startswith(".")])
            except OSError:
                pass
        return n

    def stop(self):
        if self.proc is not None:
            # Roles may sit in their own process groups: collect them before the master goes.
            try:
                pids = descendants(self.proc.pid)
            except Exception:
                pids = []
            kill_group(self.proc, grace=10)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.logf.close()
            self.proc = None

    def cleanup(self):
        self.stop()
        if os.environ.get("SEALGATE_KEEP_TMP"):
            log(f"keeping {self.base}")
        else:
            shutil.rmtree(self.base, ignore_errors=True)


def maildir_files(maildir):
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        try:
            out += [os.path.join(d, x) for x in sorted(os.listdir(d))]
        except OSError:
            pass
    return out


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def header_block(msg):
    """The header section (up to the first empty line) of a message in bytes."""
    m = re.search(rb"\r?\n\r?\n", msg)
    return msg[:m.start()] if m else msg


def header_values(msg, name):
    """Values of header name (unfolded) in msg's header section."""
    hdr = re.sub(rb"\r?\n[ \t]", b" ", header_block(msg))
    pat = re.compile(rb"^" + re.escape(name.encode()) + rb":[ \t]*(.*?)\r?$", re.I | re.M)
    return [m.group(1).decode(errors="replace").strip() for m in pat.finditer(hdr)]


def send(port, mail_from, rcpts, data, mail_options=(), timeout=30):
    """One SMTP transaction with smtplib; returns {rcpt: (code, msg)} refused, raises on
    failure of the whole transaction. data is bytes with CRLF line ends, not dot-stuffed."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.e2e.test", timeout=timeout) as s:
        s.ehlo()
        return s.sendmail(mail_from, rcpts, data, mail_options=list(mail_options))
