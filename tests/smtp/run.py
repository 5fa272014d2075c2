#!/usr/bin/env python3
"""Declarative SMTP conversation tests for the smtpd and sink roles. Owner: src/smtpd tests.

usage: run.py --binary build-asan/sealgate [FILE.conv ...]   (default: every tests/smtp/*.conv)

Prints one TAP line per conversation file. For each file the runner makes a temporary base
directory, writes a config (base_dir = that directory, hostname "sg.test", sink disabled, plus
the file's SET lines), binds a loopback port itself and hands it to `sealgate -c CONF smtpd`
(or `sink`) through $SEALGATE_LISTEN_FD, runs the conversation, then sends SIGTERM and requires
exit status 0 (so ASan/LSan findings fail the test).

Conversation file syntax, one directive per line; blank lines and lines starting with # are
ignored. Escapes (\\r \\n \\t \\xNN \\\\) are Python string escapes where noted.

  SET key.path = value   config override; key.path is dotted (smtpd.max_recipients), value is
                         libconfig syntax (2, "x", true, ["10.0.0.0/8"]). Only before the first
                         conversation line.
  ROLE smtpd|sink        which role to start (default smtpd)
  CONNECT [n]            open connection n (default 1) and make it current; the first C/S line
                         opens connection 1 implicitly
  USE n                  make connection n current
  CONNECT-MANY n         open connections 1..n, each greeted with 220; the last is current
  C: text                send text + CRLF (UTF-8)
  C-RAW: text            send text with escapes, nothing appended
  C-PY: expr             send the bytes of a Python expression, e.g. b"x" * 2000 + b"\\r\\n"
  S: line                the next reply line is exactly this (without CRLF)
  S~: regex              the next reply line fully matches regex
  S-ANY: code            a whole (possibly multi-line) reply with this code, text not checked
  CLOSED                 the server closes the connection with no further bytes
  SILENT seconds         no bytes arrive within seconds
  DISCONNECT             the client closes the current connection
  TERM                   send SIGTERM to the server now (it must still exit 0 at the end)
  TLS                    do the client side of the TLS handshake now (after "220 2.0.0 ...")
  SLEEP seconds          wait
  CHMOD path mode        chmod a path below the base directory (octal mode), e.g. to make the
                         spool unwritable
  QUEUE state n          spool/<state> holds n files
  QUEUE-DATA text        the one message in incoming/ has exactly these data bytes (escapes)
  QUEUE-DATA-PY expr     ... exactly the bytes of a Python expression
  ENVELOPE k=v [k=v...]  the one message in incoming/ has envelope line k with decoded value v
                         (v may be empty: "from=" is the null sender)
  ENVELOPE-NO key        ... and has no line with this key
  MAILDIR n              the sink's maildir new/ holds n files
  LOG k=v [k=v...]       some line of the server's log so far has all these fields; first every
                         line must be one parseable event (see log_events)
  LOG-NO k=v             ... no line has this field
  MAILDIR-FILE text      the one file in new/ has exactly these bytes (escapes)
"""
import argparse
import glob
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from sgtest import log_events  # noqa: E402
from tap import Tap  # noqa: E402
TIMEOUT = 5.0


class Fail(Exception):
    pass


def unescape(text):
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")


