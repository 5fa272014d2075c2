"""Private content scanners for the tests (docs/testing.md): a clamd with a local signature
database, an rspamd with a minimal configuration (no modules, no redis, DNS pointed at a
closed port: GTUBE is built into rspamd's core) and a spamd (SpamAssassin with the rules the
spamassassin package ships, no DNS, no Bayes, no user configuration), each started unprivileged
in a temp dir on a socket of its own; and a scanner that answers garbage. No system service and
no network update is used.
Owner: tests (scanning, src/policy/scan_stage.c)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from sgtest import free_port, stop_process

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
SPAMD = shutil.which("spamd") or "/usr/sbin/spamd"
SIGTOOL = shutil.which("sigtool") or "/usr/bin/sigtool"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
TESTFILES = "/usr/share/clamav-testfiles"
CLAM_EXE = os.path.join(TESTFILES, "clam.exe")
# The signature's name as clamd reports it (a local .hdb signature is "UNOFFICIAL").
SIG = "Sealgate.Test.ClamExe"
FOUND = SIG + ".UNOFFICIAL"
# The EICAR anti-virus test string (68 bytes), as a file of its own: a second .hdb line.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIG = "Sealgate.Test.Eicar"
EICAR_FOUND = EICAR_SIG + ".UNOFFICIAL"


def clam_exe():
    with open(CLAM_EXE, "rb") as f:
        return f.read()


class Clamd:
    """clamd on a Unix socket in a temp dir (and on a loopback TCP port), with MD5 signatures of clamav-testfiles'
    clam.exe and of a file that is the EICAR string, made by `sigtool --md5` (.hdb lines MD5:size:name). As root it drops to
    nobody (User), so the directory is world-readable and the socket mode 666."""

    def __init__(self, stream_max="1M"):
        self.dir = tempfile.mkdtemp(prefix="sg-clamd-")
        os.chmod(self.dir, 0o755)
        db = os.path.join(self.dir, "db")
        os.mkdir(db)
        os.chmod(db, 0o755)
        # The database is what sigtool (package clamav) makes of the sample files; sigtool names
        # a signature after its file, so each sample is copied under its signature's name.
        with open(os.path.join(db, "test.hdb"), "w") as f:
            for name, data in ((SIG, clam_exe()), (EICAR_SIG, EICAR)):
                sample = os.path.join(self.dir, name)
                with open(sample, "wb") as s:
                    s.write(data)
                f.write(subprocess.run([SIGTOOL, "--md5", sample], capture_output=True, check=True,
                                       text=True, timeout=60).stdout)
                os.unlink(sample)
        self.sock = os.path.join(self.dir, "clamd.sock")
        self.addr = "unix:" + self.sock
        self.tcp_port = free_port()
        self.tcp_addr = f"tcp:127.0.0.1:{self.tcp_port}"  # the same clamd on a loopback TCP socket
        self.conf = os.path.join(self.dir, "clamd.conf")
        with open(self.conf, "w") as f:
            f.write(f"DatabaseDirectory {db}\nLocalSocket {self.sock}\nLocalSocketMode 666\nForeground yes\n"
                    f"LogFile {self.dir}/clamd.log\nTemporaryDirectory {self.dir}\n"
                    f"StreamMaxLength {stream_max}\nTCPSocket {self.tcp_port}\nTCPAddr 127.0.0.1\n"
                    + ("User nobody\n" if os.geteuid() == 0 else ""))
        os.chmod(self.dir, 0o777 if os.geteuid() == 0 else 0o755)  # clamd (nobody) writes its log here
        self.proc = None

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(self.sock)
                s.sendall(b"zPING\0")
                return s.recv(16) == b"PONG\0"
        except OSError:
            return False

    def start(self, timeout=60):
        self.proc = subprocess.Popen([CLAMD, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        end = time.time() + timeout
        while time.time() < end:
            if self.ping():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def stop(self):
        stop_process(self.proc)
        self.proc = None
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass

    def log(self):
        try:
            with open(os.path.join(self.dir, "clamd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class _Daemon:
    """What rspamd and spamd share: a process group started by start(), pinged by ping(), its
    log file LOG in its temp dir."""
    LOG = ""

    def wait(self, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            if self.ping():
                return True
            if self.proc is None or self.proc.poll() is not None:
                return False
            time.sleep(0.2)
        return False

    def log(self):
        try:
            with open(os.path.join(self.dir, self.LOG), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Rspamd(_Daemon):
    """rspamd with a normal worker on a free loopback port, no filters (modules) at all; its
    actions: reject at 15, add header at 6. Start it early: loading takes seconds to tens of
    seconds (it compiles its URL and language tables)."""
    LOG = "rspamd.log"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sg-rspamd-")
        os.chmod(self.dir, 0o777 if os.geteuid() == 0 else 0o755)
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.conf = os.path.join(self.dir, "rspamd.conf")
        with open(self.conf, "w") as f:
            f.write(f'options {{ pidfile = "{self.dir}/rspamd.pid"; filters = "";\n'
                    f'  dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }} }}\n'
                    f'logging {{ type = "file"; filename = "{self.dir}/rspamd.log"; level = "info"; }}\n'
                    f'actions {{ reject = 15; add_header = 6; greylist = 4; }}\n'
                    f'worker "normal" {{ bind_socket = "127.0.0.1:{self.port}"; count = 1; }}\n')
        self.proc = None

    def start(self):
        args = [RSPAMD, "-f", "-c", self.conf, f"--var=DBDIR={self.dir}", f"--var=RUNDIR={self.dir}",
                f"--var=LOGDIR={self.dir}"]
        if os.geteuid() == 0:
            args += ["-u", "nobody", "-g", "nogroup"]
        env = dict(os.environ, TMPDIR=self.dir)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env=env)

    def ping(self):
        try:
            with urllib.request.urlopen(self.addr + "/ping", timeout=2) as r:
                return r.read().strip() == b"pong"
        except OSError:
            return False


class Spamd(_Daemon):
    """SpamAssassin's spamd on a free loopback port: the site configuration is a temp dir with
    the .pre files that load the plugins (copied from /etc/spamassassin) and a local.cf that
    turns off DNS, Bayes and network tests; the rules are the package's (/usr/share/spamassassin,
    GTUBE among them). One child. As root it runs as nobody."""
    LOG = "spamd.log"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sg-spamd-")
        os.chmod(self.dir, 0o755)
        for name in os.listdir("/etc/spamassassin"):
            if name.endswith(".pre"):
                shutil.copy(os.path.join("/etc/spamassassin", name), self.dir)
        with open(os.path.join(self.dir, "local.cf"), "w") as f:
            f.write("use_bayes 0\nskip_rbl_checks 1\ndns_available no\nuse_auto_whitelist 0\n")
        self.port = free_port()
        self.addr = f"tcp:127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        args = [SPAMD, "-x", "--nouser-config", f"--siteconfigpath={self.dir}", "-L",
                f"--listen=127.0.0.1:{self.port}", "-m", "1", "--min-children=1", "--max-children=1",
                "--min-spare=0", "--max-spare=1", "-s", "stderr"]
        if os.geteuid() == 0:
            args += ["-u", "nobody", "-g", "nogroup"]
        self.log_file = open(os.path.join(self.dir, "spamd.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=dict(os.environ, HOME=self.dir))

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return s.recv(64).startswith(b"SPAMD/1.5 0 PONG")
        except OSError:
            return False


class Garbage:
    """A scanner that answers garbage: on each connection it reads what the client sends until
    it pauses, answers ANSWER (an HTTP 200 whose JSON has no number score: not clamd's line,
    not spamd's status, not a valid rspamd result) and closes. Stands for any of the three."""
    ANSWER = b'HTTP/1.1 200 OK\r\n\r\n{"score": "lots", "action": "no action"}\r\n'

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with c:
                c.settimeout(0.5)
                try:
                    while c.recv(65536):
                        pass
                except OSError:
                    pass
                try:
                    c.sendall(self.ANSWER)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
