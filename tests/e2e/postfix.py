"""postfix.py - a private, loopback-only Postfix instance for the end-to-end tests.

Owner: tests/e2e. Needs root (Postfix's master runs as root and drops to `postfix`).
It never touches the system instance: its own config_directory, queue_directory and
data_directory under /tmp, `postfix -c DIR`, listeners on 127.0.0.1 high ports only, no port 25,
no DNS, no chroot. The shape is the after-queue content filter of docs/postfix.md:

    client -> 127.0.0.1:in_port (smtpd, content_filter = sealgate:[127.0.0.1]:filter_port)
           -> sealgate -> 127.0.0.1:reinject_port (smtpd, -o content_filter=)
           -> demo.test: virtual(8) Maildir under <dir>/vmail/<user>/
           -> other domains: external_hop (host:port, e.g. an smtp-sink), else bounced

Usage:
    pf = Postfix(filter_port=10025, users=["alice", "bob"])
    pf.start(); ...; pf.stop(); pf.cleanup()
"""
import contextlib
import glob
import os
import pwd
import grp
import shutil
import subprocess
import tempfile
import time

from harness import Gateway, free_port, log, scenario, wait_for, smtp_ready, OUT
from fakesmtp import FakeSmtp

VMAIL_UID = 65534  # nobody: virtual(8) delivers as this uid, never as root


class PostfixError(RuntimeError):
    pass


