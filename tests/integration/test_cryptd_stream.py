#!/usr/bin/env python3
"""test_cryptd_stream.py - cryptd reads a large message from its spool file instead of a heap
copy (issue 11): a running gateway (`sealgate start`, tests/e2e/harness.py) with the fake next
hop of tests/lib/fakesmtp.py.
  (a) pass-through: a SIZE message from outside to outside (the policy changes nothing) is
      delivered byte for byte (SHA-256 at the hop), and cryptd's peak resident memory (VmHWM)
      grows by at most CRYPTD_GROWTH_MAX for it. Before, cryptd read the whole file into the
      heap (growth >= SIZE); now it maps the file (lib/mapview.h), parses the facts through
      read() on it and gives mapped pages back behind its scans.
  (b) OpenPGP sign+encrypt out of a SIZE message, streamed: the inner entity is read in pieces
      from the mapping, librnp encrypts and armors it through callbacks into a file in the
      spool's tmp/cryptd/ (the log says streamed=yes); gpg decrypts what the hop received with
      the recipient's key, the signature is good, the attachment decodes to exactly the random
      bytes sent, and cryptd's VmHWM stays within CRYPTD_PGP_GROWTH_MAX of its start (before,
      the message was copied about five times: +150 MiB for 32 MiB).
  (e) S/MIME sign+encrypt out of a SIZE message, streamed: the entity is read twice in pieces
      (the detached signature, then into the envelope), the envelope written as BER in base64
      lines into the file (streamed=yes); `openssl cms -decrypt` with the recipient's key and
      `openssl cms -verify` against the test CA open it, the attachment is the bytes sent, and
      cryptd's VmHWM stays within CRYPTD_PGP_GROWTH_MAX of its start (before: ~6 copies).
  (c) the spool file of a large message cut short (its end marker gone) and (d) one with bytes
      missing from the middle (end marker kept, claiming more than the file holds), each put
      into incoming/: moved to corrupt/, nothing of either delivered, nothing cut sent.
Times are never asserted. Works as root or not. Owner: src/cryptd.
"""
import base64
import email
import email.policy
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import BINARY, Gateway, log, send, vm_hwm_kb, wait_for  # noqa: E402
from fakesmtp import FakeSmtp  # noqa: E402
from tap import Tap  # noqa: E402

SIZE = 32 << 20
CRYPTD_GROWTH_MAX_KB = 8 << 10  # 8 MiB for a 32 MiB message (it was the message and more)
CRYPTD_PGP_GROWTH_MAX_KB = 24 << 10  # 24 MiB for OpenPGP sign+encrypt of 32 MiB (it was ~150)


