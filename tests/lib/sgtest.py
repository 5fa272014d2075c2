"""sgtest - shared helpers for sealgate's Python test suites (stdlib only).

TAP output (tap.py), free loopback ports, temp configurations, queue files in the spool format of
docs/queue-format.md, and a running gateway (`sealgate start`) with bounded waits.
Owner: tests.
"""
import os
import pwd
import re
import shutil
import smtplib
import signal
import socket
import subprocess
import tempfile
import time

from tap import Tap  # noqa: F401  (the one TAP writer; suites import it from here or from tap)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Third-party test material (../shared/corpus beside the checkout, as CI and make fresh-check lay
# it out; see its README.txt). Tests that need it skip, saying so, when it is absent.
CORPUS = os.environ.get("SEALGATE_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
BINARY = os.environ.get("SEALGATE_BINARY", os.path.join(ROOT, "build", "sealgate"))
ASAN_BINARY = os.path.join(ROOT, "build-asan", "sealgate")


def asan_binary():
    """The ASan+UBSan build when it exists (make test builds it), else the normal one."""
    if os.environ.get("SEALGATE_BINARY"):
        return os.environ["SEALGATE_BINARY"]
    return ASAN_BINARY if os.access(ASAN_BINARY, os.X_OK) else BINARY
STATES = ["tmp", "incoming", "active", "outgoing", "deferred", "hold", "corrupt", "dsn"]


from ports import free_port  # noqa: E402,F401  (below the ephemeral range; see ports.py)


def is_root():
    return os.geteuid() == 0


def uid_of(user):
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def wait_for(pred, timeout=10.0, step=0.05):
    """Polls pred until it returns a truthy value or the timeout passes; returns the value."""
    end = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(step)


def wait_port(port, timeout=10.0):
    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    return wait_for(up, timeout)


def stop_process(proc, timeout=20):
    """Ends a server a test started (SIGTERM, then SIGKILL after timeout seconds) and reaps it."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pgp_mime_encrypted(d):
    """d (a delivered message, or None) is PGP/MIME encrypted."""
    return d is not None and b"multipart/encrypted" in d and b"application/pgp-encrypted" in d


def gpg_decrypts(gpg, d, marker):
    """gpg (a gpg_runner) decrypts the armored message in d and finds marker in the plaintext
    (rc 2 alone, for a signature by a key that keyring lacks, still counts)."""
    m = re.search(rb"-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----", d or b"", re.S)
    r = gpg("--decrypt", input=m.group(0) if m else b"")
    return marker.encode() in r.stdout and b"decryption failed" not in r.stderr


def gpg_runner(home):
    """A gpg of its own in home (made 0700), without passphrases, trusting every key: the
    correspondents' side of the crypto suites. Returns gpg(*args, input=None) -> CompletedProcess."""
    os.makedirs(home, mode=0o700, exist_ok=True)
    base = ["gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "",
            "--trust-model", "always"]

    def gpg(*args, input=None):
        return subprocess.run(base + list(args), input=input, capture_output=True, timeout=120)
    return gpg


# ---- queue files (format: docs/queue-format.md) ----

def xtext(s):
    out = []
    for b in s.encode() if isinstance(s, str) else s:
        out.append(chr(b) if 33 <= b <= 126 and b not in (43, 61) else "+%02X" % b)
    return "".join(out)


def unxtext(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == "+":
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(s[i]))
            i += 1
    return out.decode("utf-8", "surrogateescape")


def new_id(n=[0]):
    n[0] += 1
    return "%011x%05x" % (int(time.time() * 1e6) & 0xFFFFFFFFFFF, (os.getpid() * 7 + n[0]) & 0xFFFFF)


def qfile(data, sender="sender@example.org", rcpts=("user@demo.test",), qid=None, **kw):
    """Bytes of a queue file. kw: envid, ret, body, smtputf8, attempts, next_attempt, created."""
    qid = qid or new_id()
    lines = ["SEALGATE-QUEUE 1", f"id {qid}", f"created {int(kw.get('created') or time.time())}",
             "client 127.0.0.1", "helo test", "from " + xtext(sender)]
    for k in ("envid", "ret", "body"):
        if kw.get(k):
            lines.append(f"{k} {xtext(kw[k])}")
    if kw.get("smtputf8"):
        lines.append("smtputf8 1")
    lines.append(f"attempts {kw.get('attempts', 0)}")
    lines.append(f"next-attempt {kw.get('next_attempt', 0)}")
    for r in rcpts:
        if isinstance(r, tuple):
            addr, notify, orcpt = r
        else:
            addr, notify, orcpt = r, None, None
        lines.append("rcpt " + xtext(addr))
        if notify:
            lines.append("notify " + xtext(notify))
        if orcpt:
            lines.append("orcpt " + xtext(orcpt))
    lines.append("data")
    data = data.encode() if isinstance(data, str) else data
    return qid, ("\n".join(lines) + "\n").encode() + data + b"END %016x\n" % len(data)


def parse_qfile(b):
    """(envelope dict, data bytes) from queue-file bytes; raises ValueError when malformed."""
    if len(b) < 21 or not b.endswith(b"\n") or b[-21:-17] != b"END ":
        raise ValueError("no trailer")
    dlen = int(b[-17:-1], 16)
    hdr_end = len(b) - 21 - dlen
    header, data = b[:hdr_end].decode(), b[hdr_end:len(b) - 21]
    env = {"rcpt": []}
    for line in header.splitlines()[1:]:
        if line == "data":
            break
        k, _, v = line.partition(" ")
        if k == "rcpt":
            env["rcpt"].append({"addr": unxtext(v)})
        elif k in ("notify", "orcpt"):
            env["rcpt"][-1][k] = unxtext(v)
        elif k in ("id", "created", "attempts", "next-attempt", "smtputf8"):
            env[k] = v
        else:
            env[k] = unxtext(v)
    return env, data


def put_message(spool, state, data, **kw):
    """Writes a queue file the way the roles do (tmp, then rename) and returns its id."""
    qid, content = qfile(data, **kw)
    tmp = os.path.join(spool, "tmp", "test." + qid)
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o660)
    os.rename(tmp, os.path.join(spool, state, qid))
    return qid


