#!/usr/bin/env python3
"""The portal in a real headless Chromium (Debian's chromium and chromium-driver, driven by
python3-selenium) against a running gateway (issue 18): sign in with the keyboard (the one-time
password first replaced on the Account page, which no other page gets past), every page
renders without a console error (a Content-Security-Policy violation is one), a held message
(sent through SMTP with [encrypt] to a recipient without a key) is found on the dashboard's
count and the queue page and, once the recipient's key is imported, released with its button and
arrives encrypted at the sink; a deferred message (the relay's file) is retried and delivered,
another held and then deleted with the queue page's buttons; on the policy page a rules text with an
error shows the error at its marked line, good rules are saved as a revision, diffed against the
one before, rolled back, and the explain form answers per recipient; a public key pasted on the
keys page is found by address, shown, exported as an attachment and deleted; screenshots of the dashboard and the queue page land in
tests/out/web/ for a person to look at. The gateway's self-signed certificate is accepted for
this test only.
Run as root, the gateway drops privileges as in production: the web role can enter no spool
state, so the dashboard's counts and the queue page (status, queue.list, queue.show) and the
moves (queue.release) are cryptd's answers over its control socket; that is what this exercises.
At the end a TOTP second factor is enrolled on the Account page (secret and otpauth:// URI shown,
confirmed with a code computed here as an authenticator app would), the sessions list marks this
one, and signing in again asks for the code: a wrong one is refused, the next one signs in.
Screenshots account-first.png, account.png and login-code.png too.
Owner: src/web."""
import base64
import grp
import hashlib
import hmac
import os
import pwd
import re
import shutil
import smtplib
import subprocess
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap, gpg_runner, listdir, put_message, wait_for, wait_port  # noqa: E402
from sgweb import chromium, import_dave  # noqa: E402

t = Tap()
CHROMIUM = shutil.which("chromium")
DRIVER = "/usr/bin/chromedriver"
OUT = os.path.join(ROOT, "tests", "out", "web")
MSG = (b"From: carol@demo.test\r\nTo: dave@example.net\r\nSubject: [encrypt] held for the portal test\r\n"
       b"Message-ID: <portal-held@demo.test>\r\n\r\nthe body that must arrive encrypted\r\n")

if not CHROMIUM or not os.access(DRIVER, os.X_OK):
    t.skip("the portal in Chromium", "chromium or chromium-driver is not installed (scripts/deps.sh installs them)")
    t.done()
    sys.exit(0)
try:
    import selenium  # noqa: F401
except ImportError:
    # Debian's python3-selenium lives in the system interpreter's dist-packages; a python3 of
    # its own (pyenv, a venv) does not see it.
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from sgbrowser import text_of  # noqa: E402