def xtext_decode(v):
    b = re.sub(rb"\+([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), v.encode())
    return b.decode("utf-8", "surrogateescape")


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            d = b""
        except socket.timeout:
            return None
        return d

    def line(self):
        deadline = time.time() + TIMEOUT
        while b"\r\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise Fail(f"timeout waiting for a reply line (have {self.buf!r})")
            d = self._fill(left)
            if d is None:
                continue
            if d == b"":
                raise Fail(f"connection closed while waiting for a reply line (have {self.buf!r})")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        if b"\n" in line or b"\r" in line:
            raise Fail(f"bare CR/LF in server reply {line!r}")
        return line.decode("utf-8", "replace")

    def closed(self):
        if self.buf:
            raise Fail(f"expected close, got {self.buf!r}")
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            d = self._fill(deadline - time.time())
            if d == b"":
                return
            if d:
                raise Fail(f"expected close, got {d!r}")
        raise Fail("connection not closed")

    def silent(self, secs):
        if self.buf:
            raise Fail(f"expected silence, got {self.buf!r}")
        d = self._fill(secs)
        if d:
            raise Fail(f"expected silence, got {d!r}")

    def tls(self):
        if self.buf:
            raise Fail(f"bytes before TLS handshake: {self.buf!r}")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(TIMEOUT)
        self.sock = ctx.wrap_socket(self.sock)


def libconfig_text(base, port, sets):
    tree = {"base_dir": f'"{base}"', "hostname": '"sg.test"',
            "smtpd": {"listen": f'"127.0.0.1:{port}"'},
            "sink": {"enabled": "false", "listen": f'"127.0.0.1:{port}"'}}
    for key, value in sets:
        node = tree
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value

    def emit(node, ind):
        out = []
        for k, v in node.items():
            if isinstance(v, dict):
                out.append(f"{ind}{k} = {{\n{emit(v, ind + '  ')}{ind}}};\n")
            else:
                out.append(f"{ind}{k} = {v};\n")
        return "".join(out)
    return emit(tree, "")


def one_message(base, state="incoming"):
    d = os.path.join(base, "spool", state)
    names = sorted(os.listdir(d))
    if len(names) != 1:
        raise Fail(f"expected one message in {state}, found {names}")
    raw = open(os.path.join(d, names[0]), "rb").read()
    head, rest = raw.split(b"\ndata\n", 1)
    m = re.search(rb"END ([0-9a-f]{16})\n\Z", rest)
    if not m or int(m.group(1), 16) != len(rest) - 21:
        raise Fail("queue file trailer is wrong")
    env = []
    for ln in head.decode().split("\n")[1:]:
        k, _, v = ln.partition(" ")
        env.append((k, xtext_decode(v)))
    return env, rest[:-21]


def run_conv(path, binary):
    lines = open(path, encoding="utf-8").read().split("\n")
    sets, role = [], "smtpd"
    base = tempfile.mkdtemp(prefix="sg-conv-")
    os.chmod(base, 0o755)  # roles started as root drop privileges and must reach their dirs
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    port = lsock.getsockname()[1]
    proc, conns, cur, logf = None, {}, None, os.path.join(base, "server.log")
    try:
        for no, raw in enumerate(lines, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            try:
                if word == "SET":
                    k, _, v = rest.partition("=")
                    sets.append((k.strip(), v.strip()))
                    continue
                if word == "ROLE":
                    role = rest.strip()
                    continue
                if proc is None:
                    conf = os.path.join(base, "sealgate.conf")
                    with open(conf, "w") as f:
                        f.write(libconfig_text(base, port, sets))
                    env = dict(os.environ, SEALGATE_LISTEN_FD=str(lsock.fileno()))
                    lsock.setblocking(False)
                    proc = subprocess.Popen([binary, "-c", conf, role], env=env,
                                            pass_fds=[lsock.fileno()], stdout=open(logf, "ab"),
                                            stderr=subprocess.STDOUT)
                if word == "CONNECT-MANY":
                    for i in range(1, int(rest) + 1):
                        cur = conns[str(i)] = Conn(port)
                        if not cur.line().startswith("220 "):
                            raise Fail(f"connection {i} was not greeted with 220")
                    continue
                if word in ("CONNECT", "USE"):
                    n = rest.strip() or "1"
                    if word == "CONNECT" or n not in conns:
                        conns[n] = Conn(port)
                    cur = conns[n]
                    continue
                if cur is None and (word.startswith("C") or word.startswith("S")):
                    cur = conns["1"] = Conn(port)
                if word == "C:":
                    cur.send(rest.encode("utf-8") + b"\r\n")
                elif word == "C-RAW:":
                    cur.send(unescape(rest))
                elif word == "C-PY:":
                    cur.send(eval(rest))  # test files are ours; expressions build payloads
                elif word == "S:":
                    got = cur.line()
                    if got != rest:
                        raise Fail(f"expected {rest!r}, got {got!r}")
                elif word == "S~:":
                    got = cur.line()
                    if not re.fullmatch(rest, got):
                        raise Fail(f"expected /{rest}/, got {got!r}")
                elif word == "S-ANY:":
                    while True:
                        got = cur.line()
                        if not got.startswith(rest.strip()):
                            raise Fail(f"expected a {rest.strip()} reply, got {got!r}")
                        if got[3:4] != "-":
                            break
                elif word == "CLOSED":
                    cur.closed()
                elif word == "SILENT":
                    cur.silent(float(rest))
                elif word == "DISCONNECT":
                    cur.sock.close()
                elif word == "TERM":
                    proc.send_signal(signal.SIGTERM)
                elif word == "TLS":
                    cur.tls()
                elif word == "CHMOD":
                    rel, mode = rest.split()
                    os.chmod(os.path.join(base, rel), int(mode, 8))
                elif word == "SLEEP":
                    time.sleep(float(rest))
                elif word == "QUEUE":
                    state, n = rest.split()
                    have = len(os.listdir(os.path.join(base, "spool", state)))
                    if have != int(n):
                        raise Fail(f"spool/{state} has {have} files, expected {n}")
                elif word in ("QUEUE-DATA", "QUEUE-DATA-PY"):
                    _, data = one_message(base)
                    want = unescape(rest) if word == "QUEUE-DATA" else eval(rest)
                    if data != want:
                        raise Fail(f"queued data {data[:200]!r} != {want[:200]!r}")
                elif word == "ENVELOPE":
                    env, _ = one_message(base)
                    for kv in rest.split():
                        k, _, v = kv.partition("=")
                        if (k, v) not in env:
                            raise Fail(f"envelope has no {k}={v!r}: {env}")
                elif word == "ENVELOPE-NO":
                    env, _ = one_message(base)
                    if any(k == rest.strip() for k, _ in env):
                        raise Fail(f"envelope has {rest.strip()}: {env}")
                elif word in ("LOG", "LOG-NO"):
                    events = log_events(open(logf, encoding="utf-8", errors="replace").read())
                    want = [tuple(kv.split("=", 1)) for kv in rest.split()]
                    hit = [ev for ev in events if all(w in ev for w in want)]
                    if word == "LOG" and not hit:
                        raise Fail(f"no log line has {rest}: {events}")
                    if word == "LOG-NO" and hit:
                        raise Fail(f"a log line has {rest}: {hit[0]}")
                elif word == "MAILDIR":
                    have = len(os.listdir(os.path.join(base, "sink", "new")))
                    if have != int(rest):
                        raise Fail(f"maildir new/ has {have} files, expected {rest}")
                elif word == "MAILDIR-FILE":
                    d = os.path.join(base, "sink", "new")
                    names = os.listdir(d)
                    if len(names) != 1:
                        raise Fail(f"expected one maildir file, found {names}")
                    data = open(os.path.join(d, names[0]), "rb").read()
                    if data != unescape(rest):
                        raise Fail(f"maildir file {data!r} != {unescape(rest)!r}")
                else:
                    raise Fail(f"unknown directive {word!r}")
            except Fail as e:
                raise Fail(f"line {no}: {e}")
            except (OSError, ValueError, SyntaxError) as e:
                raise Fail(f"line {no}: {type(e).__name__}: {e}")
        if proc is None:
            raise Fail("empty conversation")
        for c in conns.values():
            c.sock.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise Fail("server did not exit after SIGTERM")
        if rc != 0:
            raise Fail(f"server exited with status {rc}")
    except Fail as e:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        sys.stderr.write(f"--- {os.path.basename(path)}: {e}\n")
        if os.path.exists(logf):
            sys.stderr.write(open(logf, errors="replace").read()[-4000:])
        return str(e)
    finally:
        lsock.close()
        shutil.rmtree(base, ignore_errors=True)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(HERE, "*.conv")))
    binary = os.path.abspath(a.binary)
    t = Tap()
    for f in files:
        t0 = time.time()
        err = run_conv(f, binary)
        name = os.path.basename(f)[:-5]
        t.ok(not err, name if err else f"{name} ({time.time() - t0:.1f}s)", err)
    t.done()


if __name__ == "__main__":
    sys.exit(main())