def listdir(spool, state):
    try:
        return sorted(os.listdir(os.path.join(spool, state)))
    except FileNotFoundError:
        return []


# ---- the log ----

LOG_HEAD = re.compile(r"\S+ [a-z-]+\[\d+\] (debug|info|warn|error|fatal|panic): (?:[0-9A-Za-z._-]+: )?")
LOG_FIELD = re.compile(r'([a-z][a-z0-9_-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?: |$)')
EVENT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*$")  # one spelling: start-failed, never start_failed


def log_events(text):
    """[[(key, value)]] of every log line, each one event as docs/architecture.md (Logging)
    states: head, then space-separated key=value fields, value bare or "quoted", exactly one
    event, whose name is kebab-case. ValueError names the first line that is not."""
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        m = LOG_HEAD.match(line)
        if not m:
            raise ValueError(f"log line {no} has no head: {line!r}")
        fields, pos, rest = [], 0, line[m.end():]
        while pos < len(rest):
            f = LOG_FIELD.match(rest, pos)
            if not f:
                raise ValueError(f"log line {no} does not parse at {rest[pos:]!r}: {line!r}")
            fields.append((f.group(1), f.group(2)))
            pos = f.end()
        if [k for k, _ in fields].count("event") != 1:
            raise ValueError(f"log line {no} is not exactly one event: {line!r}")
        if not EVENT_NAME.match(dict(fields)["event"]):
            raise ValueError(f"log line {no}: event name not in kebab-case: {line!r}")
        out.append(fields)
    return out


# ---- a running gateway ----