def totp(secret, when):
    """RFC 6238 (SHA-1, 6 digits, 30 s) of a base32 secret at time when, as an authenticator app."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(when) // 30), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def first_admin(gw, name):
    """`sealgate admin add` as the README says: the one-time password it prints, or None."""
    r = gw.cli("admin", "add", name, "--role", "administrator")
    m = re.search(r"password[^\n]*?:\s*(\S+)", r.stdout + r.stderr)
    return m.group(1) if r.returncode == 0 and m else None


def browser():
    return chromium()


def alert_present(d):
    try:
        return d.switch_to.alert is not None
    except Exception:  # selenium's NoAlertPresentException
        return False


def console_errors(d):
    return [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]


gw = Gateway(web=True)
d = None
try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-500:])
    if os.geteuid() == 0:
        want = [str(pwd.getpwnam("sealgate-web").pw_uid)] * 4

        def web_uids():
            """The web role's real, effective, saved and fs uids once it has dropped to its user."""
            try:
                with open(f"/proc/{gw.role_pids().get('web')}/status") as f:
                    uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
            except (OSError, IndexError):
                return None
            return uids if uids == want else None
        t.ok(wait_for(web_uids, 15), "the web role runs as sealgate-web (privileges dropped)")
    pw = first_admin(gw, "alice")
    if not pw:
        t.fail("sealgate admin add prints a one-time password", gw.log_text()[-300:])
        raise SystemExit
    base = f"https://127.0.0.1:{gw.web_port}"
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("carol@demo.test", ["dave@example.net"], MSG)
    held = wait_for(lambda: listdir(gw.spool, "hold"), 30)
    t.ok(held, "[encrypt] to a recipient without a key is held", gw.log_text()[-500:])
    qid = sorted(held)[0] if held else "-"
    os.makedirs(OUT, exist_ok=True)
    d = browser()
    d.set_page_load_timeout(60)
    d.get(base + "/")
    t.ok(d.current_url.endswith("/login") and d.find_element(By.ID, "name") == d.switch_to.active_element,
         "a visitor lands on the sign-in page with the focus in the account field", d.current_url)
    d.switch_to.active_element.send_keys("alice", Keys.TAB, pw, Keys.ENTER)
    # The one-time password of `sealgate admin add` is replaced before any other page.
    wait_for(lambda: d.current_url.endswith("/account"), 20)
    main = d.find_element(By.TAG_NAME, "main").text
    t.ok(d.current_url.endswith("/account") and "one-time password" in main and "Your sessions" not in main
         and [a.text for a in d.find_elements(By.CSS_SELECTOR, "nav.side a")] == ["Account"],
         "the first sign-in lands on the Account page, which asks for a new password first", main[:300])
    d.save_screenshot(os.path.join(OUT, "account-first.png"))
    d.get(base + "/queue")
    t.ok(d.current_url.endswith("/account"), "no other page before the password is changed", d.current_url)
    first_pw = "alice's first own password"
    d.find_element(By.ID, "current_password").send_keys(pw)
    d.find_element(By.ID, "password").send_keys(first_pw)
    d.find_element(By.ID, "password_again").send_keys(first_pw, Keys.ENTER)
    wait_for(lambda: d.current_url.endswith("/login"), 20)
    pw = first_pw
    d.find_element(By.ID, "name").send_keys("alice", Keys.TAB, pw, Keys.ENTER)
    wait_for(lambda: "Dashboard" in d.title, 20)
    t.ok("Dashboard" in d.title and "alice" in d.find_element(By.CSS_SELECTOR, "header.top").text,
         "signed in with the keyboard alone: the dashboard names the account", d.title)
    errs = console_errors(d)
    t.ok(not errs, "the dashboard renders without console errors", "; ".join(errs[:3]))
    cards = {c.find_element(By.CLASS_NAME, "label").get_attribute("textContent"):
             c.find_element(By.CLASS_NAME, "value").get_attribute("textContent")
             for c in d.find_elements(By.CSS_SELECTOR, "a.card")}
    t.ok(cards.get("hold") == str(len(held or ())) and cards.get("outgoing", "").isdigit()
         and cards.get("deferred", "").isdigit(),
         "the dashboard counts the spool's states (cryptd's answer; the web role cannot list them)", str(cards))
    d.save_screenshot(os.path.join(OUT, "dashboard.png"))
    for path, title in (("/policy", "Policy"), ("/queue", "Queue"), ("/events", "Events"), ("/admins", "Admins"),
                        ("/queue?state=hold", "Queue")):
        d.get(base + path)
        errs = console_errors(d)
        t.ok(title in d.title and not errs, f"{path} renders without console errors",
             f"{d.title}: " + "; ".join(errs[:3]))
    rows = d.find_elements(By.XPATH, f"//tr[td/a[text()='{qid}']]")
    t.ok(rows and "hold" in rows[0].text, "the held message is on the queue page, state hold",
         d.find_element(By.TAG_NAME, "main").text[:300])
    d.save_screenshot(os.path.join(OUT, "queue.png"))
    if rows:
        rows[0].find_element(By.LINK_TEXT, qid).click()
        wait_for(lambda: qid in d.title, 20)
        main = d.find_element(By.TAG_NAME, "main").text
        t.ok("carol@demo.test" in main and "dave@example.net" in main and "held for the portal test" in main
             and not console_errors(d), "the message's page shows its envelope and headers", main[:300])
        d.back()
        rows = d.find_elements(By.XPATH, f"//tr[td/a[text()='{qid}']]")
    # The recipient's key, so that the released message is encrypted this time, not held again.
    r = import_dave(gw)
    t.ok(r.returncode == 0, "dave's public key imported", r.stdout + r.stderr)
    before = gw.sink_files()
    if rows:
        rows[0].find_element(By.XPATH, ".//button[normalize-space()='Release']").click()
        wait_for(lambda: "done" in d.current_url or "Error" in d.title, 20)
        main = d.find_element(By.TAG_NAME, "main").text
        t.ok("release done" in main and not console_errors(d), "the Release button answers done",
             f"{d.title}: {main[:300]}")
        t.ok(wait_for(lambda: qid not in listdir(gw.spool, "hold"), 20), "the message left hold/",
             str(listdir(gw.spool, "hold")))

        def for_dave():
            """What the sink stored for dave since the release (the notice to carol is not)."""
            out = []
            for n in gw.sink_files() - before:
                with open(os.path.join(gw.sink_dir, "new", n), "rb") as f:
                    data = f.read()
                if re.search(rb"^Delivered-To: <?dave@example\.net", data, re.M):
                    out.append(data)
            return out
        got = wait_for(for_dave, 30)
        t.ok(got and b"-----BEGIN PGP MESSAGE-----" in got[0] and b"the body that must arrive encrypted" not in got[0],
             "the released message arrives at the sink, encrypted for dave", (got[0][:400] if got else b"").decode(
                 errors="replace") or gw.log_text()[-800:])
    else:
        t.fail("release the held message from the queue page", "no row to release")

    # Retry, hold and delete on the relay's deferred/ and cryptd's hold/: the web role enters
    # neither; cryptd moves the files (a relay-owned file too) for the queue page's buttons.
    def plant_deferred(subject):
        q = put_message(gw.spool, "hold", b"From: ops@demo.test\r\nTo: user@demo.test\r\nSubject: " + subject
                        + b"\r\n\r\nbody\r\n", sender="ops@demo.test", rcpts=("user@demo.test",),
                        attempts=1, next_attempt=int(time.time()) + 3600)
        os.rename(os.path.join(gw.spool, "hold", q), os.path.join(gw.spool, "deferred", q + ".0"))
        if os.geteuid() == 0:
            os.chown(os.path.join(gw.spool, "deferred", q + ".0"), pwd.getpwnam("sealgate-relay").pw_uid,
                     grp.getgrnam("sealgate").gr_gid)
        return q + ".0"

    def click(state, qid_, label):
        d.get(base + f"/queue?state={state}")
        rows = d.find_elements(By.XPATH, f"//tr[td/a[text()='{qid_}']]")
        if not rows:
            return f"no row for {qid_} in {state}: " + d.find_element(By.TAG_NAME, "main").text[:300]
        rows[0].find_element(By.XPATH, f".//button[normalize-space()='{label}']").click()
        if label == "Delete":  # the page asks first (data-confirm)
            wait_for(lambda: alert_present(d), 10)
            d.switch_to.alert.accept()
        wait_for(lambda: "done" in d.current_url or "Error" in d.title, 20)
        main = d.find_element(By.TAG_NAME, "main").text
        return "" if f"{label.lower()} done" in main else f"{d.title}: {main[:300]}"

    retried, parked = plant_deferred(b"retry me"), plant_deferred(b"park me")
    before = gw.sink_files()
    why = click("deferred", retried, "Retry")
    t.ok(not why and retried not in listdir(gw.spool, "deferred"), "Retry on the queue page moves a deferred "
         "message (the relay's file) to outgoing/", why)
    t.ok(wait_for(lambda: [n for n in gw.sink_files() - before
                           if b"retry me" in open(os.path.join(gw.sink_dir, "new", n), "rb").read()], 30),
         "... and the relay delivers it")
    why = click("deferred", parked, "Hold")
    t.ok(not why and parked in listdir(gw.spool, "hold") and parked not in listdir(gw.spool, "deferred"),
         "Hold on the queue page moves a deferred message to hold/", why)
    why = click("hold", parked, "Delete")
    t.ok(not why and parked not in listdir(gw.spool, "hold"), "Delete on the queue page removes the held message", why)
    t.ok(not console_errors(d), "the queue's actions without console errors")
    # ---- keys and certificates: paste a public key, find it, its details, export, delete ----
    gpg = gpg_runner(os.path.join(gw.dir, "gpg"))  # the home import_dave made
    gpg("--quick-gen-key", "Erin <erin@elsewhere.example>", "ed25519", "sign,cert", "never")
    erin = gpg("--armor", "--export", "erin@elsewhere.example").stdout.decode()
    erin_fpr = gpg("--list-keys", "--with-colons", "erin@elsewhere.example").stdout.decode() \
        .split("fpr:::::::::")[1].split(":")[0]
    d.get(base + "/keys")
    t.ok("Keys" in d.title and not console_errors(d), "the keys page renders without console errors", d.title)
    d.execute_script("document.getElementById('paste').value = arguments[0];", erin)
    d.find_element(By.XPATH, "//button[normalize-space()='Import']").click()
    wait_for(lambda: d.find_elements(By.ID, "imported"), 20)
    main = d.find_element(By.TAG_NAME, "main").text
    t.ok("imported" in main and erin_fpr in main, "a pasted public key is imported (key.import)", main[:400])
    d.find_element(By.ID, "q").send_keys("erin@elsewhere.example", Keys.ENTER)
    wait_for(lambda: "q=" in d.current_url, 20)
    keys_table = d.find_element(By.ID, "keys").text
    t.ok(erin_fpr in keys_table and "Erin <erin@elsewhere.example>" in keys_table and "dave" not in keys_table,
         "the search by address lists it (and only it)", keys_table[:300])
    d.save_screenshot(os.path.join(OUT, "keys.png"))
    d.find_element(By.LINK_TEXT, erin_fpr).click()
    wait_for(lambda: d.find_elements(By.ID, "export"), 20)
    main = d.find_element(By.TAG_NAME, "main").text
    t.ok("erin@elsewhere.example" in main and "eddsa" in main.lower() and "trust" in main and "verified" in main and not console_errors(d),
         "the key's details show its user ID, algorithm and trust", main[:400])
    import ssl
    import urllib.request
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # the self-signed certificate: this test only
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in d.get_cookies())
    with urllib.request.urlopen(urllib.request.Request(d.find_element(By.ID, "export").get_attribute("href"),
                                                       headers={"Cookie": cookie}), context=ctx, timeout=20) as rsp:
        body, hdrs = rsp.read().decode(), rsp.headers
    t.ok(body.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----") and "PRIVATE" not in body
         and hdrs.get("Content-Disposition", "").startswith("attachment;") and hdrs.get("X-Content-Type-Options") == "nosniff",
         "Export public is an attachment (nosniff) with the armored public key", str(dict(hdrs))[:300])
    d.find_element(By.XPATH, "//button[normalize-space()='Delete']").click()
    wait_for(lambda: alert_present(d), 10)
    d.switch_to.alert.accept()
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, ".notice"), 20)
    r = gw.cli("key", "list")
    t.ok("Deleted" in d.find_element(By.TAG_NAME, "main").text and erin_fpr not in r.stdout.upper()
         and not console_errors(d), "Delete removes the key (sealgate key list)", r.stdout[-300:])

    # generate (key.generate runs in cryptd, over its control socket) and a certificate pasted as PEM
    d.get(base + "/keys")
    d.find_element(By.ID, "gen-address").send_keys("frank@demo.test", Keys.ENTER)
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, ".notice"), 60)
    main = d.find_element(By.TAG_NAME, "main").text
    r = gw.cli("key", "list", "--address", "frank@demo.test")
    t.ok("Generated key" in main and "frank@demo.test" in r.stdout and not console_errors(d),
         "Generate makes a key for the address (in cryptd)", main[:300] + " | " + r.stdout[-200:])
    pem_key, pem_crt = os.path.join(gw.dir, "grace.key"), os.path.join(gw.dir, "grace.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", pem_key, "-out", pem_crt, "-days", "30", "-subj", "/CN=Grace/emailAddress=grace@x.example",
                    "-addext", "subjectAltName=email:grace@x.example", "-addext", "extendedKeyUsage=emailProtection"],
                   check=True, capture_output=True)
    d.find_element(By.XPATH, "//select[@id='kind']/option[@value='cert']").click()
    d.execute_script("document.getElementById('paste').value = arguments[0];", open(pem_crt).read())
    d.find_element(By.XPATH, "//button[normalize-space()='Import']").click()
    wait_for(lambda: d.find_elements(By.ID, "imported"), 30)
    d.get(base + "/keys?q=grace%40x.example")
    certs = d.find_element(By.ID, "certs").text
    t.ok("Grace" in certs, "a pasted PEM certificate is imported (cert.import, in cryptd) and found by address", certs[:300])
    links = d.find_elements(By.CSS_SELECTOR, "#certs a")
    if links:
        links[0].click()
        wait_for(lambda: d.find_elements(By.ID, "export"), 20)
        main = d.find_element(By.TAG_NAME, "main").text
        t.ok("subject" in main and "issuer" in main and "not_after" in main and not console_errors(d),
             "the certificate's details show subject, issuer and validity", main[:300])
        d.save_screenshot(os.path.join(OUT, "cert.png"))

    # ---- the policy page: check with the error at its line, save, diff, roll back, explain ----
    def set_rules(text):
        d.execute_script("document.getElementById('rules').value = arguments[0];", text)

    def press(label):
        d.find_element(By.XPATH, f"//button[normalize-space()='{label}']").click()
        wait_for(lambda: d.execute_script("return document.readyState") == "complete"
                 and d.find_elements(By.CSS_SELECTOR, ".notice, #explanation"), 20)

    d.get(base + "/policy")
    default = d.find_element(By.ID, "rules").get_attribute("value")
    t.ok("Policy" in d.title and "settings" in default and not console_errors(d),
         "the policy page shows the rules in force in the editor", d.title)
    lines = default.split("\n")
    set_rules("\n".join(lines[:2] + ["this line is no rule"] + lines[2:]))
    press("Check")
    bad = d.find_elements(By.ID, "error-line")
    head = d.find_elements(By.CSS_SELECTOR, "#check-result h2")
    t.ok(bad and bad[0].text == "this line is no rule" and head and "line 3" in head[0].text,
         "Check shows the error at its line and marks that line of the rules",
         d.find_element(By.TAG_NAME, "main").text[:400])
    d.save_screenshot(os.path.join(OUT, "policy.png"))
    t.ok("this line is no rule" in d.find_element(By.ID, "rules").get_attribute("value"),
         "the checked text stays in the editor")
    press("Save as new revision")
    refused = console_errors(d)  # the refusal is answered 400, which Chromium logs: that one only
    t.ok("Not saved" in d.find_element(By.TAG_NAME, "main").text and gw.cli("policy", "show").stdout.find("no rule") < 0
         and len(refused) == 1 and "/policy" in refused[0] and "400" in refused[0],
         "Save refuses rules with an error (400) and stores nothing", str(refused))
    set_rules(default + "\n# first portal revision\n")
    press("Save as new revision")
    main = d.find_element(By.TAG_NAME, "main").text
    t.ok("Saved as revision 1" in main and d.find_elements(By.CSS_SELECTOR, "tr[data-rev='1']"),
         "good rules are saved as revision 1 and listed", main[:300])
    set_rules(default + "\n# first portal revision\n# second portal revision\n")
    press("Save as new revision")
    show = gw.cli("policy", "show").stdout
    t.ok("second portal revision" in show, "revision 2 is the policy in force (sealgate policy show)", show[:200])
    d.find_element(By.XPATH, "//tr[@data-rev='2']//a[normalize-space()='Diff']").click()
    wait_for(lambda: d.find_elements(By.ID, "diff"), 20)
    added = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#diff li.add")]
    removed = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#diff li.del")]
    errs = console_errors(d)
    t.ok(added == ["+ # second portal revision"] and not removed and not errs,
         "the diff of revision 2 shows the one line it added", f"{added} {removed} {errs[:3]}")
    d.get(base + "/policy")
    d.find_element(By.XPATH, "//tr[@data-rev='1']//button[normalize-space()='Roll back']").click()
    wait_for(lambda: alert_present(d), 10)
    d.switch_to.alert.accept()
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, ".notice"), 20)
    main = d.find_element(By.TAG_NAME, "main").text
    show = gw.cli("policy", "show").stdout
    t.ok("revision 3 has the rules of revision 1" in main and "first portal revision" in show
         and "second portal revision" not in show, "Roll back to revision 1 makes its rules the policy in force "
         "as revision 3", main[:300] + " | " + show[:200])
    d.find_element(By.ID, "ex-from").send_keys("carol@demo.test")
    d.find_element(By.ID, "ex-to").send_keys("dave@example.net, erin@elsewhere.example")
    d.find_element(By.ID, "ex-subject").send_keys("[encrypt] quarterly figures")
    press("Explain")
    ex = d.find_elements(By.ID, "explanation")
    text = ex[0].text if ex else d.find_element(By.TAG_NAME, "main").text[:400]
    t.ok(ex and "dave@example.net" in text and "erin@elsewhere.example" in text and not console_errors(d),
         "the explain form shows per recipient what would happen", text[:600])
    d.save_screenshot(os.path.join(OUT, "policy-explain.png"))

    # an account added on the Admins page, with the keyboard: its one-time password is shown once
    d.get(base + "/admins")
    d.find_element(By.ID, "new-name").send_keys("olivia")
    d.find_element(By.XPATH, "//input[@name='role' and @value='system-operator']").send_keys(Keys.SPACE)
    d.find_element(By.XPATH, "//button[normalize-space()='Add account']").send_keys(Keys.ENTER)
    wait_for(lambda: d.find_elements(By.ID, "new-password"), 20)
    shown = d.find_elements(By.ID, "new-password")
    errs = console_errors(d)
    t.ok(shown and len(shown[0].text) >= 12 and "olivia" in d.find_element(By.TAG_NAME, "table").text and not errs,
         "the Admins page adds an account with its roles and shows its one-time password",
         "; ".join(errs[:3]) + " | " + d.find_element(By.TAG_NAME, "main").text[:200])
    row = d.find_elements(By.XPATH, "//tr[td/strong[text()='olivia']]")
    t.ok(row and "password to set" in row[0].text, "the new account is marked: its password is still to set",
         row[0].text if row else "")
    d.save_screenshot(os.path.join(OUT, "admins.png"))
    d.get(base + "/events?operation=queue.release")
    t.ok(qid in d.find_element(By.TAG_NAME, "main").text, "the release (done or refused) is an audit event on the events page")
    # one's own password, on the Account page: the session ends, the new password signs in
    d.get(base + "/account")
    t.ok("Account" in d.title and not console_errors(d), "the Account page renders without console errors")
    new_pw = "a brand new passphrase"
    d.find_element(By.ID, "current_password").send_keys(pw)
    d.find_element(By.ID, "password").send_keys(new_pw)
    d.find_element(By.ID, "password_again").send_keys(new_pw, Keys.ENTER)
    wait_for(lambda: d.current_url.endswith("/login"), 20)
    t.ok(d.current_url.endswith("/login"), "changing the password ends the session: back to the sign-in", d.current_url)
    d.find_element(By.ID, "name").send_keys("alice")
    d.find_element(By.ID, "password").send_keys(new_pw, Keys.ENTER)
    wait_for(lambda: "Dashboard" in d.title, 20)
    t.ok("Dashboard" in d.title, "the new password signs in", d.title)
    # A TOTP second factor: enrolled with the password, confirmed with a code, asked at sign-in.
    d.get(base + "/account")
    d.find_element(By.ID, "totp_pw").send_keys(new_pw, Keys.ENTER)
    wait_for(lambda: d.find_elements(By.ID, "totp-secret"), 20)
    secret = d.find_element(By.ID, "totp-secret").text if d.find_elements(By.ID, "totp-secret") else ""
    uri = d.find_element(By.ID, "totp-uri").text if d.find_elements(By.ID, "totp-uri") else ""
    t.ok(len(secret) == 32 and uri.startswith("otpauth://totp/") and f"secret={secret}" in uri,
         "enrolment shows the secret once, as text and as an otpauth:// URI", uri)
    d.find_element(By.ID, "totp_code").send_keys(totp(secret, time.time()), Keys.ENTER)
    wait_for(lambda: "Active" in text_of(d, By.ID, "totp-state"), 20)
    t.ok("Active" in d.find_element(By.ID, "totp-state").text and not console_errors(d),
         "a code from the secret makes the second factor active")
    sessions = d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
    t.ok(sessions and "this session" in sessions[0].text + "".join(x.text for x in sessions),
         "the Account page lists one's sessions, this one marked", str([x.text for x in sessions]))
    d.save_screenshot(os.path.join(OUT, "account.png"))
    d.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait_for(lambda: d.current_url.endswith("/login"), 20)
    d.find_element(By.ID, "name").send_keys("alice", Keys.TAB, new_pw, Keys.ENTER)
    wait_for(lambda: d.find_elements(By.ID, "code"), 20)
    t.ok(d.find_elements(By.ID, "code") and "Dashboard" not in d.title,
         "with a second factor the password alone does not sign in: the code is asked", d.title)
    d.find_element(By.ID, "code").send_keys("000000" if totp(secret, time.time()) != "000000" else "111111",
                                            Keys.ENTER)
    wait_for(lambda: "Wrong or used code" in text_of(d, By.TAG_NAME, "main"), 20)
    t.ok("Wrong or used code" in d.find_element(By.TAG_NAME, "main").text, "a wrong code is refused")
    d.save_screenshot(os.path.join(OUT, "login-code.png"))
    # the confirming code's step is taken: the next step's code (within the drift window) is new
    d.find_element(By.ID, "code").send_keys(totp(secret, time.time() + 30), Keys.ENTER)
    wait_for(lambda: "Dashboard" in d.title, 20)
    t.ok("Dashboard" in d.title, "the right code signs in", d.title)
    t.ok(all(os.path.getsize(os.path.join(OUT, n)) > 10000 for n in ("dashboard.png", "queue.png", "policy.png",
                                                                    "keys.png")),
         "screenshots written to tests/out/web/")
finally:
    if d:
        d.quit()
    gw.cleanup()
t.done()
