"""test_relay.py - integration test of the relay role (src/relay). Pieces: a scriptable fake next-hop SMTP server
that records the exact bytes it receives, queue-file writing/reading in the spool format
(docs/queue-format.md, src/queue/envelope.c), and a relay process in a temp base_dir.
Python 3 stdlib only. Owner: src/relay (tests/integration/test_relay*.py)."""
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("SEALGATE_BINARY", os.path.join(ROOT, "build", "sealgate"))
OUT = os.path.join(ROOT, "tests", "out")


def log(msg):
    print(f"# {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def wait_for(pred, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- fake next hop

# The fake next hop, TAP and the spool format live in tests/lib (fakesmtp.py, tap.py,
# sgtest.py); the adapters below keep this file's call shapes.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sgtest  # noqa: E402
from fakesmtp import FakeSmtp  # noqa: E402
from tap import Tap  # noqa: E402

free_port = sgtest.free_port


def Hop(ext, port=0, tls_ctx=None):
    """A listening fake next hop offering the EHLO keywords ext (STARTTLS too with tls_ctx)."""
    return FakeSmtp(port=port, ext=ext, tls_ctx=tls_ctx).start()


def make_tls_ctx(workdir):
    cert, key = os.path.join(workdir, "hop.crt"), os.path.join(workdir, "hop.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=hop.test", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# ---------------------------------------------------------------- queue files

new_id = sgtest.new_id


def qfile(qid, frm, rcpts, data, created=None, envid=None, ret=None, body=None, smtputf8=False,
          attempts=0, next_attempt=0):
    """rcpts: list of address or (address, notify, orcpt). envid/orcpt are given as they came
    in the SMTP command (already xtext), as the spool keeps them."""
    return sgtest.qfile(data, sender=frm, rcpts=rcpts, qid=qid, created=created, envid=envid, ret=ret,
                        body=body, smtputf8=smtputf8, attempts=attempts, next_attempt=next_attempt)[1]


def parse_qfile(raw):
    env, data = sgtest.parse_qfile(raw)
    env["rcpt"] = [r["addr"] for r in env["rcpt"]]
    for k in ("attempts", "next-attempt", "created"):
        if k in env:
            env[k] = int(env[k])
    env["data"] = data
    return env


# ---------------------------------------------------------------- the relay

class Relay:
    def __init__(self, name, port, tls="may", max_connections=1, lifetime=3600, extra=""):
        self.name = name
        self.base = tempfile.mkdtemp(prefix=f"sg-relay-{name}-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.spool = os.path.join(self.base, "spool")
        for d in ("tmp", "incoming", "active", "outgoing", "deferred", "hold", "corrupt", "dsn"):
            os.makedirs(os.path.join(self.spool, d))
        self.dsns = []  # names of the DSNs the relay wrote into dsn/ (see pump)
        self.pumping = False
        users = ""
        if os.geteuid() == 0:  # the relay drops to its own user; give it the spool
            users = 'users = { relay = "nobody"; group = "nogroup"; };\n'
            for dp, dns, fns in os.walk(self.base):
                for x in [dp] + [os.path.join(dp, f) for f in fns]:
                    os.chown(x, 65534, 65534)
        self.conf = os.path.join(self.base, "sealgate.conf")
        with open(self.conf, "w") as f:
            f.write(f'base_dir = "{self.base}";\nhostname = "gw.test";\nlog_level = "debug";\n'
                    + users +
                    f'relay = {{ next_hop = "127.0.0.1:{port}"; tls = "{tls}"; '
                    f'max_connections = {max_connections}; retry_min = 1; retry_max = 2; '
                    f'queue_lifetime = {lifetime}; connect_timeout = 2; command_timeout = 10; '
                    f'helo_name = "relay.test"; {extra} }};\n')
        os.makedirs(OUT, exist_ok=True)
        self.logpath = os.path.join(OUT, f"test_relay-{name}.log")
        self.proc = None

    def put(self, qid, raw):
        """Like cryptd: write beside, then rename into outgoing/."""
        tmp = os.path.join(self.spool, "tmp", "test." + qid)
        with open(tmp, "wb") as f:
            f.write(raw)
        if os.geteuid() == 0:
            os.chown(tmp, 65534, 65534)
        os.rename(tmp, os.path.join(self.spool, "outgoing", qid))

    def pump(self):
        """Stands for cryptd's identity: the relay hands its DSNs to cryptd through dsn/ (they go
        through the policy); here they are moved on unchanged into outgoing/."""
        while self.pumping:
            for n in sorted(os.listdir(os.path.join(self.spool, "dsn"))):
                try:
                    os.rename(os.path.join(self.spool, "dsn", n), os.path.join(self.spool, "outgoing", n + ".0"))
                    self.dsns.append(n)
                except FileNotFoundError:
                    pass  # a pump of an earlier start() took it
            time.sleep(0.05)

    def start(self):
        if not self.pumping:
            self.pumping = True
            threading.Thread(target=self.pump, daemon=True).start()
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.conf, "relay"], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: "event=started" in self.log() or self.proc.poll() is not None, 5)

    def stop(self):
        """SIGTERM; returns the exit status (None when it had to be killed)."""
        self.pumping = False
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def files(self, state):
        return sorted(os.listdir(os.path.join(self.spool, state)))

    def read(self, state, qid):
        with open(os.path.join(self.spool, state, qid), "rb") as f:
            return parse_qfile(f.read())


# ---------------------------------------------------------------- checks

T = Tap()
CRLF = b"\r\n"
FULL_EXT = ["PIPELINING", "SIZE 100000", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING", "BINARYMIME",
            "ENHANCEDSTATUSCODES"]


def missing(txt, pieces):
    """The pieces not found in txt, for a failure message."""
    return [p for p in pieces if p not in txt]


def to_addr(t):
    return [r[r.find("<") + 1:r.find(">")] for r in t.rcpt_args]


def dsn_for(hop, sender):
    return hop.find(lambda t: t.mail.startswith("<>") and to_addr(t) == [sender])


def gone(relay, qid):
    return lambda: qid not in relay.files("outgoing")


def scenario_main(workdir):
    """A hop with every extension; one connection, so reuse is observable."""
    hop = Hop(FULL_EXT)
    relay = Relay("main", hop.port, tls="may", max_connections=1, lifetime=30)
    try:
        # 1 exact bytes, dot-stuffing, final line without CRLF; plus a second message for reuse
        data1 = b"Subject: dots\r\n\r\n.leading dot\r\nmid . dot\r\n..two\r\n.\r\nlast line"
        id1, id2 = new_id(), new_id()
        relay.put(id1, qfile(id1, "alice@x.test", ["bob@y.test"], data1))
        relay.put(id2, qfile(id2, "alice@x.test", ["carol@y.test"], b"Subject: two\r\n\r\nhi\r\n"))
        relay.start()
        ok = wait_for(lambda: len(hop.txs) >= 2, 10)
        T.check(ok, "two messages delivered", relay.log()[-500:])
        t1 = hop.find(lambda t: to_addr(t) == ["bob@y.test"])
        T.check(t1 and t1[0].raw == b"Subject: dots\r\n\r\n..leading dot\r\nmid . dot\r\n...two\r\n"
                b"..\r\nlast line\r\n.\r\n", "exact DATA bytes: dot-stuffed, CRLF added, terminator",
                t1 and t1[0].raw)
        T.check(t1 and t1[0].data == data1 + CRLF, "data unstuffed equals the spool's data")
        t2 = hop.find(lambda t: to_addr(t) == ["carol@y.test"])
        T.check(t1 and t2 and t1[0].conn == t2[0].conn, "connection reused for two messages",
                f"conns {[t.conn for t in hop.txs]}")
        cmds = [c for cid, c in hop.commands if t1 and cid == t1[0].conn]
        T.check([c.split()[0] for c in cmds].count("EHLO") == 1 and "RSET" in cmds,
                "one EHLO, RSET between transactions", cmds)
        T.check(t1 and t1[0].pipelined, "PIPELINING used when offered")
        T.check(wait_for(lambda: not relay.files("outgoing"), 5), "outgoing/ empty after delivery",
                relay.files("outgoing"))
        T.check(f"{id1}: event=sent rcpt=<bob@y.test> relay=127.0.0.1:{hop.port} dsn=2.0.0 "
                f'reply="250 2.0.0 Ok: queued"' in relay.log(), "log line event=sent")

        # 2 envelope parameters passed on
        id3 = new_id()
        data3 = "Subject: ünïcode\r\n\r\n8-bit body ü\r\n".encode()
        relay.put(id3, qfile(id3, "jürgen@x.test", [("dora@y.test", "SUCCESS,FAILURE", "rfc822;dora+2Bx@y.test")],
                             data3, envid="ENV+2B42", ret="HDRS", body="8BITMIME", smtputf8=True))
        wait_for(lambda: hop.find(lambda t: to_addr(t) == ["dora@y.test"]), 5)
        t3 = hop.find(lambda t: to_addr(t) == ["dora@y.test"])
        mail = t3[0].mail if t3 else ""
        T.check(mail == f"<jürgen@x.test> SIZE={len(data3)} BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=ENV+2B42",
                "MAIL FROM with SIZE, BODY, SMTPUTF8, RET, ENVID", mail)
        T.check(t3 and t3[0].rcpt_args == ["<dora@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;dora+2Bx@y.test"],
                "RCPT TO with NOTIFY and ORCPT", t3 and t3[0].rcpt_args)
        T.check(t3 and t3[0].data == data3, "8-bit data passed unchanged")

        # 3 BINARYMIME goes by BDAT
        id4 = new_id()
        data4 = b"Subject: bin\r\n\r\n\x00\x01.\r\n\xff raw"
        relay.put(id4, qfile(id4, "alice@x.test", ["erin@y.test"], data4, body="BINARYMIME"))
        wait_for(lambda: hop.find(lambda t: to_addr(t) == ["erin@y.test"]), 5)
        t4 = hop.find(lambda t: to_addr(t) == ["erin@y.test"])
        T.check(t4 and t4[0].bdat and t4[0].data == data4 and "BODY=BINARYMIME" in t4[0].mail,
                "BINARYMIME sent with BDAT, bytes unchanged", t4 and t4[0])

        # 4 mixed results: 250 / 450 / 550
        hop.rcpt_reply["temp@y.test"] = "450 4.2.0 mailbox busy"
        hop.rcpt_reply["perm@y.test"] = "550 5.1.1 no such user"
        id5 = new_id()
        data5 = b"Subject: mixed\r\nMessage-ID: <m5@x.test>\r\n\r\nmixed body\r\n"
        relay.put(id5, qfile(id5, "mixer@x.test", ["ok@y.test", "temp@y.test", "perm@y.test"], data5,
                             envid="MIX1"))
        T.check(wait_for(lambda: id5 in relay.files("deferred"), 5), "450 recipient deferred",
                relay.files("deferred"))
        d5 = relay.read("deferred", id5) if id5 in relay.files("deferred") else {}
        T.check(d5.get("rcpt") == ["temp@y.test"] and d5.get("attempts") == 1 and
                "450 4.2.0 mailbox busy" in d5.get("last-error", "") and d5.get("next-attempt", 0) > time.time() - 1,
                "deferred copy: only the 450 recipient, attempts=1, last-error, next-attempt", d5)
        T.check(hop.find(lambda t: t.rcpts == ["ok@y.test"]), "250 recipient delivered")
        wait_for(lambda: dsn_for(hop, "mixer@x.test"), 5)
        dsn = dsn_for(hop, "mixer@x.test")
        txt = dsn[0].data.decode(errors="replace") if dsn else ""
        T.check(dsn, "DSN for the 550 recipient delivered to the sender", relay.log()[-800:])
        want = ["Final-Recipient: rfc822; perm@y.test\r\n", "Status: 5.1.1\r\n",
                "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n", "report-type=delivery-status",
                "Original-Envelope-Id: MIX1\r\n", "Content-Type: message/rfc822", "mixed body"]
        T.check(txt and not missing(txt, want) and "temp@y.test" not in txt,
                "DSN names only the 550 recipient, with status, diagnostic, ENVID and the message",
                (missing(txt, want), "temp@y.test" in txt))
        m5 = re.search(rf"{id5}: event=dsn-queued id=([0-9a-f]{{16}}) for=<mixer@x.test>", relay.log())
        T.check(m5, "log line event=dsn-queued")
        T.check(m5 and m5.group(1) in relay.dsns, "the DSN was written to dsn/ for cryptd, not to outgoing/",
                relay.dsns)
        # the deferred recipient is retried and delivered once the hop accepts it
        hop.rcpt_reply.pop("temp@y.test")
        T.check(wait_for(lambda: hop.find(lambda t: to_addr(t) == ["temp@y.test"]), 8),
                "deferred recipient delivered on retry", relay.files("deferred"))
        T.check(wait_for(lambda: not relay.files("deferred") and not relay.files("outgoing"), 5),
                "queue empty after retry", (relay.files("deferred"), relay.files("outgoing")))

        # 5 empty sender and NOTIFY=NEVER: no DSN
        id6, id7 = new_id(), new_id()
        relay.put(id6, qfile(id6, "", ["perm@y.test"], b"Subject: bounce\r\n\r\nx\r\n"))
        relay.put(id7, qfile(id7, "never@x.test", [("perm@y.test", "NEVER", None)], b"Subject: n\r\n\r\nx\r\n"))
        wait_for(lambda: id6 not in relay.files("outgoing") and id7 not in relay.files("outgoing"), 5)
        time.sleep(0.5)
        log_ = relay.log()
        T.check(f"{id6}: event=no-dsn rcpt=<perm@y.test> reason=null-sender" in log_ and
                f"{id6}: event=dsn-queued" not in log_, "empty sender: no DSN")
        T.check(f"{id7}: event=no-dsn rcpt=<perm@y.test> reason=notify" in log_ and
                not dsn_for(hop, "never@x.test"), "NOTIFY=NEVER: no DSN")

        # 6 queue lifetime expiry
        hop.rcpt_reply["slow@y.test"] = "451 4.3.0 try later"
        id8 = new_id()
        relay.put(id8, qfile(id8, "old@x.test", ["slow@y.test"], b"Subject: old\r\n\r\nx\r\n",
                             created=time.time() - 60))
        wait_for(lambda: dsn_for(hop, "old@x.test"), 6)
        dsn = dsn_for(hop, "old@x.test")
        txt = dsn[0].data.decode(errors="replace") if dsn else ""
        T.check(dsn and "Status: 5.4.7" in txt and "451 4.3.0 try later" in txt and
                id8 not in relay.files("deferred"), "queue lifetime expired: DSN instead of deferral", txt[:200])

        # 7 larger than the hop's SIZE
        id9 = new_id()
        relay.put(id9, qfile(id9, "big@x.test", ["z@y.test"], b"Subject: big\r\n\r\n" + b"x" * 100100 + CRLF))
        wait_for(lambda: dsn_for(hop, "big@x.test"), 6)
        dsn = dsn_for(hop, "big@x.test")
        T.check(dsn and "Status: 5.3.4" in dsn[0].data.decode(errors="replace") and
                not hop.find(lambda t: to_addr(t) == ["z@y.test"]), "larger than SIZE: not sent, DSN 5.3.4")

        # 8 unreadable queue file goes to corrupt/
        idc = new_id()
        relay.put(idc, b"SEALGATE-QUEUE 1\nid " + idc.encode() + b"\ntorn")
        old = time.time() - 60
        os.utime(os.path.join(relay.spool, "outgoing", idc), (old, old))
        T.check(wait_for(lambda: idc in relay.files("corrupt"), 5), "unreadable file moved to corrupt/",
                relay.files("outgoing"))

        # an envelope value that would inject a command is never sent
        idi = new_id()
        relay.put(idi, qfile(idi, "x@x.test>\r\nRSET\r\nMAIL FROM:<evil@x.test", ["inj@y.test"],
                             b"Subject: inj\r\n\r\nx\r\n"))
        T.check(wait_for(lambda: idi in relay.files("corrupt"), 5) and
                not hop.find(lambda t: to_addr(t) == ["inj@y.test"]) and
                not any("evil" in c for _, c in hop.commands), "CR/LF in an envelope value: corrupt/, not sent")

        # idle connections are closed
        T.check(wait_for(lambda: any(c == "QUIT" for _, c in hop.commands), 8), "QUIT after idle time")

        rc = relay.stop()
        T.check(rc == 0 and "event=stopped" in relay.log(), "SIGTERM: clean exit 0", rc)
    finally:
        relay.stop()
        hop.close()


def scenario_plain(workdir):
    """A hop without PIPELINING, SMTPUTF8, DSN, 8BITMIME."""
    hop = Hop(["SIZE"])
    relay = Relay("plain", hop.port, tls="may", max_connections=2)
    try:
        ida, idb, idc, idd = new_id(), new_id(), new_id(), new_id()
        relay.put(ida, qfile(ida, "a@x.test", [("p@y.test", "FAILURE", "rfc822;p@y.test")],
                             b"Subject: p\r\n\r\nplain\r\n", envid="E1", ret="FULL", body="8BITMIME"))
        # 7-bit header, so that the DSN (header only, 5.6.x) can itself pass this hop
        relay.put(idb, qfile(idb, "utf@x.test", ["q@y.test"], "Subject: u\r\n\r\nü\r\n".encode(),
                             body="8BITMIME", smtputf8=True))
        relay.put(idc, qfile(idc, "eight@x.test", ["r@y.test"], "Subject: e\r\n\r\nü\r\n".encode(),
                             body="8BITMIME"))
        relay.start()
        wait_for(lambda: hop.find(lambda t: to_addr(t) == ["p@y.test"]), 8)
        t = hop.find(lambda t: to_addr(t) == ["p@y.test"])
        T.check(t and t[0].mail == "<a@x.test> SIZE=21" and t[0].rcpt_args == ["<p@y.test>"],
                "no DSN/BODY parameters when the hop lacks DSN and 8BITMIME (7-bit data)",
                t and (t[0].mail, t[0].rcpt_args))
        T.check(t and not t[0].pipelined, "no PIPELINING when not offered")
        wait_for(lambda: dsn_for(hop, "utf@x.test") and dsn_for(hop, "eight@x.test"), 8)
        d = dsn_for(hop, "utf@x.test")
        T.check(d and "Status: 5.6.7" in d[0].data.decode(errors="replace") and
                not hop.find(lambda t: to_addr(t) == ["q@y.test"]), "SMTPUTF8 needed, not offered: DSN 5.6.7")
        d = dsn_for(hop, "eight@x.test")
        T.check(d and "Status: 5.6.3" in d[0].data.decode(errors="replace") and
                not hop.find(lambda t: to_addr(t) == ["r@y.test"]), "8-bit data, no 8BITMIME: DSN 5.6.3")
        # deferred/ not writable: the source must stay (never lose), then recover
        ddir = os.path.join(relay.spool, "deferred")
        os.chmod(ddir, 0o555)
        hop.rcpt_reply["busy@y.test"] = "452 4.2.2 full"
        ide = new_id()
        relay.put(ide, qfile(ide, "a@x.test", ["busy@y.test"], b"Subject: full\r\n\r\nx\r\n"))
        wait_for(lambda: f"{ide}: event=defer-failed" in relay.log(), 5)
        T.check(f"{ide}: event=defer-failed" in relay.log() and ide in relay.files("outgoing"),
                "deferred copy cannot be written: the source stays in outgoing/", relay.files("outgoing"))
        os.chmod(ddir, 0o775)
        T.check(wait_for(lambda: ide in relay.files("deferred") and ide not in relay.files("outgoing"), 6),
                "deferred once the disk is writable again", (relay.files("outgoing"), relay.files("deferred")))
        T.check(relay.stop() == 0, "relay exits 0 on SIGTERM")
    finally:
        relay.stop()
        hop.close()


def scenario_helo(workdir):
    hop = Hop(["PIPELINING", "SIZE", "DSN"])
    hop.ehlo_reply = "502 5.5.2 Error: command not recognized"
    relay = Relay("helo", hop.port)
    try:
        qid = new_id()
        relay.put(qid, qfile(qid, "a@x.test", [("h@y.test", "FAILURE", None)], b"Subject: h\r\n\r\nx\r\n",
                             envid="E"))
        relay.start()
        wait_for(lambda: hop.txs, 5)
        cmds = [c.split()[0].upper() for _, c in hop.commands]
        T.check(hop.txs and cmds[:2] == ["EHLO", "HELO"] and hop.txs[0].mail == "<a@x.test>" and
                hop.txs[0].rcpt_args == ["<h@y.test>"], "EHLO refused: HELO, and no extensions used",
                (cmds, hop.txs and hop.txs[0].mail))
    finally:
        relay.stop()
        hop.close()


def scenario_stop(workdir):
    """SIGTERM while the hop sits on the end of data: the transaction is abandoned after the
    grace period and the message stays in outgoing/ (sent again later; never lost)."""
    hop = Hop(["PIPELINING"])
    hop.data_delay = 60
    relay = Relay("stop", hop.port)
    try:
        qid = new_id()
        relay.put(qid, qfile(qid, "a@x.test", ["slow@y.test"], b"Subject: stop\r\n\r\nx\r\n"))
        relay.start()
        wait_for(lambda: hop.txs, 5)
        t0 = time.monotonic()
        rc = relay.stop()
        T.check(rc == 0 and time.monotonic() - t0 < 14, "SIGTERM mid-transaction: exit 0 within the grace time",
                (rc, time.monotonic() - t0))
        T.check(relay.files("outgoing") == [qid] and not relay.files("deferred") and
                "event=abandoned" in relay.log(), "abandoned message left in outgoing/ untouched",
                (relay.files("outgoing"), relay.files("deferred")))
    finally:
        relay.stop()
        hop.close()


def scenario_tls(workdir):
    ctx = make_tls_ctx(workdir)
    hop = Hop(["PIPELINING", "8BITMIME"], tls_ctx=ctx)
    relay = Relay("tls-may", hop.port, tls="may")
    try:
        qid = new_id()
        relay.put(qid, qfile(qid, "a@x.test", ["tls@y.test"], b"Subject: tls\r\n\r\nsecret\r\n"))
        relay.start()
        wait_for(lambda: hop.txs, 8)
        cmds = [c.split()[0].upper() for _, c in hop.commands]
        T.check(hop.txs and hop.txs[0].tls and hop.txs[0].data == b"Subject: tls\r\n\r\nsecret\r\n",
                "tls=may: STARTTLS offered and used", relay.log()[-400:])
        T.check(cmds[:3] == ["EHLO", "STARTTLS", "EHLO"], "EHLO again after STARTTLS", cmds)
    finally:
        relay.stop()
        hop.close()

    hop = Hop(["PIPELINING"], tls_ctx=ctx)
    hop.bad_tls = True
    relay = Relay("tls-broken", hop.port, tls="may")
    try:
        qid = new_id()
        relay.put(qid, qfile(qid, "a@x.test", ["broken@y.test"], b"Subject: b\r\n\r\nx\r\n"))
        relay.start()
        T.check(wait_for(lambda: qid in relay.files("deferred"), 5) and not hop.txs and
                "event=tls-failed" in relay.log(),
                "tls=may, handshake fails: deferred, never sent in the clear (test_relay_tls.py)", relay.log()[-300:])
    finally:
        relay.stop()
        hop.close()

    hop = Hop(["PIPELINING"], tls_ctx=ctx)
    hop.bad_tls = True
    relay = Relay("tls-must-broken", hop.port, tls="must")
    try:
        qid = new_id()
        relay.put(qid, qfile(qid, "a@x.test", ["mb@y.test"], b"Subject: b\r\n\r\nx\r\n"))
        relay.start()
        wait_for(lambda: qid in relay.files("deferred"), 5)
        d = relay.read("deferred", qid) if qid in relay.files("deferred") else {}
        T.check(not hop.txs and "TLS" in d.get("last-error", ""),
                "tls=must, handshake fails: deferred, nothing sent", d.get("last-error"))
    finally:
        relay.stop()
        hop.close()

    hop = Hop(["PIPELINING"])
    relay = Relay("tls-must", hop.port, tls="must")
    try:
        qid = new_id()
        relay.put(qid, qfile(qid, "a@x.test", ["must@y.test"], b"Subject: must\r\n\r\nx\r\n"))
        relay.start()
        T.check(wait_for(lambda: qid in relay.files("deferred"), 5), "tls=must, no STARTTLS: deferred",
                relay.log()[-400:])
        d = relay.read("deferred", qid) if qid in relay.files("deferred") else {}
        T.check(not hop.txs and "STARTTLS" in d.get("last-error", "") and d.get("attempts") == 1,
                "nothing sent in the clear; last-error says why", d.get("last-error"))
    finally:
        relay.stop()
        hop.close()


def scenario_down(workdir):
    port = free_port()
    relay = Relay("down", port, tls="may")
    hop = None
    try:
        qid = new_id()
        data = b"Subject: later\r\n\r\nwaiting\r\n"
        relay.put(qid, qfile(qid, "a@x.test", ["w@y.test"], data))
        relay.start()
        T.check(wait_for(lambda: qid in relay.files("deferred"), 5), "next hop down: message deferred",
                relay.log()[-300:])
        d = relay.read("deferred", qid) if qid in relay.files("deferred") else {}
        T.check("cannot connect" in d.get("last-error", "") and d.get("data") == data,
                "deferred copy keeps the data and the error", d.get("last-error"))
        time.sleep(1.5)
        hop = Hop(["PIPELINING"], port=port)
        T.check(wait_for(lambda: hop.txs, 8), "delivered after the hop came back", relay.log()[-300:])
        T.check(hop.txs and hop.txs[0].data == data and
                wait_for(lambda: not relay.files("deferred") and not relay.files("outgoing"), 3),
                "exact data, queue empty")
        T.check(re.search(rf"{qid}: event=deferred rcpt=<w@y.test> .* attempts=\d+ next=\d+", relay.log()),
                "log line event=deferred with attempts and next")
    finally:
        relay.stop()
        if hop:
            hop.close()


def check_sanitizer_reports():
    """One check over every relay log of this run (tests/out/test_relay-*.log)."""
    reports = []
    for name in os.listdir(OUT):
        if name.startswith("test_relay-") and name.endswith(".log"):
            with open(os.path.join(OUT, name), errors="replace") as f:
                reports += [f"{name}: {l}" for l in f if "Sanitizer" in l or "runtime error:" in l]
    T.check(not reports, "no sanitizer report from any relay process", reports[:3])


def main():
    if not os.access(BINARY, os.X_OK):
        T.fail(f"{BINARY} built", "missing (build first)")
        T.done()
    workdir = tempfile.mkdtemp(prefix="sg-relay-test-")
    t0 = time.time()
    for sc in (scenario_main, scenario_plain, scenario_tls, scenario_down, scenario_helo, scenario_stop):
        log(f"scenario {sc.__name__}")
        try:
            sc(workdir)
        except Exception as e:  # a crash in a scenario is a failure, not a silent pass
            T.check(False, f"{sc.__name__} ran to the end", repr(e))
    check_sanitizer_reports()
    log(f"done in {time.time() - t0:.1f}s")
    T.done()


if __name__ == "__main__":
    sys.exit(main())
