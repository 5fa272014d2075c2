#!/usr/bin/env python3
"""Long operations with progress (issue 18, docs/api.md "Jobs"), end to end against a running
gateway: a keyring of several thousand fresh keys (build/tests/tools/sg-keyring) is imported
through the API as a job; its progress advances while it runs (/api/v1/jobs/{id}); it is
cancelled mid-way, stops at a safe point, and its result says how many keys it finished, which is
exactly the number of keys the store then holds, each one whole; a second cancel is 409. The
portal shows the job with a progress bar. The CLI's `key import` on a terminal (a pty) draws a
progress line with counts and an estimate and ends with the result; in a pipe it prints no
progress; Ctrl-C and a cancel through the API (another process) stop it between keys; a job that
fails (the store locked by another writer for longer than its busy timeout) says how many keys it
finished. No timing is asserted: only order and counts. Owner: src/admin."""
import base64
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap, asan_binary, wait_for, wait_port  # noqa: E402
from sgweb import Client, chromium, first_admin  # noqa: E402

t = Tap()
KEYRING = os.path.join(ROOT, "build", "tests", "tools", "sg-keyring")
OUT = os.path.join(ROOT, "tests", "out", "web")
N = 3000  # the API's bulk import: several thousand keys


def keyring(n, domain):
    r = subprocess.run([KEYRING, str(n), domain], capture_output=True, timeout=300)
    return r.stdout if r.returncode == 0 else b""


class Pty:
    """`sealgate -c CONF ARGS` on a pseudo-terminal: its output as it comes."""

    def __init__(self, gw, *args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(gw.binary, [gw.binary, "-c", gw.conf, *args])
        self.out = b""
        self.rc = None

    def read_until(self, pred, timeout=120):
        end = time.monotonic() + timeout
        while not pred(self.out) and time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.5)
            if r:
                try:
                    d = os.read(self.fd, 65536)
                except OSError:
                    d = b""
                if not d:
                    break
                self.out += d
        return pred(self.out)

    def wait(self, timeout=300):
        self.read_until(lambda o: False, timeout)
        _, st = os.waitpid(self.pid, 0)
        self.rc = os.waitstatus_to_exitcode(st)
        os.close(self.fd)
        return self.rc

    def text(self):
        return self.out.decode(errors="replace")


def progress_counts(text):
    return [int(x.replace(",", "")) for x in re.findall(r"importing ([\d,]+) of [\d,]+ keys", text)]


def browser_view(gw, pw, jid):
    """The running job's page in a real headless Chromium (when installed, as test_web_portal):
    its script moves the bar without a reload, no console errors, a screenshot for people."""
    if not shutil.which("chromium") or not os.access("/usr/bin/chromedriver", os.X_OK):
        t.skip("the job's page in Chromium", "chromium or chromium-driver is not installed")
        return
    sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-selenium
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    d = chromium()
    try:
        base = f"https://127.0.0.1:{gw.web_port}"
        d.set_page_load_timeout(60)
        d.get(base + "/login")
        d.find_element(By.ID, "name").send_keys("alice", Keys.TAB, pw, Keys.ENTER)
        wait_for(lambda: "Dashboard" in d.title, 20)
        d.get(f"{base}/jobs/{jid}")

        def value():
            return int(d.find_element(By.CSS_SELECTOR, "progress[data-job-bar]").get_attribute("value") or 0)
        v0 = value()
        moved = wait_for(lambda: value() > v0, 30, 0.5)
        os.makedirs(OUT, exist_ok=True)
        d.save_screenshot(os.path.join(OUT, "job.png"))
        errs = [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]
        t.ok(moved and not errs, "in Chromium the job's bar moves without a reload (static/jobs.js), "
             "no console errors; screenshot tests/out/web/job.png", f"{v0} -> {value()}; {errs[:3]}")
    finally:
        d.quit()


if not os.access(KEYRING, os.X_OK):
    t.fail("build/tests/tools/sg-keyring is built (make build)")
    t.done()
    sys.exit(1)

