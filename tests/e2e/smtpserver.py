"""smtpserver.py - a small scriptable SMTP server for the end-to-end tests (stdlib only).

Owner: tests/e2e. It plays a next hop: answers RCPT per address with a configurable reply
(e.g. 550 for one mailbox), records every accepted transaction (envelope and the exact DATA
bytes after un-stuffing), and can be started and stopped at will on a fixed loopback port.
"""
import socketserver
import threading


class Message:
    def __init__(self, mail_from, mail_params, rcpts, data, rcpt_params=None):
        self.mail_from = mail_from
        self.mail_params = mail_params  # the MAIL FROM parameters as sent, e.g. "BODY=8BITMIME"
        self.rcpts = rcpts
        self.rcpt_params = rcpt_params or {}  # {rcpt: parameters as sent}
        self.data = data


def _addr(arg):
    """'<a@b> PARAMS' -> ('a@b', 'PARAMS')."""
    arg = arg.strip()
    if arg.startswith("<"):
        end = arg.find(">")
        if end < 0:
            return None, ""
        return arg[1:end], arg[end + 1:].strip()
    parts = arg.split(None, 1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


class _Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        srv = self.server.owner
        self.reply("220 fake-next-hop.e2e.test ESMTP")
        mail_from, params, rcpts, rparams = None, "", [], {}
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                if verb == "EHLO":
                    self.reply("250-fake-next-hop.e2e.test")
                    self.reply("250-8BITMIME")
                    self.reply("250-PIPELINING")
                    self.reply("250-ENHANCEDSTATUSCODES")
                    self.reply("250-SMTPUTF8")
                    self.reply("250 DSN")
                else:
                    self.reply("250 fake-next-hop.e2e.test")
            elif cmd[:10].upper() == "MAIL FROM:":
                mail_from, params = _addr(cmd[10:])
                rcpts, rparams = [], {}
                self.reply("250 2.1.0 ok")
            elif cmd[:8].upper() == "RCPT TO:":
                addr, rp = _addr(cmd[8:])
                code = srv.rcpt_reply(addr)
                if code.startswith("2"):
                    rcpts.append(addr)
                    rparams[addr] = rp
                self.reply(code)
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                chunks = []
                while True:
                    ln = self.rfile.readline(1 << 20)
                    if not ln:
                        return
                    if ln == b".\r\n":
                        break
                    if ln.startswith(b"."):
                        ln = ln[1:]
                    chunks.append(ln)
                if srv.take_drop():
                    return  # hang up instead of answering: the client cannot know the outcome
                srv.record(Message(mail_from, params, rcpts, b"".join(chunks), rparams))
                self.reply("250 2.0.0 queued")
                mail_from, params, rcpts = None, "", []
            elif verb == "RSET":
                mail_from, params, rcpts = None, "", []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


class _TCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class FakeNextHop:
    """rejects: {address: 'NNN text'} replies for RCPT; everything else gets 250.
    tempfail: {address: n} answers 451 to the first n RCPTs for that address.
    drop_after_data: hang up (no reply) after the first n DATA transfers."""

    def __init__(self, port, rejects=None, tempfail=None, drop_after_data=0):
        self.port = port
        self.rejects = {k.lower(): v for k, v in (rejects or {}).items()}
        self.tempfail = {k.lower(): v for k, v in (tempfail or {}).items()}
        self.drops = drop_after_data
        self.rcpt_log = []  # (address, reply code) of every RCPT
        self.messages = []
        self.lock = threading.Lock()
        self.srv = None

    def rcpt_reply(self, addr):
        with self.lock:
            if self.tempfail.get(addr.lower(), 0) > 0:
                self.tempfail[addr.lower()] -= 1
                reply = f"451 4.3.0 <{addr}>: try again later"
            else:
                reply = self.rejects.get(addr.lower(), "250 2.1.5 ok")
            self.rcpt_log.append((addr, reply[:3]))
            return reply

    def take_drop(self):
        with self.lock:
            if self.drops > 0:
                self.drops -= 1
                return True
            return False

    def record(self, msg):
        with self.lock:
            self.messages.append(msg)

    def start(self):
        self.srv = _TCP(("127.0.0.1", self.port), _Handler)
        self.srv.owner = self
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None
