#!/usr/bin/env python3
"""Crash safety of the tamper-evident log (issue 14, docs/audit.md "Durability"): while
messages stream in through SMTP, cryptd is killed with SIGKILL at random moments (the master
starts it again); afterwards `audit verify` holds (no gap, no fork, every checkpoint good) and
every message the sink received has a mail entry with outcome delivered (an entry may repeat
when a kill fell between the entry and the output's rename; none may be missing). The
independent verifier (tests/lib/tlogverify.py) recomputes the root of the exported log against
the last checkpoint. Owner: src/audit."""
import base64
import hashlib
import os
import random
import re
import shutil
import signal
import smtplib
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, wait_for  # noqa: E402
import tlogverify as tlv  # noqa: E402

t = Tap()
N = int(os.environ.get("SG_CRASH_MESSAGES", "120"))
KILLS = int(os.environ.get("SG_CRASH_KILLS", "6"))
gw = Gateway()
gw.write_config('internal_domains = ["demo.test"];\naudit = { checkpoint_every = 7; checkpoint_seconds = 1; };\n')
tmp = tempfile.mkdtemp(prefix="sg-auditcrash-")
NEW = os.path.join(gw.sink_dir, "new")
rng = random.Random(int(os.environ.get("SG_CRASH_SEED", str(int(time.time())))))


def sink_mids():
    out = set()
    for f in os.listdir(NEW) if os.path.isdir(NEW) else []:
        try:
            with open(os.path.join(NEW, f), "rb") as fh:
                m = re.search(rb"^Message-ID: *(<[^>\r\n]*>)", fh.read(), re.M | re.I)
            if m:
                out.add(m.group(1).decode())
        except OSError:
            pass
    return out


sent, failures = [], []
attempted = [0]
killing_done = threading.Event()


def load():
    # At least N messages, and on until the killer is done: on a fast, quiet machine N messages
    # were through before three kills had happened, and the test measured nothing.
    i = 0
    while (i < N or not killing_done.is_set()) and i < 20 * N:
        attempted[0] = i + 1
        mid = f"<crash-{i}@demo.test>"
        msg = (f"From: carol@demo.test\r\nTo: dave{i % 5}@example.net\r\nSubject: crash {i}\r\n"
               f"Message-ID: {mid}\r\n\r\nbody {i}\r\n").encode()
        for attempt in range(20):  # smtpd stays up; cryptd's deaths never refuse mail
            try:
                with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
                    s.sendmail("carol@demo.test", [f"dave{i % 5}@example.net"], msg)
                sent.append(mid)
                break
            except (OSError, smtplib.SMTPException) as e:
                failures.append(str(e))
                time.sleep(0.2)
        time.sleep(rng.uniform(0, 0.05))
        i += 1


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    th = threading.Thread(target=load)
    th.start()
    kills = 0
    end = time.time() + 300
    while kills < KILLS and time.time() < end:
        time.sleep(rng.uniform(0.1, 0.8))
        pid = gw.role_pids().get("cryptd")
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                kills += 1
                wait_for(lambda: gw.role_pids().get("cryptd") not in (None, pid), 15)
            except ProcessLookupError:
                pass
    killing_done.set()
    th.join()
    t.ok(len(sent) == attempted[0] >= N,
         f"{len(sent)} messages of {attempted[0]} accepted by smtpd while cryptd was killed {kills} times",
         "; ".join(failures[:3]))
    t.ok(kills >= 3, f"cryptd was killed {kills} times under load and restarted by the master")
    got = wait_for(lambda: set(sent) <= sink_mids() and sink_mids(), 120) or set()
    t.ok(set(sent) <= got, "every accepted message reached the sink", str(sorted(set(sent) - sink_mids())[:5]))
    r = gw.cli("audit", "verify")
    t.ok(r.returncode == 0 and "ok" in r.stdout, "audit verify holds after the kills", r.stdout + r.stderr)
    d = os.path.join(tmp, "exp")
    gw.cli("audit", "export", d)
    entries = tlv.parse_entries(open(os.path.join(d, "entries"), "rb").read())
    pub = base64.b64decode(open(os.path.join(d, "key.pub")).read().strip())
    notes = sorted(int(n) for n in os.listdir(os.path.join(d, "checkpoints")))
    last = tlv.check_note(open(os.path.join(d, "checkpoints", str(notes[-1]))).read(), pub) if notes else None
    t.ok(last is not None and last[2] == tlv.mth([tlv.leaf(e) for e in entries[:last[1]]]),
         "the independent verifier recomputes the last signed checkpoint's root", str(notes[-3:]))
    delivered = {}
    for e in entries:
        kind, f = tlv.fields(e)
        f = dict(f)
        if kind == 2 and "delivered" in f.get("outcome", "").split(","):
            delivered.setdefault(f["message-id-sha256"], 0)
            delivered[f["message-id-sha256"]] += 1
    missing = [m for m in sink_mids() if hashlib.sha256(m.encode()).hexdigest() not in delivered]
    t.ok(not missing, "every message the sink received has its entry with outcome delivered", str(missing[:5]))
    rep = sum(1 for v in delivered.values() if v > 1)
    t.ok(True, f"entries repeated by a kill between entry and rename: {rep} (allowed)")
finally:
    try:
        gw.stop()
    except Exception:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(gw.dir, ignore_errors=True)
t.done()
