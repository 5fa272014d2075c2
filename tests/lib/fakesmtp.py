"""fakesmtp.py - the one scriptable fake SMTP server of the Python suites (stdlib only): it
plays the next hop the relay delivers to. Owner: tests.

    hop = FakeSmtp(port=0, ext=DEFAULT_EXT, tls_ctx=None, rejects=None, tempfail=None,
                   drop_after_data=0).start()

Script it before or while it runs:
  rcpt_reply    {address: "NNN text"} for RCPT (case-insensitive); everything else gets 250
  tempfail      {address: n}: 451 to the first n RCPTs of that address
  drops         hang up without a reply after the next n DATA transfers (drop_after_data)
  mail_reply, data_reply, data_delay (seconds before the reply to the end of data),
  ehlo_reply    (e.g. "502 5.5.2 no EHLO here": an old server), bad_tls (answer STARTTLS with
  220, then garbage instead of a handshake); tls_ctx offers STARTTLS.
What it records (read under hop.lock while the relay may still talk to it):
  txs           every finished DATA or BDAT transfer as a Tx, accepted or not
  messages      the transfers answered with 2xx
  rcpt_log      (address, reply code) of every RCPT
  commands      (connection number, line) of every command; nconn connections so far
stop() closes the listener (sessions in progress end on their own); start() again listens on
the same port, so a test can take the next hop down and bring it back.
"""
import socket
import ssl
import threading
import time

DEFAULT_EXT = ["8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN"]


class Tx:
    """One transaction: conn (its connection's number), tls, mail (the MAIL FROM: argument as
    sent), mail_from and mail_params (its address and parameters), rcpt_args (every RCPT TO:
    argument, refused ones too), rcpts (the accepted addresses), rcpt_params {address: params},
    pipelined (commands arrived before the MAIL reply was sent), bdat, raw (the bytes after DATA
    as received, terminator included, or the BDAT payload), data (un-stuffed), reply."""

    def __init__(self, conn, tls, mail):
        self.conn, self.tls, self.mail = conn, tls, mail
        self.mail_from, self.mail_params = split_addr(mail)
        self.rcpt_args, self.rcpts, self.rcpt_params = [], [], {}
        self.pipelined = self.bdat = False
        self.raw = self.data = b""
        self.reply = None


