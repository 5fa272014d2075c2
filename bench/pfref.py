"""pfref.py - the Postfix reference of bench/relay: a private Postfix relaying to smtp-sink.

Owner: bench. Needs root (Postfix's master runs as root). Builds on tests/e2e/postfix.py (own
config, queue and data directories under /tmp, `postfix -c DIR`, loopback only, no DNS) and
replaces its main.cf/master.cf with a plain relay: everything accepted on 127.0.0.1:in_port
goes through Postfix's durable queue (cleanup's fsync left at its default) to
relayhost = [127.0.0.1]:sink_port. No content filter, no local delivery.

CountingSink runs smtp-sink with -c and notes when each message count was first seen, so the
reference is timed to the last message that reached the sink, not to Postfix's own log.
"""
import os
import re
import subprocess
import threading
import time

from harness import free_port, kill_group, smtp_ready, wait_for  # noqa: E402
from postfix import Postfix  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
MESG = re.compile(rb"mesg=(\d+)")


class RelayPostfix(Postfix):
    """A private Postfix whose only job is relaying to [127.0.0.1]:sink_port."""

    def __init__(self, sink_port, concurrency=20, name="bench-postfix"):
        self.sink_port = sink_port
        self.concurrency = concurrency
        port = free_port()
        # One listener: the parent's start() waits for in_port and reinject_port, so both
        # name the same port.
        super().__init__(users=(), domain="bench.test", in_port=port, reinject_port=port,
                         name=name)

    def main_cf(self):
        procs = max(40, 2 * self.concurrency)
        return f"""# Private Postfix relay, the reference of sealgate's bench/relay (generated).
compatibility_level = 3.6
{self.base_cf("sg-bench", "relay")}
mydestination =
relay_domains =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no

# Accept from loopback, relay everything to the smtp-sink; nothing is filtered.
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
relayhost = [127.0.0.1]:{self.sink_port}
content_filter =

# Throughput: as many delivery sessions to the sink as smtp-source opens to us, reused.
default_process_limit = {procs}
in_flow_delay = 0
default_destination_concurrency_limit = {self.concurrency}
smtp_destination_concurrency_limit = {self.concurrency}
smtp_connection_cache_on_demand = yes

# A deferred message is retried within seconds, so a hiccup shows up as a figure, not a hang.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0h
smtp_connect_timeout = 5s
"""

    def master_cf(self):
        return f"""# Private Postfix relay, the reference of sealgate's bench/relay (generated).
# service       type  private unpriv chroot wakeup maxproc command + args
127.0.0.1:{self.in_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

    def version(self):
        p = subprocess.run(["postconf", "-c", self.config_dir, "-h", "mail_version"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        return p.stdout.decode(errors="replace").strip() or "?"

    def maillog_text(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def status_counts(self):
        """{status: count} over the smtp delivery lines of the maillog (sent, deferred, ...)."""
        counts = {}
        for s in re.findall(r"\bstatus=(\w+)", self.maillog_text()):
            counts[s] = counts.get(s, 0) + 1
        return counts


class CountingSink:
    """smtp-sink -c on 127.0.0.1:port; a thread notes the monotonic time each message count
    was first printed (smtp-sink prints its counters whenever "." is received)."""

    def __init__(self, port):
        self.port = port
        self.count = 0
        self.when = None  # time.monotonic() when self.count was first seen
        self._lock = threading.Lock()
        cmd = [SMTP_SINK, "-c"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += ["-m", "1000", f"127.0.0.1:{port}", "1024"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not wait_for(lambda: smtp_ready(port), 10, 0.1):
            self.stop()
            raise RuntimeError("smtp-sink -c did not start")

    def _read(self):
        fd = self.proc.stdout.fileno()
        tail = b""
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            # Counter lines end with \r; only complete ones are read, the rest waits.
            *done, tail = (tail + data).split(b"\r")
            counts = MESG.findall(b"\n".join(done[-4:]))
            if counts:
                n = int(counts[-1])
                with self._lock:
                    if n > self.count:
                        self.count, self.when = n, now

    def snapshot(self):
        with self._lock:
            return self.count, self.when

    def stop(self):
        kill_group(self.proc, grace=2)
        if self.proc.stdout:
            self.proc.stdout.close()