# The upload of a keyring is larger than the default web.max_body (1 MiB).
gw = Gateway(web="max_body = 16777216;", binary=asan_binary())
try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-500:])
    pw = first_admin(gw, "alice")
    c = Client(gw.web_port)
    c.login("alice", pw)
    csrf = c.csrf()

    # ---- the API: a bulk import as a job, its progress, a cancel mid-way ----
    ring = keyring(N, "bulk.example")
    t.ok(ring.count(b"-----BEGIN PGP PUBLIC KEY BLOCK-----") == N, f"a keyring of {N} fresh keys")
    a = c.api("POST", "/api/v1/keys/import-bulk", {"data": base64.b64encode(ring).decode()}, csrf=csrf)
    job = a.json() if a.status == 200 else {}
    jid = job.get("id", "")
    t.ok(a.status == 200 and re.fullmatch(r"[0-9a-f]{16}", jid) and job.get("state") == "running"
         and job.get("operation") == "key.import-bulk",
         "POST /api/v1/keys/import-bulk answers at once with a running job", f"{a.status} {a.body[:300]}")
    seen = []

    def progressed():
        j = c.api("GET", f"/api/v1/jobs/{jid}").json()
        if not seen or j["done"] != seen[-1]["done"]:
            seen.append(j)
        return len(seen) >= 3 and j["done"] >= 300
    wait_for(progressed, 240, 0.3)
    counts = [j["done"] for j in seen]
    t.ok(len(seen) >= 3 and counts == sorted(counts) and seen[-1]["total"] == N and seen[-1]["state"] == "running",
         "GET /api/v1/jobs/{id}: the count advances while the job runs, of the keyring's total",
         str([(j["state"], j["done"], j["total"]) for j in seen]))
    t.ok(any(isinstance(j["estimate_seconds"], int) for j in seen) and all(0 <= j["percent"] <= 100 for j in seen),
         "a running job has an estimate of the time left and a percentage", str(seen[-1]))

    # The portal's page of the running job: a progress bar, the Cancel button, the polling script.
    p = c.request("GET", f"/jobs/{jid}").text()
    t.ok(re.search(r'<progress max="3000" value="\d+"', p) and f'action="/jobs/{jid}/cancel"' in p
         and "/static/jobs.js" in p, "the portal shows the running job with a progress bar and Cancel", p[-1500:])
    js = c.request("GET", "/static/jobs.js")
    t.ok(js.status == 200 and b"/api/v1/jobs/" in js.body, "the page's script that polls the job is served")

    browser_view(gw, pw, jid)

    a = c.api("POST", f"/api/v1/jobs/{jid}/cancel", csrf=csrf)
    t.ok(a.status == 200 and a.json().get("cancel_requested") is True,
         "POST /api/v1/jobs/{id}/cancel asks the job to stop", f"{a.status} {a.body[:300]}")
    ended = wait_for(lambda: (lambda j: j if j["state"] != "running" else None)(
        c.api("GET", f"/api/v1/jobs/{jid}").json()), 120, 0.3)
    done = ended["done"] if ended else -1
    keys = c.api("GET", "/api/v1/keys?limit=1").json()["total"]
    t.ok(ended and ended["state"] == "cancelled" and 300 <= done < N and ended["finished"],
         "the job ends cancelled, part-way", str(ended))
    t.ok(ended and f"finished {done:,} of {N:,} keys ({done} imported" in ended["result"]
         and "nothing half-written" in ended["result"], "its result says how many keys it finished",
         ended and ended["result"])
    t.ok(keys == done, f"the store holds exactly the {done} keys the job says it finished", f"{keys} keys")
    # Each of them whole: every listed key of the keyring has its user ID and encryption subkey.
    page = c.api("GET", "/api/v1/keys?limit=1000").json()["items"]
    t.ok(page and all(k["encryption_subkey"] and k["uids"] and k["uids"][0]["address"].endswith("@bulk.example")
                      for k in page), "the stored keys are whole (user ID, encryption subkey)")
    a = c.api("POST", f"/api/v1/jobs/{jid}/cancel", csrf=csrf)
    t.ok(a.status == 409 and a.error_code() == "conflict", "cancelling an ended job: 409 conflict", a.body[:200])
    a = c.api("GET", "/api/v1/jobs").json()
    t.ok(a["total"] >= 1 and a["items"][0]["id"] == jid, "GET /api/v1/jobs lists it, newest first")
    t.ok(c.api("GET", "/api/v1/jobs/00000000deadbeef").status == 404, "an unknown job: 404")
    p = c.request("GET", "/jobs").text()
    t.ok(jid in p and "<progress" in p and "cancelled" in p, "the portal's list of jobs shows it with its bar")
    p = c.request("GET", f"/jobs/{jid}").text()
    t.ok("nothing half-written" in p and f'action="/jobs/{jid}/cancel"' not in p,
         "the ended job's page shows the result and no Cancel button")

    # ---- the CLI on a terminal: a progress line, then the result ----
    small = os.path.join(gw.dir, "small.asc")
    with open(small, "wb") as f:
        f.write(keyring(300, "cli.example"))
    run = Pty(gw, "key", "import", small)
    rc = run.wait()
    out = run.text()
    counts = progress_counts(out)
    t.ok(rc == 0 and counts and counts == sorted(counts) and max(counts) < 300
         and re.search(r"importing [\d,]+ of 300 keys \(\d+%\)", out)
         and "done: finished 300 of 300 keys (300 imported" in out,
         "`key import` on a terminal: a progress line with counts, then the result", out[-600:])
    t.ok(" s left" in out or " min left" in out, "the progress line carries an estimate", out[-400:])
    t.ok("\nimported " not in out, "on a terminal the keys are not listed one by one")
    # In a pipe: the keys one per line as before, no progress line.
    with open(small, "wb") as f:
        f.write(keyring(50, "pipe.example"))
    r = gw.cli("key", "import", small)
    t.ok(r.returncode == 0 and r.stdout.count("\nimported ") + r.stdout.startswith("imported ") == 50
         and "importing" not in r.stdout + r.stderr and "\r" not in r.stdout,
         "`key import` into a pipe: one line per key, no progress noise", r.stdout[-300:] + r.stderr)

    # ---- Ctrl-C stops the CLI's job between keys ----
    big = os.path.join(gw.dir, "big.asc")
    with open(big, "wb") as f:
        f.write(keyring(2000, "intr.example"))
    run = Pty(gw, "key", "import", big)
    run.read_until(lambda o: len(progress_counts(o.decode(errors="replace"))) >= 2)
    os.kill(run.pid, signal.SIGINT)
    rc = run.wait()
    out = run.text()
    m = re.search(r"cancelled: finished ([\d,]+) of 2,000 keys \((\d+) imported.*nothing half-written", out)
    stored = c.api("GET", "/api/v1/keys?limit=1&address=user0@intr.example").json()["total"]
    t.ok(rc == 1 and m, "Ctrl-C: the CLI's job stops and says how many keys it finished", out[-500:])
    total_intr = sum(1 for k in c.api("GET", "/api/v1/keys?limit=1000&offset=0").json()["items"])
    jobs = c.api("GET", "/api/v1/jobs?limit=5").json()["items"]
    cli_job = next((j for j in jobs if j["operation"] == "key.import" and j["total"] == 2000), None)
    t.ok(cli_job and cli_job["state"] == "cancelled" and m and cli_job["done"] == int(m.group(1).replace(",", ""))
         and cli_job["actor"], "the CLI's job is a row the API shows, with the same count", str(cli_job))
    del stored, total_intr

    # ---- a cancel through the API stops the CLI's job (another process) ----
    with open(big, "wb") as f:
        f.write(keyring(2000, "api.example"))
    run = Pty(gw, "key", "import", big)
    run.read_until(lambda o: len(progress_counts(o.decode(errors="replace"))) >= 2)
    running = [j for j in c.api("GET", "/api/v1/jobs?limit=5").json()["items"] if j["state"] == "running"]
    a = c.api("POST", f"/api/v1/jobs/{running[0]['id']}/cancel", csrf=csrf) if running else None
    rc = run.wait()
    out = run.text()
    t.ok(a is not None and a.status == 200 and rc == 1
         and re.search(r"cancelled: finished [\d,]+ of 2,000 keys", out),
         "a cancel through the API stops the CLI's running import at a safe point", out[-400:])

    # ---- a failed job says what it finished: the store locked longer than the busy timeout ----
    with open(big, "wb") as f:
        f.write(keyring(2000, "fail.example"))
    proc = subprocess.Popen([gw.binary, "-c", gw.conf, "key", "import", big], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    db = os.path.join(gw.base, "store", "sealgate.db")
    wait_for(lambda: any(j["state"] == "running" and j["done"] > 0 for j in
                         c.api("GET", "/api/v1/jobs?limit=3").json()["items"]), 120, 0.2)
    lock = sqlite3.connect(db, timeout=30, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    time.sleep(12)  # longer than two busy timeouts (5 s each): a key's write fails
    lock.execute("ROLLBACK")
    lock.close()
    so, se = proc.communicate(timeout=300)
    m = re.search(r"failed: failed after ([\d,]+) of 2,000 keys.*nothing half-written", se)
    jobs = c.api("GET", "/api/v1/jobs?limit=3").json()["items"]
    j = jobs[0] if jobs else {}  # newest first: the failed import's
    t.ok(proc.returncode == 1 and m, "a failed import says how many keys it finished, nothing half-written",
         se[-400:])
    t.ok(j.get("state") == "failed" and m and j.get("done") == int(m.group(1).replace(",", "")),
         "the job row says failed with the same count", str(jobs))
finally:
    gw.stop()
t.done()