def split_addr(arg):
    """'<a@b> PARAMS' -> ('a@b', 'PARAMS')."""
    arg = arg.strip()
    if arg.startswith("<"):
        end = arg.find(">")
        if end < 0:
            return None, ""
        return arg[1:end], arg[end + 1:].strip()
    parts = arg.split(None, 1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


def unstuff(body):
    return b"".join(x[1:] if x.startswith(b".") else x for x in body.splitlines(keepends=True))


class FakeSmtp:
    def __init__(self, port=0, ext=None, tls_ctx=None, rejects=None, tempfail=None, drop_after_data=0):
        self.port = port
        self.ext = list(DEFAULT_EXT if ext is None else ext)
        self.tls_ctx = tls_ctx
        self.rcpt_reply = dict(rejects or {})
        self.tempfail = {k.lower(): v for k, v in (tempfail or {}).items()}
        self.drops = drop_after_data
        self.mail_reply = None
        self.data_reply = "250 2.0.0 Ok: queued"
        self.data_delay = 0
        self.ehlo_reply = None
        self.bad_tls = False
        self.txs, self.messages, self.rcpt_log, self.commands = [], [], [], []
        self.nconn = 0
        self.lock = threading.Lock()
        self.sock = None

    def start(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()
        return self

    def stop(self):
        sock, self.sock = self.sock, None
        if sock:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    close = stop

    def find(self, pred):
        with self.lock:
            return [t for t in self.txs if pred(t)]

    # ---- scripted answers ----

    def _rcpt(self, addr):
        with self.lock:
            low = (addr or "").lower()
            if self.tempfail.get(low, 0) > 0:
                self.tempfail[low] -= 1
                reply = f"451 4.3.0 <{addr}>: try again later"
            else:
                reply = {k.lower(): v for k, v in self.rcpt_reply.items()}.get(low, "250 2.1.5 Ok")
            self.rcpt_log.append((addr, reply[:3]))
            return reply

    def _take_drop(self):
        with self.lock:
            if self.drops > 0:
                self.drops -= 1
                return True
            return False

    # ---- the protocol ----

    def _accept(self, sock):
        while True:
            try:
                s, _ = sock.accept()
            except OSError:
                return
            with self.lock:
                self.nconn += 1
                cid = self.nconn
            threading.Thread(target=self._session, args=(s, cid), daemon=True).start()

    def _session(self, s, cid):
        s.settimeout(60)  # a client that went away never keeps a thread forever
        st = {"s": s, "buf": b""}
        try:
            self._run(st, cid)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                st["s"].close()
            except OSError:
                pass

    @staticmethod
    def _recv(st):
        d = st["s"].recv(65536)
        if not d:
            raise ValueError("eof")
        st["buf"] += d

    def _line(self, st):
        while b"\n" not in st["buf"]:
            self._recv(st)
        line, st["buf"] = st["buf"].split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def _until_end_of_data(self, st):
        """Everything up to and including the first line that is ".\r" (split at LF), searched
        from where the last look stopped: linear in the size, so large messages do not stall."""
        buf, pos = bytearray(st["buf"]), 0
        while True:
            if buf.startswith(b".\r\n"):
                end = 3
                break
            i = buf.find(b"\n.\r\n", pos)
            if i >= 0:
                end = i + 4
                break
            pos = max(0, len(buf) - 3)
            st["buf"] = b""
            self._recv(st)
            buf += st["buf"]
        st["buf"] = bytes(buf[end:])
        return bytes(buf[:end])

    def _exact(self, st, n):
        while len(st["buf"]) < n:
            self._recv(st)
        d, st["buf"] = st["buf"][:n], st["buf"][n:]
        return d

    @staticmethod
    def _poll_more(st):
        """Reads what has already arrived, without blocking."""
        s = st["s"]
        s.setblocking(False)
        try:
            st["buf"] += s.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError, OSError):
            pass
        finally:
            s.settimeout(60)

    def _finish(self, tx, send):
        """Records a finished transfer and answers it (or hangs up when told to)."""
        if self._take_drop():
            with self.lock:
                self.txs.append(tx)
            raise ValueError("hang up")  # no reply: the client cannot know the outcome
        tx.reply = self.data_reply
        with self.lock:
            self.txs.append(tx)
            if tx.reply.startswith("2"):
                self.messages.append(tx)
        time.sleep(self.data_delay)
        send(tx.reply)

    def _run(self, st, cid):
        def send(text):
            st["s"].sendall(text.encode() + b"\r\n")

        send("220 hop.test ESMTP fake")
        tls = False
        tx = None
        while True:
            line = self._line(st)
            with self.lock:
                self.commands.append((cid, line))
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO" and self.ehlo_reply:
                send(self.ehlo_reply)
            elif verb == "EHLO":
                lines = ["hop.test"] + self.ext + (["STARTTLS"] if self.tls_ctx and not tls else [])
                for i, l in enumerate(lines):
                    send(("250 " if i == len(lines) - 1 else "250-") + l)
            elif verb == "HELO":
                send("250 hop.test")
            elif verb == "STARTTLS" and self.bad_tls:
                send("220 2.0.0 go ahead")
                st["s"].sendall(b"this is not TLS\r\n" * 20)
                return
            elif verb == "STARTTLS" and self.tls_ctx and not tls:
                send("220 2.0.0 go ahead")
                st["s"] = self.tls_ctx.wrap_socket(st["s"], server_side=True)
                st["buf"] = b""
                tls = True
            elif line[:10].upper() == "MAIL FROM:":
                tx = Tx(cid, tls, line[10:])
                time.sleep(0.05)
                self._poll_more(st)
                tx.pipelined = len(st["buf"]) > 0
                send(self.mail_reply or "250 2.1.0 Ok")
            elif line[:8].upper() == "RCPT TO:":
                if tx is None:
                    send("503 5.5.1 MAIL first")
                    continue
                arg = line[8:]
                addr, params = split_addr(arg)
                tx.rcpt_args.append(arg)
                r = self._rcpt(addr)
                if r.startswith("2"):
                    tx.rcpts.append(addr)
                    tx.rcpt_params[addr] = params
                send(r)
            elif verb == "DATA":
                if not tx or not tx.rcpts:
                    send("554 5.5.1 Error: no valid recipients")
                    continue
                send("354 End data with <CR><LF>.<CR><LF>")
                raw = self._until_end_of_data(st)
                tx.raw, tx.data = raw, unstuff(raw[:-3])
                self._finish(tx, send)
                tx = None
            elif verb == "BDAT":
                parts = line.split()
                chunk = self._exact(st, int(parts[1]))
                if tx is None:
                    send("503 5.5.1 MAIL first")
                    continue
                tx.bdat = True
                tx.raw += chunk
                if len(parts) > 2 and parts[2].upper() == "LAST":
                    tx.data = tx.raw
                    self._finish(tx, send)
                    tx = None
                else:
                    send("250 2.0.0 chunk ok")
            elif verb == "RSET":
                tx = None
                send("250 2.0.0 Ok")
            elif verb == "NOOP":
                send("250 2.0.0 Ok")
            elif verb == "QUIT":
                send("221 2.0.0 Bye")
                return
            else:
                send("502 5.5.2 Error: command not recognized")
