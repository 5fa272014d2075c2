#!/usr/bin/env python3
"""The portal's Auditor page (issue 14, docs/web.md) in a headless Chromium against a running
gateway: an account with the Auditor role alone signs in, finds the page in the navigation,
sees the mail entries of messages sent through SMTP, searches by address and by outcome (the
held message alone), opens an entry and sees its fields (no body), its inclusion proof marked
verified and the signed checkpoint, whose note and proof this file checks again with the
independent verifier (tests/lib/tlogverify.py); the page offers nothing that changes anything.
Screenshots: tests/out/web/auditor.png and auditor-entry.png. Owner: src/web."""
import base64
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap, wait_for, wait_port  # noqa: E402
import sgbrowser  # noqa: E402
from sgweb import first_admin  # noqa: E402
import tlogverify as tlv  # noqa: E402

t = Tap()
OUT = os.path.join(ROOT, "tests", "out", "web")
if sgbrowser.available() is not None:
    t.skip("the Auditor page in Chromium", sgbrowser.available())
    t.done()
    sys.exit(0)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

gw = Gateway(web=True)
gw.write_config('internal_domains = ["demo.test"];\n'
                "audit = { checkpoint_every = 1; checkpoint_seconds = 1; };\n")
d = None


def send(frm, to, subject, mid):
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(frm, [to], (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n\r\n"
                               "BODY-NOT-IN-LOG\r\n").encode())


try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-500:])
    pw = first_admin(gw, "olga", role="auditor")
    t.ok(pw, "an Auditor account is added")
    send("carol@demo.test", "dave@example.net", "hello", "<aud-1@demo.test>")
    send("carol@demo.test", "erin@example.net", "[encrypt] no key", "<aud-2@demo.test>")
    send("frank@example.org", "carol@demo.test", "in", "<aud-3@example.org>")

    def mails():
        r = gw.cli("audit", "search", "--kind", "mail", "--json")
        return r.stdout.count('"queue"') >= 3
    t.ok(wait_for(mails, 30), "three mail entries are in the log")
    wait_for(lambda: '"checkpoint"' in gw.cli("audit", "show", "0", "--json").stdout and
             gw.cli("audit", "verify").returncode == 0, 15)

    os.makedirs(OUT, exist_ok=True)
    base = f"https://127.0.0.1:{gw.web_port}"
    d = sgbrowser.browser()
    d.set_page_load_timeout(60)
    d.get(base + "/login")
    d.find_element(By.ID, "name").send_keys("olga", Keys.TAB, pw, Keys.ENTER)
    wait_for(lambda: "Dashboard" in d.title or "Sign in" not in d.title, 20)
    links = {a.text: a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "nav.side a")}
    t.ok("Auditor" in links, "the Auditor finds the page in the navigation", str(links))
    d.get(base + "/auditor")
    rows = d.find_elements(By.CSS_SELECTOR, "table tbody tr")
    text = d.find_element(By.TAG_NAME, "main").text if d.find_elements(By.TAG_NAME, "main") else d.page_source
    t.ok(len(rows) >= 3 and "carol@demo.test" in text and "dave@example.net" in text and "BODY-NOT-IN-LOG" not in text,
         "the page lists the log, mail entries with their envelope and no body", str(len(rows)))
    t.ok(not sgbrowser.console_errors(d), "the page renders without console errors",
         "; ".join(sgbrowser.console_errors(d)[:3]))
    posts = [f.get_attribute("action") for f in d.find_elements(By.CSS_SELECTOR, "form[method=post]")]
    t.ok(all(a.endswith("/logout") for a in posts),
         "the page offers nothing that changes anything (no POST form)")

    # search by address
    box = d.find_element(By.ID, "address")
    box.clear()
    box.send_keys("dave@example.net", Keys.ENTER)
    wait_for(lambda: "address=dave" in d.current_url, 10)
    rows = d.find_elements(By.CSS_SELECTOR, "table tbody tr")
    t.ok(len(rows) == 1 and "dave@example.net" in rows[0].text, "search by address: dave's one message",
         "\n".join(r.text for r in rows))
    # search by outcome: the held one alone
    d.get(base + "/auditor")
    Select(d.find_element(By.ID, "outcome")).select_by_value("held")
    d.find_element(By.CSS_SELECTOR, "form[role=search] button").click()
    wait_for(lambda: "outcome=held" in d.current_url, 10)
    rows = d.find_elements(By.CSS_SELECTOR, "table tbody tr")
    t.ok(len(rows) == 1 and "erin@example.net" in rows[0].text and "held" in rows[0].text,
         "search by outcome held: the [encrypt] message without a key", "\n".join(r.text for r in rows))
    d.get(base + "/auditor?kind=mail")
    d.save_screenshot(os.path.join(OUT, "auditor.png"))

    # an entry with its proof
    link = d.find_element(By.XPATH, "//tr[contains(., 'dave@example.net')]//a")
    index = int(link.text)
    link.click()
    wait_for(lambda: "Log entry" in d.title, 10)
    page = d.find_element(By.TAG_NAME, "body").text
    t.ok("verified" in page and "valid (the log's key)" in page and "dave@example.net" in page
         and "delivered" in page, "the entry page shows the fields, the proof verified and the signature valid",
         page[-900:])
    note = d.find_element(By.CSS_SELECTOR, "pre.headers").text + "\n"
    path = [p for p in re.findall(r"\b[0-9a-f]{64}\b", d.find_element(By.XPATH, "//dt[.='audit path']/following-sibling::dd[1]").text)]
    pub = base64.b64decode(open(os.path.join(gw.base, "keys", "audit.pub")).read().strip())
    head = tlv.check_note(note, pub)
    exp = gw.cli("audit", "export", os.path.join(gw.dir, "exp"))
    entries = tlv.parse_entries(open(os.path.join(gw.dir, "exp", "entries"), "rb").read()) if exp.returncode == 0 else []
    t.ok(head is not None and index < len(entries)
         and tlv.verify_inclusion(index, head[1], tlv.leaf(entries[index]), [bytes.fromhex(h) for h in path], head[2]),
         "the note and the audit path shown verify in the independent verifier", note)
    d.set_window_size(1360, 1500)
    d.save_screenshot(os.path.join(OUT, "auditor-entry.png"))
    d.get(base + "/auditor/999999")
    t.ok("999999" in d.page_source and "Log entry" not in d.title, "an entry past the log is refused", d.title)
finally:
    if d:
        d.quit()
    try:
        gw.stop()
    except Exception:
        pass
t.done()
