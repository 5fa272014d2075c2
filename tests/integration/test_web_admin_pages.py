#!/usr/bin/env python3
"""The portal's Local CA and Events pages in a real headless Chromium against a running gateway
(issue 18). Local CA: the CA's facts and its certificate downloaded from the page; a certificate
issued with the page's form (cryptd makes the key pair: the web role holds no KEK), found in the
issued list as valid and in `sealgate cert list`, revoked with its button, the list saying
revoked; its page shows it valid for signing and encryption and its chain up to the CA (and
revoked, once the CRL is in the store); "Sign and download the CRL" saves crl.pem, which `openssl crl` verifies against the
downloaded CA certificate and which lists the revoked serial. A key's page (a gpg-made key imported) lists its subkey with
algorithm, size, usage and validity, its user ID and trust. Settings: the configuration valid,
and the listeners, next hop, retry, networks and hostname the test's file sets. Events: the search by actor and
operation counts exactly the calls made, pages with "Older events" keeping the search and back
with "Newest events"; by result (not_found) and target (part of a fingerprint, lower case); a time
range after now matches nothing; a malformed time keeps the form and says what to fix (400).
No console error on any page; screenshots ca.png, key-details.png, settings.png and events.png in
tests/out/web/. Owner: src/web."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap, wait_for, wait_port  # noqa: E402
import sgbrowser  # noqa: E402
from sgweb import import_dave  # noqa: E402

t = Tap()
OUT = os.path.join(ROOT, "tests", "out", "web")
why = sgbrowser.available()
if why:
    t.skip("the portal's admin pages in Chromium", why)
    t.done()
    sys.exit(0)
from selenium.webdriver.common.by import By  # noqa: E402


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def main_text(d):
    return d.find_element(By.TAG_NAME, "main").text


gw = Gateway(web=True)
d = None
dl = tempfile.mkdtemp(prefix="sg-dl-")
try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-500:])
    r = gw.cli("ca", "init", "--subject", "CN=Portal Test CA")
    t.ok(r.returncode == 0, "a local CA (sealgate ca init)", r.stdout + r.stderr)
    pw = sgbrowser.first_admin(gw, "alice")
    t.ok(pw, "the first administrator")
    base = f"https://127.0.0.1:{gw.web_port}"
    os.makedirs(OUT, exist_ok=True)
    d = sgbrowser.browser(downloads=dl)
    t.ok(sgbrowser.sign_in(d, base, "alice", pw, wait_for), "signed in", d.title)

    # ---- Local CA ----
    d.find_element(By.LINK_TEXT, "Local CA").click()
    wait_for(lambda: "Local CA" in d.title, 20)
    main = main_text(d)
    t.ok("CN=Portal Test CA" in main and not sgbrowser.console_errors(d),
         "the Local CA page (from the navigation) shows the CA, without console errors", main[:300])
    d.find_element(By.ID, "ca-download").click()
    ca_pem = wait_for(lambda: sgbrowser.downloaded(dl, "sealgate-ca.pem"), 20)
    ca_path = os.path.join(dl, "sealgate-ca.pem")
    t.ok(ca_pem and b"-----BEGIN CERTIFICATE-----" in ca_pem and b"PRIVATE" not in ca_pem
         and "Portal Test CA" in openssl("x509", "-in", ca_path, "-noout", "-subject").stdout,
         "the CA certificate downloads (PEM, no private key)", repr(ca_pem)[:200])
    d.find_element(By.ID, "address").send_keys("erin@demo.test")
    d.find_element(By.ID, "days").clear()
    d.find_element(By.ID, "days").send_keys("90")
    d.find_element(By.XPATH, "//button[normalize-space()='Issue']").click()
    wait_for(lambda: d.find_elements(By.ID, "issued-cert") or "Error" in d.title, 60)
    links = d.find_elements(By.ID, "issued-cert")
    fpr = links[0].text if links else ""
    row = d.find_elements(By.XPATH, f"//section[@id='issued']//tr[td/a[starts-with(@href, '/certs/{fpr}')]]")
    t.ok(fpr and row and "erin@demo.test" in row[0].text and "valid" in row[0].text
         and "Certificate issued." in main_text(d) and not sgbrowser.console_errors(d),
         "Issue: cryptd made erin's certificate, listed as valid", main_text(d)[:400])
    r = gw.cli("cert", "list")
    t.ok(fpr and fpr.lower() in r.stdout.lower(), "sealgate cert list has it", r.stdout[-400:])
    d.save_screenshot(os.path.join(OUT, "ca.png"))

    def cert_page(fpr):
        """The verdicts by purpose and the chain's subjects on a certificate's page."""
        d.get(base + "/certs/" + fpr)
        verdicts = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1].text
                    for r in d.find_elements(By.CSS_SELECTOR, "#validation tbody tr")}
        return verdicts, [li.text for li in d.find_elements(By.CSS_SELECTOR, "#chain li")]
    verdicts, chain = cert_page(fpr)
    t.ok(verdicts == {"sign": "valid", "encrypt": "valid"} and len(chain) == 2 and chain[0].startswith(fpr[:16])
         and "CN=Portal Test CA" in chain[1] and not sgbrowser.console_errors(d),
         "the certificate's page: valid for sign and encrypt, its chain up to the local CA", f"{verdicts} {chain}")
    d.get(base + "/ca")
    row = d.find_elements(By.XPATH, f"//section[@id='issued']//tr[td/a[starts-with(@href, '/certs/{fpr}')]]")
    if row:
        row[0].find_element(By.XPATH, ".//button[normalize-space()='Revoke']").click()
        wait_for(lambda: sgbrowser.alert_present(d), 10)
        d.switch_to.alert.accept()
        wait_for(lambda: "Revoked" in main_text(d) or "Error" in d.title, 30)
    row = d.find_elements(By.XPATH, f"//section[@id='issued']//tr[td/a[starts-with(@href, '/certs/{fpr}')]]")
    t.ok(row and "revoked" in row[0].text and not row[0].find_elements(By.TAG_NAME, "button")
         and "Sign a new CRL" in main_text(d),
         "Revoke (confirmed): the list says revoked, no button any more", main_text(d)[:400])
    d.find_element(By.ID, "crl_days").clear()
    d.find_element(By.ID, "crl_days").send_keys("7")
    d.find_element(By.ID, "crl").click()
    crl = wait_for(lambda: sgbrowser.downloaded(dl, "crl.pem"), 30)
    crl_path = os.path.join(dl, "crl.pem")
    serial = ""
    r = gw.cli("cert", "show", fpr)
    m = re.search(r"serial\s*:?\s*([0-9A-Fa-f:]+)", r.stdout)
    if m:
        serial = m.group(1).replace(":", "").upper().lstrip("0")
    txt = openssl("crl", "-in", crl_path, "-noout", "-text").stdout if crl else ""
    verify = openssl("crl", "-in", crl_path, "-CAfile", ca_path, "-noout") if crl else None
    listed = [s.upper().lstrip("0") for s in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", txt)]
    t.ok(crl and serial and serial in listed and "CRL Number" in txt,
         "Sign and download the CRL: openssl crl reads it and it lists the revoked serial",
         f"serial {serial!r} listed {listed} {r.stdout[:300]!r}")
    t.ok(verify and verify.returncode == 0 and "verify OK" in verify.stdout + verify.stderr,
         "openssl crl -CAfile: the CRL is signed by the downloaded CA",
         verify and verify.stdout + verify.stderr)
    t.ok(not sgbrowser.console_errors(d), "no console errors after the download")
    verdicts, chain = cert_page(fpr)
    t.ok(verdicts.get("encrypt") == "revoked" and verdicts.get("sign") == "revoked" and len(chain) == 2,
         "with the CRL in the store the certificate's page says revoked", f"{verdicts} {chain}")
    d.execute_script("document.getElementById('validation').scrollIntoView()")
    d.save_screenshot(os.path.join(OUT, "cert-details.png"))
    r = gw.cli("cert", "show", fpr)
    t.ok(re.search(r"^  for encrypt  revoked ", r.stdout, re.M) and re.search(r"^  chain 1 +[0-9A-F]{64} CN=Portal Test CA",
                                                                           r.stdout, re.M),
         "sealgate cert show prints the same validation and chain", r.stdout)

    # ---- a key's details: subkeys, user IDs, trust ----
    r = import_dave(gw)
    m = re.search(r"\b([0-9A-F]{40})\b", r.stdout.upper())
    dave = m.group(1) if m else ""
    t.ok(r.returncode == 0 and dave, "dave's key (gpg: Ed25519 primary, Cv25519 encryption subkey) imported",
         r.stdout + r.stderr)
    d.get(base + "/keys/" + dave)
    sub = d.find_elements(By.CSS_SELECTOR, "#subkeys tbody tr")
    main = main_text(d)
    t.ok(len(sub) == 1 and "ECDH" in sub[0].text.upper() and "255" in sub[0].text and "encrypt" in sub[0].text
         and "never" in sub[0].text and "valid" in sub[0].text and "Dave <dave@example.net>" in main
         and "verified" in main and not sgbrowser.console_errors(d),
         "the key's page: its one subkey (ECDH, 255 bits, encrypt, never expires, valid), user ID and trust",
         main[:600])
    d.save_screenshot(os.path.join(OUT, "key-details.png"))
    r = gw.cli("key", "show", dave)
    t.ok(r.returncode == 0 and re.search(r"^  sub  [0-9A-F]{40}  ECDH/255 encrypt  expires never$", r.stdout, re.M),
         "sealgate key show lists the same subkey (the CLI prints the same operation's answer)", r.stdout)

    # ---- Settings: the effective configuration, validated ----
    d.find_element(By.LINK_TEXT, "Settings").click()
    wait_for(lambda: "Settings" in d.title, 20)

    def setting(section, key):
        """The shown value of a setting, or None."""
        el = d.find_elements(By.XPATH, f"//section[@id='settings-{section}']//dt[text()='{key}']/following-sibling::dd[1]")
        return el[0].text if el else None
    t.ok("The configuration is valid" in main_text(d) and setting("smtpd", "listen") == f"127.0.0.1:{gw.smtp_port}"
         and setting("relay", "next_hop") == gw.next_hop and setting("relay", "retry_max") == "2"
         and setting("web", "listen") == f"127.0.0.1:{gw.web_port}"
         and "127.0.0.0/8" in (setting("smtpd", "client_networks") or "")
         and setting("general", "hostname") == "gw.demo.test" and not sgbrowser.console_errors(d),
         "Settings: valid, and the listeners, next hop, retry, networks and hostname the file sets",
         main_text(d)[:600])
    d.save_screenshot(os.path.join(OUT, "settings.png"))

    # ---- Events ----
    for _ in range(53):
        gw.cli("key", "list")
    missing = "00" * 20
    r = gw.cli("key", "show", missing)
    t.ok(r.returncode != 0, "key show of a missing key fails (an event with result not_found)", r.stderr)
    d.get(base + "/events")
    d.find_element(By.ID, "actor").send_keys("root")
    d.find_element(By.ID, "operation").send_keys("key.list")
    d.find_element(By.XPATH, "//form[@role='search']//button[@type='submit']").click()
    wait_for(lambda: "operation=key.list" in d.current_url, 20)
    total = d.find_elements(By.ID, "total")
    rows = d.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    t.ok(total and total[0].text == "53" and len(rows) == 50
         and all("key.list" in x.text and "root" in x.text for x in rows) and not sgbrowser.console_errors(d),
         "search by actor and operation: 53 events, the first 50 on the page",
         f"{total[0].text if total else None} {len(rows)}")
    d.save_screenshot(os.path.join(OUT, "events.png"))
    d.find_element(By.ID, "older").click()
    wait_for(lambda: "before=" in d.current_url, 20)
    rows = d.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    t.ok(len(rows) == 3 and all("key.list" in x.text for x in rows)
         and d.find_element(By.ID, "actor").get_attribute("value") == "root",
         "Older events: the last 3, the search kept", f"{len(rows)} {d.current_url}")
    d.find_element(By.LINK_TEXT, "Newest events").click()
    wait_for(lambda: "before=" not in d.current_url, 20)
    t.ok(len(d.find_elements(By.CSS_SELECTOR, "#events tbody tr")) == 50 and "actor=root" in d.current_url,
         "Newest events: back to the first page of the same search", d.current_url)
    d.get(base + "/events")
    d.find_element(By.ID, "target").send_keys(missing[:12])
    d.find_element(By.CSS_SELECTOR, "#result option[value='']")  # "any" is offered
    d.find_element(By.XPATH, "//select[@id='result']/option[text()='not_found']").click()
    d.find_element(By.XPATH, "//form[@role='search']//button[@type='submit']").click()
    wait_for(lambda: "result=not_found" in d.current_url, 20)
    rows = d.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    t.ok(len(rows) == 1 and "key.show" in rows[0].text and "not_found" in rows[0].text,
         "search by target (part of it) and result: the one failed key show", main_text(d)[:400])
    d.get(base + f"/events?target={fpr[8:24].lower()}&operation=ca.revoke")
    rows = d.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    t.ok(len(rows) == 1 and "alice" in rows[0].text and "ok" in rows[0].text,
         "the portal's revoke is one event of alice's, found by a lower-case part of the fingerprint",
         main_text(d)[:400])
    d.get(base + "/events?from=" + time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 7200)))
    t.ok("No events match" in main_text(d), "a time range after now matches nothing", main_text(d)[:200])
    d.get(base + "/events?from=" + time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 7200))
          + "&operation=ca.issue")
    rows = d.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    t.ok(len(rows) == 1 and "erin@demo.test" in rows[0].text, "a time range from two hours ago finds the issue",
         main_text(d)[:300])
    errs = sgbrowser.console_errors(d)
    t.ok(not errs, "the events pages render without console errors", "; ".join(errs[:3]))
    d.get(base + "/events?from=yesterday")
    errs = sgbrowser.console_errors(d)
    t.ok("YYYY-MM-DDTHH:MM" in main_text(d) and d.find_elements(By.ID, "actor") and "Events" in d.title
         and len(errs) == 1 and "status of 400" in errs[0],
         "a malformed time: the form stays and says what to fix (400, the only console message)",
         main_text(d)[:200] + " " + "; ".join(errs[:3]))
    t.ok(all(os.path.getsize(os.path.join(OUT, n)) > 10000 for n in ("ca.png", "cert-details.png", "key-details.png",
                                                                    "settings.png", "events.png")),
         "screenshots ca.png, key-details.png, settings.png and events.png written to tests/out/web/")
finally:
    if d:
        d.quit()
    gw.cleanup()
t.done()