class Gateway:
    """`sealgate -c CONF start` in a temp base dir. extra: libconfig text appended."""

    def __init__(self, extra="", sink=True, next_hop=None, binary=None, web=False):
        self.dir = tempfile.mkdtemp(prefix="sg-gw-")
        os.chmod(self.dir, 0o755)  # roles run as their own users when started as root
        self.base = os.path.join(self.dir, "base")
        self.spool = os.path.join(self.base, "spool")
        self.sink_dir = os.path.join(self.base, "sink")
        self.smtp_port = free_port()
        self.sink_port = free_port()
        self.next_hop = next_hop or f"127.0.0.1:{self.sink_port}"
        # The web role (docs/web.md) only where a suite asks for it, on a port of its own; web
        # may be a string of further settings of its block ("session_idle = 6;").
        self.web_port = free_port() if web else None
        self.web_settings = web if isinstance(web, str) else ""
        self.binary = binary or BINARY
        self.conf = os.path.join(self.dir, "sealgate.conf")
        self.log = os.path.join(self.dir, "sealgate.log")
        self.write_config(extra, sink)
        self.proc = None

    def write_config(self, extra="", sink=True, hostname="gw.demo.test"):
        with open(self.conf, "w") as f:
            f.write(f'base_dir = "{self.base}";\n'
                    f'hostname = "{hostname}";\n'
                    f'smtpd = {{ listen = "127.0.0.1:{self.smtp_port}"; }};\n'
                    f'relay = {{ next_hop = "{self.next_hop}"; retry_min = 1; retry_max = 2; }};\n'
                    f'sink = {{ enabled = {"true" if sink else "false"}; listen = "127.0.0.1:{self.sink_port}"; }};\n'
                    + (f'web = {{ listen = "127.0.0.1:{self.web_port}"; {self.web_settings} }};\n' if self.web_port
                       else 'web = { enabled = false; };\n')
                    + extra)

    def start(self, wait=True):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "-c", self.conf, "start"], stdout=self.logf,
                                     stderr=self.logf, start_new_session=True)
        if wait:
            wait_port(self.smtp_port, 10)
            wait_for(lambda: self.role_pids().get("cryptd"), 10)
        return self

    def cli(self, *args):
        return subprocess.run([self.binary, "-c", self.conf, *args], capture_output=True, text=True,
                              timeout=30)

    def role_pids(self):
        """{role: pid} of the running children of the master."""
        pids = {}
        if not self.proc:
            return pids
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid != self.proc.pid:
                    continue
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
                role = [a.decode() for a in args if a in (b"smtpd", b"cryptd", b"relay", b"sink", b"web")]
                if role:
                    pids[role[-1]] = int(p)
            except (OSError, IndexError, ValueError):
                pass
        return pids

    def sink_files(self):
        """Names of the messages the demo sink stored (new/ of its maildir)."""
        try:
            return set(os.listdir(os.path.join(self.sink_dir, "new")))
        except FileNotFoundError:
            return set()

    def send_one(self, sender, rcpt, msg, timeout=30):
        """Sends msg over SMTP to one recipient; the message the sink then stores, without the
        Return-Path and Delivered-To lines the sink puts on top, or None when none arrives."""
        before = self.sink_files()
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
            s.sendmail(sender, [rcpt], msg)
        new = wait_for(lambda: self.sink_files() - before, timeout)
        if not new:
            return None
        time.sleep(0.1)  # the sink writes before it renames into new/; give a slow write time
        with open(os.path.join(self.sink_dir, "new", sorted(new)[0]), "rb") as f:
            d = f.read()
        m = re.match(rb"Return-Path: [^\r\n]*\r\nDelivered-To: [^\r\n]*\r\n", d)
        return d[m.end():] if m else d

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def sanitizer_reports(self):
        """Lines of AddressSanitizer/LeakSanitizer/UBSan reports in the gateway's log."""
        return [l for l in self.log_text().splitlines()
                if "Sanitizer" in l or "runtime error:" in l]

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        if not os.environ.get("SEALGATE_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
