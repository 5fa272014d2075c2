#!/usr/bin/env python3
"""test_crash.py - nothing acknowledged is ever lost, whatever role dies when.

`sealgate start` with the built-in sink as next hop. CRASH_SESSIONS parallel SMTP sessions send
CRASH_MESSAGES messages (every 25th one 300 KB, so kills also land inside long writes), each with
a unique Message-ID, and record the ones answered 250; the load is paced to span the killing
phase. Meanwhile a killer sends SIGKILL to a random one of smtpd, cryptd and relay every
CRASH_KILL_INTERVAL seconds for CRASH_KILL_SECONDS (the master restarts them; its crash-loop
backoff of up to 10 s bounds how often one role can die). Afterwards the queue must drain and
every message that got 250 must be in the sink's Maildir (counted by Message-ID); duplicates
are allowed and reported.
Every phase is bounded; the whole test stays within ~3 minutes on 2 cores. Owner: tests/e2e.
"""
import os
import random
import re
import signal
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Tap, Gateway, BINARY, log, wait_for, maildir_files  # noqa: E402

MESSAGES = int(os.environ.get("CRASH_MESSAGES", "3000"))
SESSIONS = int(os.environ.get("CRASH_SESSIONS", "12"))
KILL_INTERVAL = float(os.environ.get("CRASH_KILL_INTERVAL", "0.25"))
KILL_SECONDS = float(os.environ.get("CRASH_KILL_SECONDS", "40"))  # length of the killing phase
SEND_SECONDS = float(os.environ.get("CRASH_SEND_SECONDS", "100"))  # cap on the load phase
DRAIN_SECONDS = float(os.environ.get("CRASH_DRAIN_SECONDS", "60"))
KILL_ROLES = ("smtpd", "cryptd", "relay")

MID = re.compile(rb"^Message-ID:\s*<(crash-\d+-\d+)@e2e\.test>", re.I | re.M)


def message(worker, n):
    """The exact bytes of message n of session worker (rebuilt later to check deliveries)."""
    lines = 4000 if n % 25 == 0 else 1
    return (f"From: load@ext.test\r\nTo: rcpt{n % 7}@demo.test\r\n"
            f"Subject: crash test {n}\r\nMessage-ID: <crash-{worker}-{n}@e2e.test>\r\n\r\n"
            f"message {n} from session {worker}\r\n" + ("x" * 74 + "\r\n") * lines).encode()


def intact(path, mid):
    """True when the sink file holds Return-Path, Delivered-To and then exactly the message."""
    _, worker, n = mid.split("-")
    with open(path, "rb") as f:
        got = f.read()
    want = message(int(worker), int(n))
    rcpt = f"rcpt{int(n) % 7}@demo.test".encode()
    return got == (b"Return-Path: <load@ext.test>\r\nDelivered-To: <" + rcpt + b">\r\n" + want) \
        or got == (b"Return-Path: <load@ext.test>\r\nDelivered-To: " + rcpt + b"\r\n" + want)


class Load:
    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.next = 0
        self.acked = set()
        self.attempts = 0
        self.errors = 0
        self.t0 = time.monotonic()
        self.deadline = self.t0 + SEND_SECONDS
        # Pace the load so it spans most of the killing phase instead of finishing early.
        self.rate = MESSAGES / max(1.0, KILL_SECONDS * 0.8)

    def take(self):
        with self.lock:
            if len(self.acked) >= MESSAGES or time.monotonic() > self.deadline:
                return None
            self.next += 1
            self.attempts += 1
            n = self.next
        delay = self.t0 + len(self.acked) / self.rate - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 1.0))
        return n

    def session(self, worker):
        s = None
        while True:
            n = self.take()
            if n is None:
                break
            mid = f"crash-{worker}-{n}"
            data = message(worker, n).decode()
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.port, local_hostname="load.e2e.test",
                                     timeout=15)
                    s.ehlo()
                s.sendmail("load@ext.test", [f"rcpt{n % 7}@demo.test"], data.encode())
                with self.lock:
                    self.acked.add(mid)
            except (smtplib.SMTPException, OSError):
                with self.lock:
                    self.errors += 1
                try:
                    if s is not None:
                        s.close()
                except Exception:
                    pass
                s = None
                time.sleep(0.05)
        if s is not None:
            try:
                s.quit()
            except Exception:
                pass


def killer(gw, stop, kills, restarted):
    """Every KILL_INTERVAL (jittered) SIGKILLs one role that is up. A restarted process is
    left alone for a random 0.1-1.5 s first, so kills land while it recovers the spool, while
    it works and while it is idle, not only right after exec."""
    rnd = random.Random(1)
    seen = {r: set() for r in KILL_ROLES}
    born = {}  # pid -> (time first seen, age at which it may be killed)
    end = time.monotonic() + KILL_SECONDS
    while not stop.wait(KILL_INTERVAL * rnd.uniform(0.5, 1.5)) and time.monotonic() < end:
        now = time.monotonic()
        pids = gw.role_pids()
        for r in KILL_ROLES:
            seen[r].update(pids.get(r, []))
            for pid in pids.get(r, []):
                born.setdefault(pid, (now, rnd.uniform(0.1, 1.5)))
        ripe = [r for r in KILL_ROLES
                if pids.get(r) and all(now - born[p][0] >= born[p][1] for p in pids[r])]
        if not ripe:
            continue
        role = rnd.choice(ripe)
        for pid in pids.get(role, []):
            try:
                os.kill(pid, signal.SIGKILL)
                kills[role] += 1
            except OSError:
                pass
    time.sleep(0.5)
    for r in KILL_ROLES:
        seen[r].update(gw.role_pids().get(r, []))
        restarted[r] = len(seen[r])