def big_message(mid, sender, rcpt, size, subject="a big one"):
    """(message, the attachment's raw bytes): a text part and a base64 attachment."""
    head = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{mid}@test.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
            "--b0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe data is attached.\r\n"
            "--b0\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode()
    tail = b"\r\n--b0--\r\n"
    raw = random.Random(mid).randbytes((size - len(head) - len(tail)) // 78 * 57)
    return head + base64.encodebytes(raw).replace(b"\n", b"\r\n") + tail, raw


def hwm(gw, role):
    pids = gw.role_pids().get(role, [])
    return sum(vm_hwm_kb(p) for p in pids), pids


def delivered(hop, mid):
    """The transfers that carry Message-ID mid, not counting notices (from <>) that quote it."""
    tag = f"Message-ID: <{mid}@test.test>".encode()
    with hop.lock:
        return [t for t in hop.messages if tag in t.data[:8192] and t.mail_from != ""]


def attachment(entity):
    """The decoded bytes of the part named data.bin in a MIME entity (bytes), or None."""
    m = email.message_from_bytes(entity, policy=email.policy.default)
    for part in m.walk():
        if part.get_filename() == "data.bin":
            return part.get_payload(decode=True)
    return None


def gpg_decrypt(gw, tmp, addr, signer, data):
    """Decrypts the multipart/encrypted message data with addr's secret key and checks the
    signature with signer's public key (both exported by the gateway's CLI) in a private gpg
    home; the plaintext when it decrypts and the signature is good, else b""."""
    def export(who, *secret):
        fpr = re.search(r"\b([0-9A-F]{40})\b", gw.cli("key", "list", "--address", who).stdout)
        return subprocess.run([BINARY, "-c", gw.conf, "key", "export", fpr.group(1), *secret],
                              capture_output=True, timeout=60).stdout
    home = os.path.join(tmp, "gpg")
    os.makedirs(home, mode=0o700, exist_ok=True)
    g = ["gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback"]
    for key in (export(addr, "--secret"), export(signer)):
        subprocess.run(g + ["--import"], input=key, capture_output=True, timeout=60)
    m = email.message_from_bytes(data, policy=email.policy.compat32)
    parts = m.get_payload() if m.is_multipart() else []
    if len(parts) != 2:
        return b""
    armored = parts[1].get_payload(decode=False).encode()
    r = subprocess.run(g + ["--status-fd", "2", "--decrypt"], input=armored, capture_output=True, timeout=300)
    if r.returncode != 0 or b"[GNUPG:] GOODSIG" not in r.stderr:
        log(f"gpg --decrypt: {r.stderr.decode(errors='replace')[-600:]}")
        return b""
    return r.stdout


EXT = """[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::SAN}
"""


def certificates(tmp):
    """A CA, alice@demo.test's certificate with its key and carol@ext.test's, by openssl; the
    files to import and the CA's SHA-256 fingerprint."""
    p = lambda n: os.path.join(tmp, n)  # noqa: E731
    with open(p("ext.cnf"), "w") as f:
        f.write(EXT)
    env = dict(os.environ, SAN="ca@test.test")

    def ossl(*args, san="ca@test.test"):
        subprocess.run(["openssl", *args], check=True, capture_output=True, env=dict(env, SAN=san), timeout=60)
    ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("ca.key"))
    ossl("req", "-new", "-x509", "-key", p("ca.key"), "-subj", "/CN=Stream CA", "-days", "30",
         "-config", p("ext.cnf"), "-extensions", "ca", "-out", p("ca.pem"))
    for who in ("alice@demo.test", "carol@ext.test"):
        ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p(who + ".key"))
        ossl("req", "-new", "-key", p(who + ".key"), "-subj", f"/CN={who}", "-out", p(who + ".csr"))
        ossl("x509", "-req", "-in", p(who + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", p("ext.cnf"), "-extensions", "leaf",
             "-out", p(who + ".pem"), san=who)
    with open(p("alice.both"), "wb") as f:
        for ext in (".pem", ".key"):
            with open(p("alice@demo.test" + ext), "rb") as g:
                f.write(g.read())
    fp = subprocess.run(["openssl", "x509", "-in", p("ca.pem"), "-noout", "-fingerprint", "-sha256"],
                        capture_output=True, text=True, check=True).stdout
    return [p("ca.pem"), p("alice.both"), p("carol@ext.test.pem")], fp.split("=")[1].strip()


def smime_open(tmp, data):
    """The content of the S/MIME message data: decrypted with carol's key, then verified against
    the test CA (openssl cms); b"" when either fails."""
    p = lambda n: os.path.join(tmp, n)  # noqa: E731
    with open(p("in.eml"), "wb") as f:
        f.write(data)
    for cmd in (["-decrypt", "-recip", p("carol@ext.test.pem"), "-inkey", p("carol@ext.test.key"),
                 "-in", p("in.eml"), "-out", p("signed.eml")],
                ["-verify", "-CAfile", p("ca.pem"), "-purpose", "any", "-in", p("signed.eml"),
                 "-out", p("content.eml")]):
        r = subprocess.run(["openssl", "cms", *cmd], capture_output=True, timeout=300)
        if r.returncode != 0:
            log(f"openssl cms {cmd[0]}: {r.stderr.decode(errors='replace')[-600:]}")
            return b""
    with open(p("content.eml"), "rb") as f:
        return f.read()


def protected_out(tap, gw, hop, case, method, rcpt, marker, opener, opened, before, pids):
    """Case (b) or (e): a SIZE message from alice to rcpt leaves protected with method as a
    stream, opener(bytes at the hop) gives back content whose attachment is the bytes sent,
    and cryptd's VmHWM stays within CRYPTD_PGP_GROWTH_MAX of before."""
    msg, raw = big_message(method, "alice@demo.test", rcpt, SIZE)
    send(gw.smtpd_port, "alice@demo.test", [rcpt], msg, timeout=300)
    got = wait_for(lambda: [t for t in hop.messages if rcpt in t.rcpts], 300, 0.2)
    data = got[0].data if got else b""
    tap.ok(marker in data[:8192] and b"data.bin" not in data,
           f"({case}) the large message left protected ({method})", f"got {len(data)} bytes; {gw.log_tail(3)}")
    plain = opener(data) if data else b""
    att = attachment(plain.replace(b"\r\n", b"\n")) if plain else None
    tap.ok(att is not None and hashlib.sha256(att).digest() == hashlib.sha256(raw).digest(),
           f"({case}) {opened}, and the attachment is the {len(raw)} bytes sent (SHA-256)",
           f"content {len(plain)} bytes, attachment {len(att) if att is not None else 'missing'}")
    tap.ok(f"event=protected method={method} encrypted_to=1 signed=yes streamed=yes" in gw.log_text(),
           f"({case}) the protected message was written as a stream (streamed=yes)", gw.log_tail(3))
    bounded(tap, gw, f"({case}) {method} sign+encrypt", CRYPTD_PGP_GROWTH_MAX_KB, before, pids)


def bounded(tap, gw, what, cap_kb, before, pids):
    """cryptd (the same process) has a VmHWM at most cap_kb above before."""
    after, pids2 = hwm(gw, "cryptd")
    log(f"cryptd VmHWM {before} kB before, {after} kB after {what} (pids {pids} / {pids2})")
    tap.ok(pids2 == pids and after - before <= cap_kb,
           f"{what}: cryptd's peak memory stayed within {cap_kb >> 10} MiB of its start for "
           f"{SIZE >> 20} MiB ({(after - before) / 1024:.1f} MiB)",
           f"before {before} kB, after {after} kB, cryptd pids {pids} then {pids2}")


def plant(gw, src_path, name, cut):
    """Writes a damaged copy of the queue file src_path into incoming/ as name (a temp file
    renamed in, as smtpd does): cut(bytes) -> bytes."""
    with open(src_path, "rb") as f:
        data = cut(f.read())
    inc = os.path.join(gw.base, "spool", "incoming")
    tmp = os.path.join(inc, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    st = os.stat(src_path)
    os.chown(tmp, st.st_uid, st.st_gid) if os.geteuid() == 0 else None
    os.chmod(tmp, st.st_mode & 0o777)
    os.rename(tmp, os.path.join(inc, name))


def main():
    tap = Tap()
    hop = FakeSmtp(port=0).start()
    gw = Gateway("cryptd-stream", next_hop_port=hop.port, sink=False,
                 smtpd_extra=f"max_message_size = {SIZE * 2};")
    tmp = tempfile.mkdtemp(prefix="sg-cryptd-stream-")
    try:
        for addr in ("alice@demo.test", "bob@ext.test"):
            r = gw.cli("key", "generate", addr, "--algo", "ed25519")
            tap.ok(r.returncode == 0, f"key for {addr} generated", r.stdout + r.stderr)
        files, ca_fpr = certificates(tmp)
        r, r2 = gw.cli("cert", "import", *files), gw.cli("cert", "trust", ca_fpr)
        tap.ok(r.returncode == 0 and r2.returncode == 0, "S/MIME certificates imported, the CA trusted",
               r.stdout + r.stderr + r2.stdout + r2.stderr)
        gw.start()
        wait_for(lambda: hwm(gw, "cryptd")[1], 10, 0.2)
        before, pids = hwm(gw, "cryptd")
        if not tap.ok(before > 0, "cryptd runs and its VmHWM is readable", f"pids {pids}"):
            return tap.done()

        # (a) pass-through, bounded
        msg, _ = big_message("pass", "big@ext.test", "someone@other.test", SIZE)
        send(gw.smtpd_port, "big@ext.test", ["someone@other.test"], msg, timeout=300)
        got = wait_for(lambda: delivered(hop, "pass"), 180, 0.2)
        tap.ok(got and hashlib.sha256(got[0].data).digest() == hashlib.sha256(msg).digest(),
               f"(a) {len(msg)} bytes passed through byte-exact (SHA-256 at the next hop)",
               f"got {len(got[0].data) if got else 'nothing'}; log: {gw.log_tail(3)}")
        tap.ok("unchanged=yes" in gw.log_text(), "(a) cryptd passed it on by rename (unchanged)",
               gw.log_tail(3))
        bounded(tap, gw, "(a) pass-through", CRYPTD_GROWTH_MAX_KB, before, pids)

        # (b) OpenPGP and (e) S/MIME sign+encrypt out, streamed
        protected_out(tap, gw, hop, "b", "pgp", "bob@ext.test", b"multipart/encrypted",
                      lambda d: gpg_decrypt(gw, tmp, "bob@ext.test", "alice@demo.test", d),
                      "gpg decrypts it, alice's signature is good", before, pids)
        protected_out(tap, gw, hop, "e", "smime", "carol@ext.test", b"application/pkcs7-mime",
                      lambda d: smime_open(tmp, d), "openssl decrypts it, the signature verifies",
                      before, pids)

        # (c), (d): damaged spool files of a large message never leave cut. A valid file to
        # damage: a message held whole ([encrypt] to a recipient without a key: hold/).
        msg, _ = big_message("held", "alice@demo.test", "nokey@ext.test", SIZE, "[encrypt] big")
        send(gw.smtpd_port, "alice@demo.test", ["nokey@ext.test"], msg, timeout=300)
        hold = os.path.join(gw.base, "spool", "hold")
        held = wait_for(lambda: [n for n in os.listdir(hold) if not n.startswith(".")
                                 and os.path.getsize(os.path.join(hold, n)) > SIZE], 120, 0.2)
        if not tap.ok(held, "(c) a large message held whole, to damage copies of", gw.log_tail(3)):
            return tap.done()
        src = os.path.join(hold, held[0])
        n_before = len(hop.messages)
        plant(gw, src, "c0ffee0000000001", lambda b: b[:len(b) // 2])
        plant(gw, src, "c0ffee0000000002", lambda b: b[:len(b) // 3] + b[len(b) // 3 + (1 << 20):])
        corrupt = os.path.join(gw.base, "spool", "corrupt")
        both = wait_for(lambda: os.path.isdir(corrupt) and
                        {"c0ffee0000000001", "c0ffee0000000002"} <= set(os.listdir(corrupt)), 60, 0.2)
        wait_for(lambda: gw.spool_count() == 0, 30, 0.2)
        text = gw.log_text()
        tap.ok(both and re.search(r"c0ffee0000000001.*event=corrupt", text),
               "(c) a spool file cut short (no end marker) goes to corrupt/", gw.log_tail(4))
        tap.ok(both and re.search(r"c0ffee0000000002.*event=corrupt", text),
               "(d) a spool file missing bytes in the middle goes to corrupt/", gw.log_tail(4))
        with hop.lock:  # the notice to the sender (from <>) about the held message may come
            extra = [t for t in hop.messages[n_before:] if t.mail_from != ""]
        tap.ok(not extra and not delivered(hop, "held"),
               "(c, d) nothing of the damaged files (nor the held message) was delivered",
               f"{len(extra)} transfers after planting")
    except Exception as e:  # a broken step is a failure, never a pass
        tap.fail("cryptd stream", f"{type(e).__name__}: {e}; log: {gw.log_tail(3)}")
    finally:
        gw.cleanup()
        hop.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