class Postfix:
    def __init__(self, filter_port=None, users=("alice", "bob"), domain="demo.test",
                 external_hop=None, in_port=None, reinject_port=None, name="pf", tls=False,
                 reinject_size_limit=None):
        self.dir = tempfile.mkdtemp(prefix=f"sg-{name}-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.vmail = os.path.join(self.dir, "vmail")
        self.maillog = os.path.join(self.dir, "maillog")
        self.domain = domain
        self.users = list(users)
        self.filter_port = filter_port
        self.external_hop = external_hop
        self.in_port = in_port or free_port()
        self.reinject_port = reinject_port or free_port()
        self.name = name
        self.tls = tls  # STARTTLS on the listeners, and required towards sealgate
        self.reinject_size_limit = reinject_size_limit  # -o message_size_limit on re-injection
        self.started = False
        self._write_config()

    # ---- configuration -------------------------------------------------------------------
    def base_cf(self, label, host):
        """What every private instance sets the same way: its own directories and log,
        loopback and IPv4 only, no DNS anywhere, its own names. Used by bench/pfref.py too."""
        return f"""queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
mail_owner = postfix
setgid_group = postdrop
syslog_name = {label}-{os.path.basename(self.dir)}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.dir}

# Loopback only, IPv4 only, no DNS anywhere.
inet_interfaces = loopback-only
inet_protocols = ipv4
smtp_host_lookup = native
lmtp_host_lookup = native
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
myhostname = {host}.{self.domain}
mydomain = {self.domain}
myorigin = $myhostname"""

    def main_cf(self):
        filt = (f"content_filter = sealgate:[127.0.0.1]:{self.filter_port}\n"
                if self.filter_port else "")
        ext = (f"default_transport = smtp:[{self.external_hop[0]}]:{self.external_hop[1]}\n"
               if self.external_hop else
               "default_transport = error:external delivery is disabled in this test\n")
        tls = (f"""# TLS: offered on both listeners, required by the client that feeds sealgate.
smtpd_tls_cert_file = {self.config_dir}/cert.pem
smtpd_tls_key_file = {self.config_dir}/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtp_tls_loglevel = 1
""" if self.tls else "")
        return f"""# Private Postfix instance of the sealgate end-to-end tests (generated).
compatibility_level = 3.6
{tls}
{self.base_cf("sg-e2e", "mx")}
mydestination =
relayhost =
relay_domains =
mynetworks_style = host
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
biff = no
alias_maps =
alias_database =
append_dot_mydomain = no

# Keep the message bytes: no header rewriting or header insertion for loopback clients.
local_header_rewrite_clients =
always_add_missing_headers = no

# The after-queue content filter: everything accepted on the public listener goes to
# sealgate; the re-injection listener in master.cf switches the filter off.
{filt}
# Final delivery for the internal domain: Maildirs below vmail/.
virtual_mailbox_domains = {self.domain}
virtual_mailbox_maps = texthash:{self.config_dir}/vmailbox
virtual_mailbox_base = {self.vmail}
virtual_uid_maps = static:{VMAIL_UID}
virtual_gid_maps = static:{VMAIL_UID}
virtual_minimum_uid = 100
{ext}
# Fast retries and no waiting for the tests.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0h
smtp_connect_timeout = 5s
"""

    def master_cf(self):
        return f"""# Private Postfix instance of the sealgate end-to-end tests (generated).
# service       type  private unpriv chroot wakeup maxproc command + args
127.0.0.1:{self.in_port} inet n - n - - smtpd
127.0.0.1:{self.reinject_port} inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
{f"  -o message_size_limit={self.reinject_size_limit}" if self.reinject_size_limit else ""}
sealgate  unix  -       -       n       -       10      smtp
  -o smtp_send_xforward_command=no
  -o disable_mime_output_conversion=yes
  -o smtp_generic_maps=
{"  -o smtp_tls_security_level=encrypt" if self.tls else ""}
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
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
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

    def _write_config(self):
        os.makedirs(self.config_dir)
        os.makedirs(self.data_dir)
        os.makedirs(self.queue_dir)
        os.makedirs(self.vmail)
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(self.master_cf())
        with open(os.path.join(self.config_dir, "vmailbox"), "w") as f:
            for u in self.users:
                f.write(f"{u}@{self.domain} {u}/\n")
        os.chown(self.data_dir, pwd.getpwnam("postfix").pw_uid, grp.getgrnam("postfix").gr_gid)
        if self.tls:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                            "-subj", f"/CN=mx.{self.domain}",
                            "-keyout", os.path.join(self.config_dir, "key.pem"),
                            "-out", os.path.join(self.config_dir, "cert.pem")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                           timeout=30)
        os.chown(self.vmail, VMAIL_UID, VMAIL_UID)

    # ---- control ---------------------------------------------------------------------------
    def _postfix(self, *args, timeout=60):
        p = subprocess.run(["postfix", "-c", self.config_dir, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        return p.returncode, p.stdout.decode(errors="replace")

    def start(self, timeout=30):
        rc, out = self._postfix("check")
        if rc != 0:
            raise PostfixError(f"postfix check failed: {out.strip()}")
        rc, out = self._postfix("start")
        if rc != 0:
            raise PostfixError(f"postfix start failed: {out.strip()} {self.log_tail()}")
        self.started = True
        if not wait_for(lambda: smtp_ready(self.in_port) and smtp_ready(self.reinject_port),
                        timeout, 0.2):
            raise PostfixError(f"postfix listeners {self.in_port}/{self.reinject_port} "
                               f"not answering: {self.log_tail()}")

    def flush(self):
        self._postfix("flush")

    def queue_empty(self):
        """True when the Postfix queue holds no message (incoming/active/deferred/hold)."""
        for sub in ("incoming", "active", "deferred", "hold", "maildrop"):
            for _, _, files in os.walk(os.path.join(self.queue_dir, sub)):
                if files:
                    return False
        return True

    def stop(self):
        if self.started:
            self._postfix("stop")
            self.started = False
        # Whatever survived (a wedged master): kill the processes that use our config dir.
        pidfile = os.path.join(self.queue_dir, "pid", "master.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10, 0.2)
            if os.path.exists(f"/proc/{pid}"):
                os.kill(pid, 9)
        except (OSError, ValueError):
            pass

    def cleanup(self):
        self.stop()
        if os.path.exists(self.maillog):
            os.makedirs(OUT, exist_ok=True)
            shutil.copy(self.maillog, os.path.join(OUT, f"{self.name}-postfix.maillog"))
        if os.environ.get("SEALGATE_KEEP_TMP"):
            log(f"keeping {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=8):
        try:
            with open(self.maillog, "rb") as f:
                return " | ".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no maillog)"

    def mailbox(self, user):
        """Paths of the messages delivered to user@domain, oldest first."""
        files = []
        for sub in ("new", "cur"):
            files += glob.glob(os.path.join(self.vmail, user, sub, "*"))
        return sorted(files, key=lambda p: os.stat(p).st_mtime)


@contextlib.contextmanager
def through_postfix(tap, name, label, users=("alice", "bob"), extra=""):
    """with through_postfix(tap, "what", "pf-x") as (pf, gw, hop): the content-filter shape with
    the internet played by a recording next hop (every other domain goes to hop), both started;
    everything is cleaned up afterwards and an exception is one failure named after `name`.
    extra is added to sealgate's configuration (e.g. a `scan` section)."""
    with scenario(tap, name + " harness") as keep:
        sg_port, hop_port = free_port(), free_port()
        hop = keep(FakeSmtp(hop_port))
        hop.start()
        pf = keep(Postfix(filter_port=sg_port, users=list(users), name=label,
                          external_hop=("127.0.0.1", hop_port)))
        gw = keep(Gateway(label, smtpd_port=sg_port, next_hop_port=pf.reinject_port, sink=False,
                          relay_extra='tls = "none";', extra=extra))
        pf.start()
        gw.start()
        yield pf, gw, hop