def delivered(gw, paths=None):
    """{message-id: times} found in the sink Maildir; paths, when given, gets {mid: [files]}."""
    counts = {}
    for path in maildir_files(gw.maildir):
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError:
            continue
        m = MID.search(head)
        if m:
            k = m.group(1).decode()
            counts[k] = counts.get(k, 0) + 1
            if paths is not None:
                paths.setdefault(k, []).append(path)
    return counts


def main():
    tap = Tap()
    if not os.access(BINARY, os.X_OK):
        tap.fail("sealgate binary", f"{BINARY} missing (build first)")
        return tap.exit()
    gw = Gateway("crash")
    stop = threading.Event()
    kt = None
    try:
        try:
            gw.start()
        except Exception as e:
            tap.fail("gateway starts", e)
            return tap.exit()
        pids = gw.role_pids()
        missing = [r for r in KILL_ROLES + ("sink",) if not pids.get(r)]
        if not tap.check(not missing, "gateway starts with smtpd, cryptd, relay and sink",
                         f"roles not found under the master: {missing} ({pids})"):
            return tap.exit()
        if os.geteuid() == 0:
            # A role drops privileges a moment after it is forked (smtpd may already answer
            # while cryptd is still starting), so wait, with a limit, until each has dropped.
            uids = {}

            def dropped():
                uids.clear()
                for r, ps in gw.role_pids().items():
                    for p in ps:
                        try:
                            with open(f"/proc/{p}/status") as f:
                                uids[r] = next(int(ln.split()[2]) for ln in f if ln.startswith("Uid:"))
                        except (OSError, StopIteration):
                            return False
                return bool(uids) and all(u != 0 for u in uids.values())
            wait_for(dropped, 10, 0.1)
            tap.check(all(u != 0 for u in uids.values()),
                      "started as root, every role runs under its own non-root user",
                      f"effective uids {uids}")
        load = Load(gw.smtpd_port)
        kills = {r: 0 for r in KILL_ROLES}
        restarted = {}
        kt = threading.Thread(target=killer, args=(gw, stop, kills, restarted), daemon=True)
        t0 = time.monotonic()
        kt.start()
        workers = [threading.Thread(target=load.session, args=(i,), daemon=True)
                   for i in range(SESSIONS)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(SEND_SECONDS + 30)
        stop.set()
        kt.join(10)
        secs = time.monotonic() - t0
        log(f"load: {len(load.acked)} acked of {load.attempts} attempts, {load.errors} errors, "
            f"{secs:.1f}s, kills {kills}")
        tap.check(len(load.acked) > 0 and all(kills.values()),
                  f"load under SIGKILL: {len(load.acked)} of {load.attempts} attempts got 250 "
                  f"in {secs:.0f}s, kills smtpd={kills['smtpd']} cryptd={kills['cryptd']} "
                  f"relay={kills['relay']}",
                  f"acked={len(load.acked)} kills={kills}")
        tap.check(len(load.acked) >= MESSAGES * 0.5,
                  f"at least half of the {MESSAGES} messages were accepted despite the kills",
                  f"only {len(load.acked)} got 250 within {SEND_SECONDS:.0f}s "
                  f"({load.errors} session errors)")
        # The master brought every role back.
        back = wait_for(lambda: all(gw.role_pids().get(r) for r in KILL_ROLES), 15, 0.2)
        tap.check(back and all(restarted.get(r, 0) >= 2 for r in KILL_ROLES),
                  "master restarts every killed role",
                  f"distinct pids seen {restarted}, roles now {gw.role_pids()}")
        drained = wait_for(lambda: gw.spool_count() == 0
                           and load.acked <= set(delivered(gw)), DRAIN_SECONDS, 0.5)
        tap.check(drained, f"queue drains within {DRAIN_SECONDS:.0f}s after the kills stop",
                  f"{gw.spool_count()} still queued; log: {gw.log_tail(3)}")
        paths = {}
        got = delivered(gw, paths)
        lost = sorted(load.acked - set(got))
        dups = sum(c - 1 for c in got.values())
        tap.check(not lost, f"every acknowledged message delivered: {len(load.acked)} acked, "
                  f"{len(got)} unique in the sink, {dups} duplicates",
                  f"{len(lost)} acknowledged messages missing, e.g. {lost[:5]}")
        damaged = [p for mid, ps in paths.items() for p in ps if not intact(p, mid)]
        tap.check(not damaged, f"every delivered copy is byte-exact ({len(damaged)} damaged)",
                  f"{len(damaged)} sink files differ from the message sent, e.g. {damaged[:3]}")
        corrupt = os.listdir(os.path.join(gw.base, "spool", "corrupt")) \
            if os.path.isdir(os.path.join(gw.base, "spool", "corrupt")) else []
        tap.check(not corrupt, "no queue file ended up in corrupt/",
                  f"{len(corrupt)} files in corrupt/: {corrupt[:5]}")
    except Exception as e:
        tap.fail("crash test harness", repr(e))
    finally:
        stop.set()
        gw.cleanup()
    return tap.exit()


if __name__ == "__main__":
    main()
