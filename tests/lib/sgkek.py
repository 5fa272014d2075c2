"""sgkek - shared by test_backup.py and test_kek_rotate.py: mail that keeps flowing through a
gateway while a command runs, messages encrypted by real peers (gpg, openssl cms) to the
gateway's keys, and an independent check of the KEK: every wrapped secret in the store opened
with AES-256-GCM by Python's cryptography package (not by sealgate's code), nonce | ct | tag,
AAD = the row's fingerprint (src/crypto/kek.h). Owner: tests (for src/keys, src/store).
"""
import os
import re
import smtplib
import sqlite3
import subprocess
import threading
import time
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def secrets(db):
    """[(table, fpr, wrapped)] of every KEK-wrapped secret, read-only (the gateway may run)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return [(t, f, bytes(w)) for t in ("pgp_secrets", "x509_keys")
                for f, w in con.execute(f"SELECT fpr, wrapped FROM {t}")]
    finally:
        con.close()


def kek_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def opens(kek, rows):
    """How many of rows kek (32 bytes, or None) does not open."""
    if not kek or len(kek) != 32:
        return len(rows)
    bad = 0
    for _, fpr, w in rows:
        try:
            AESGCM(kek).decrypt(w[:12], w[12:], fpr.encode())
        except Exception:  # InvalidTag: the wrong key or a damaged row
            bad += 1
    return bad


class Flow:
    """Sends plain messages alice@demo.test -> bob@example.net in a loop (smtplib) until stop();
    counts what the gateway accepted and what reached the sink."""

    def __init__(self, gw):
        self.gw, self.sent, self.errors, self._stop = gw, 0, [], threading.Event()
        self.before = gw.sink_files()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.gw.smtp_port, timeout=30) as s:
                    for _ in range(5):
                        s.sendmail("alice@demo.test", ["bob@example.net"],
                                   f"From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: flow {self.sent}\r\n"
                                   f"Message-ID: <{uuid.uuid4()}@demo.test>\r\n\r\nflowing\r\n")
                        self.sent += 1
            except (OSError, smtplib.SMTPException) as e:
                self.errors.append(repr(e))
                time.sleep(0.1)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()
        self.thread.join(60)

    def delivered(self):
        return len(self.gw.sink_files() - self.before)


def gpg_runner(home):
    os.makedirs(home, mode=0o700, exist_ok=True)

    def gpg(*args, input=None):
        return subprocess.run(["gpg", "--homedir", home, "--batch", "--yes", "--trust-model", "always", *args],
                              input=input, capture_output=True, timeout=120)
    return gpg


INNER = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nthe secret text, %s\r\n"


def pgp_mail(gpg, fpr, tag, to="alice@demo.test"):
    """A PGP/MIME message to `to`, encrypted by gpg to fpr; its plaintext carries tag."""
    enc = gpg("--armor", "--encrypt", "-r", fpr, input=INNER % tag.encode()).stdout
    return (b"From: bob@example.net\r\nTo: " + to.encode() + b"\r\nSubject: pgp\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + enc.replace(b"\n", b"\r\n") + b"\r\n--b1--\r\n")


def cms_mail(cert_path, tag, to):
    """An S/MIME message to `to`, encrypted by openssl cms to the certificate at cert_path."""
    enc = subprocess.run(["openssl", "cms", "-encrypt", "-aes-256-cbc", "-recip", cert_path], input=INNER % tag.encode(),
                         capture_output=True, timeout=60).stdout
    return b"From: bob@example.net\r\nTo: " + to.encode() + b"\r\nSubject: cms\r\n" + enc.replace(b"\r\n", b"\n").replace(
        b"\n", b"\r\n")


def decrypted(delivered, tag):
    """The message reached the sink decrypted: the plaintext is there, no ciphertext is left."""
    return (delivered is not None and (b"the secret text, " + tag.encode()) in delivered and
            b"BEGIN PGP MESSAGE" not in delivered and not re.search(rb"application/(x-)?pkcs7-mime", delivered))
