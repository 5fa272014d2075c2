#!/usr/bin/env python3
"""The pdf reply portal's operations in cryptd (issue 12; docs/pdf.md "The reply portal",
docs/control.md "The reply portal's operations"), end to end through a gateway and its sink: a
mail gets the pdf method, the Reply link is taken from the PDF with `pdftotext -upw` (the
password from the sender's notice); over the control socket reply.check answers the sender, the
partner and the Message-ID; an altered token is refused, an expired one (signed in the test with
the link key derived from the gateway's KEK) is told apart; reply.submit with a text and an
attachment puts the answer into the spool, and the internal sender's mailbox at the sink gets it
through the pipeline, From the partner, In-Reply-To the message, with X-Sealgate-Origin:
pdf-reply; a PDF upload (by type, by magic) is refused and nothing is queued; an
X-Sealgate-Origin that an internal sender writes by SMTP is removed, for internal and for
outgoing mail. The partner gets a copy of each answer as a PDF under the same password (opened
with pdftotext and pdfdetach). Then the same in headless Chromium (docs/testing.md). Owner: src/cryptd."""
import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import re
import shutil
import smtplib
import socket
import struct
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgsink import delivered_since, sink_files  # noqa: E402
from sgtest import ROOT, Gateway, Tap, asan_binary, wait_for  # noqa: E402
import sgbrowser  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="sg-pdfreply-")
os.chmod(tmp, 0o755)


def ctl(sock_path, op, args):
    """One control request (docs/control.md "Frames"); answers (type, {field type: text})."""
    def field(ft, v):
        v = v.encode()
        return struct.pack(">HI", ft, len(v)) + v
    p = field(1, op) + field(2, "reply-portal") + field(4, "192.0.2.7") + field(5, json.dumps(args))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock_path)
    s.sendall(struct.pack(">HBBHHII", 0x5347, 1, 1, 0, 0, 9, len(p)) + p)
    buf = b""
    while len(buf) < 16 or len(buf) < 16 + struct.unpack(">I", buf[12:16])[0]:
        c = s.recv(65536)
        if not c:
            break
        buf += c
    s.close()
    mtype, ln = buf[3], struct.unpack(">I", buf[12:16])[0]
    fields, off = {}, 16
    while off < 16 + ln:
        ft, fl = struct.unpack(">HI", buf[off:off + 6])
        fields[ft] = buf[off + 6:off + 6 + fl].decode()
        off += 6 + fl
    return mtype, fields


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def forge_token(kek, expires, sender, rcpt, msgid):
    """A token as cryptd makes it (engine/pdf/pdf_link.h): HKDF-SHA256 of the KEK (no salt,
    info "sealgate pdf reply link v1") keys an HMAC-SHA256 over "1." base64url(payload)."""
    prk = hmac.new(b"\0" * 32, kek, hashlib.sha256).digest()
    key = hmac.new(prk, b"sealgate pdf reply link v1\x01", hashlib.sha256).digest()
    head = "1." + b64u(f"{expires}\n{sender}\n{rcpt}\n{msgid}".encode())
    return head + "." + b64u(hmac.new(key, head.encode(), hashlib.sha256).digest())


OUT = os.path.join(ROOT, "tests", "out", "web")
os.makedirs(OUT, exist_ok=True)
gw = Gateway(binary=asan_binary(), web=True)
PORTAL = f"https://127.0.0.1:{gw.web_port}"
gw.write_config('internal_domains = ["demo.test"];\n'
                f'pdf = {{ portal_url = "{PORTAL}"; reply_max_bytes = 200000; }};\n')
policy = os.path.join(tmp, "pdf.policy")
open(policy, "w").write('settings = { methods = ["smime", "pgp", "pdf"]; };\n'
                        'rules = ( { name = "plain"; if = { direction = "outgoing"; to = "dave@other.example"; }; '
                        'then = ( "deliver" ); },\n'
                        '{ name = "out"; if = { direction = "outgoing"; }; then = ( "encrypt", "deliver" ); '
                        'fallback = "hold"; }, { name = "rest"; then = ( "deliver" ); } );\n')


def send(msg, mail_from, rcpts, expect):
    before = sink_files(gw)
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(mail_from, rcpts, msg.as_bytes(policy=email.policy.SMTP))
    return delivered_since(gw, before, expect)


def queued(gw_):
    return sum(len(os.listdir(os.path.join(gw_.spool, st))) for st in ("incoming", "active", "outgoing"))


def link_of(rcpt, subject):
    """Mails alice -> rcpt (pdf method): (token, password) from the PDF and alice's notice."""
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "alice@demo.test", rcpt, subject
    m.set_content("Second pair.\n")
    got = send(m, "alice@demo.test", [rcpt], expect=2)
    c = (got.get(rcpt) or [None])[0]
    pw_ = re.search(rb"The password is: ([A-Za-z0-9]{20})\r?$", (got.get("alice@demo.test") or [b""])[0], re.M)
    pdf_ = [p.get_payload(decode=True) for p in email.message_from_bytes(c or b"", policy=email.policy.default).walk()
            if p.get_content_type() == "application/pdf"]
    if not pdf_ or not pw_:
        return None, None
    path = os.path.join(tmp, rcpt + ".pdf")
    open(path, "wb").write(pdf_[0])
    txt_ = subprocess.run(["pdftotext", "-upw", pw_.group(1).decode(), path, "-"], capture_output=True).stdout.decode()
    m_ = re.search(re.escape(PORTAL) + r"/reply/(1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})", re.sub(r"\s+", "", txt_))
    return (m_.group(1) if m_ else None), pw_.group(1).decode()


def check_copy(got, pw, marker, attachments, label):
    """bob's copy of his answer: a PDF that opens with the pair's password, with the text and the
    attachments, and not without it."""
    copy = (got.get("bob@partner.example") or [None])[0]
    pdfs = [p.get_payload(decode=True) for p in email.message_from_bytes(copy or b"", policy=email.policy.default).walk()
            if p.get_content_type() == "application/pdf"]
    path = os.path.join(tmp, f"copy-{label}.pdf")
    open(path, "wb").write(pdfs[0] if pdfs else b"")
    r = subprocess.run(["pdftotext", "-upw", pw, path, "-"], capture_output=True)
    d = os.path.join(tmp, f"copy-{label}")
    os.makedirs(d, exist_ok=True)
    subprocess.run(["pdfdetach", "-saveall", "-upw", pw, "-o", d, path], capture_output=True)
    files = {n: open(os.path.join(d, n), "rb").read() for n in os.listdir(d)}
    t.ok(copy is not None and pdfs and r.returncode == 0 and marker in r.stdout.decode() and files == attachments
         and subprocess.run(["pdftotext", path, "-"], capture_output=True).returncode != 0,
         f"{label}: bob gets a copy of his answer as a PDF under the same password, with its attachments",
         repr(got.keys()) + r.stderr.decode() + repr(list(files)))


def browser_part(token, pw, alt, old):
    """The pages in a real headless Chromium (sgbrowser)."""
    why = sgbrowser.available()
    if why:
        t.skip("the reply portal in Chromium", why)
        return
    from selenium.webdriver.common.by import By
    d = sgbrowser.browser()
    try:
        def main_text():
            return d.find_element(By.TAG_NAME, "main").text

        def click_submit():
            """Submits the form and waits for the next page (the old one gone)."""
            from selenium.webdriver.support import expected_conditions as EC
            from selenium.webdriver.support.ui import WebDriverWait
            old_main = d.find_element(By.TAG_NAME, "main")
            d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            WebDriverWait(d, 60).until(EC.staleness_of(old_main))

        def sign_in(tok, password):
            d.get(f"{PORTAL}/reply/{tok}")
            d.find_element(By.ID, "password").send_keys(password)
            click_submit()
            return main_text()

        for label, tok, want, shot in (("an altered token", alt, "not valid", "reply-altered"),
                                       ("an expired token", old, "expired", "reply-expired")):
            d.get(f"{PORTAL}/reply/{tok}")
            t.ok(want in main_text() and not d.find_elements(By.ID, "password"),
                 f"{label} gives a clear page and nothing else", main_text())
            d.save_screenshot(os.path.join(OUT, shot + ".png"))
        d.get(f"{PORTAL}/reply/{token}")
        t.ok("alice@demo.test" in main_text() and d.find_elements(By.ID, "password"),
             "the Reply link shows a sign-in asking for the PDF password", main_text())
        d.save_screenshot(os.path.join(OUT, "reply-signin.png"))
        same = "The password is not right, or there were too many attempts"
        first = sign_in(token, "wrong-password-123")
        t.ok(same in first and d.find_elements(By.ID, "password"), "a wrong password is refused", first)
        d.save_screenshot(os.path.join(OUT, "reply-wrong.png"))
        # a second pair is locked out after a few failures: then its right password gets the same answer
        tok2, pw2 = link_of("carol@partner.example", "For carol")
        answers = [sign_in(tok2, f"wrong-{i}-password") for i in range(4)] if tok2 else []
        locked = sign_in(tok2, pw2) if tok2 else ""
        t.ok(tok2 and all(same in a for a in answers) and same in locked and not d.find_elements(By.ID, "text"),
             "after a few failures the pair is locked: even its right password gets the same answer", locked)
        got_in = sign_in(token, pw)
        t.ok(d.find_elements(By.ID, "text") and "bob@partner.example" in got_in,
             "the right password opens the answer form (the other pair's lock does not touch this one)", got_in)
        d.save_screenshot(os.path.join(OUT, "reply-compose.png"))
        fake_pdf = os.path.join(tmp, "scan.txt")
        open(fake_pdf, "wb").write(b"%PDF-1.4\n1 0 obj <<>> endobj\n")
        d.find_element(By.ID, "text").send_keys("with a PDF")
        d.find_element(By.ID, "files").send_keys(fake_pdf)
        click_submit()
        t.ok("PDF files cannot be sent here" in main_text(), "a PDF upload is refused (by its bytes, named .txt)",
             main_text())
        d.save_screenshot(os.path.join(OUT, "reply-pdf-refused.png"))
        att = os.path.join(tmp, "Angebot Rückfragen.txt")
        open(att, "wb").write(b"question 1\nquestion 2\n")
        before = sink_files(gw)
        d.find_element(By.ID, "text").send_keys("Dear Alice,\nhere are my questions. BROWSER-ANSWER-MARKER\nBob")
        d.find_element(By.ID, "files").send_keys(att)
        d.save_screenshot(os.path.join(OUT, "reply-compose-filled.png"))
        click_submit()
        t.ok("Your answer was sent to alice@demo.test" in main_text(), "Send shows a confirmation", main_text())
        d.save_screenshot(os.path.join(OUT, "reply-sent.png"))
        got = delivered_since(gw, before, 2)
        mail = (got.get("alice@demo.test") or [None])[0]
        msg = email.message_from_bytes(mail or b"", policy=email.policy.default)
        atts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()} if mail else {}
        body = msg.get_body(("plain",)) if mail else None
        t.ok(mail is not None and msg["X-Sealgate-Origin"] == "pdf-reply" and body is not None
             and "BROWSER-ANSWER-MARKER" in body.get_content()
             and atts == {"Angebot Rückfragen.txt": b"question 1\nquestion 2\n"},
             "alice's mailbox gets the answer written in the browser, its attachment, X-Sealgate-Origin: pdf-reply",
             repr(got.keys()) + repr(list(atts)))
        check_copy(got, pw, "BROWSER-ANSWER-MARKER", {"Angebot Rückfragen.txt": b"question 1\nquestion 2\n"}, "browser")
        errs = sgbrowser.console_errors(d)  # the log is read once: reading empties it
        t.ok(not [e for e in errs if "responded with a status of 4" not in e],
             "no console errors (but the refusals' own 4xx answers)", repr(errs))
    finally:
        d.quit()


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    n = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", policy)
    t.ok(r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > n, 10),
         "a policy with methods [smime, pgp, pdf] is loaded", r.stdout + r.stderr)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "alice@demo.test", "bob@partner.example", "Offer"
    m["Message-ID"] = "<offer-42@demo.test>"
    m.set_content("Please find our offer. REPLY-TEST-BODY\n")
    got = send(m, "alice@demo.test", ["bob@partner.example"], expect=2)
    carrier = (got.get("bob@partner.example") or [None])[0]
    notice = (got.get("alice@demo.test") or [None])[0]
    pw = re.search(rb"The password is: ([A-Za-z0-9]{20})\r?$", notice or b"", re.M)
    pdf = None
    if carrier:
        for part in email.message_from_bytes(carrier, policy=email.policy.default).walk():
            if part.get_content_type() == "application/pdf":
                pdf = part.get_payload(decode=True)
    t.ok(pdf is not None and pw is not None, "bob gets a PDF, alice the password", repr(got.keys()))
    pw = pw.group(1).decode() if pw else ""
    pdf_path = os.path.join(tmp, "m.pdf")
    open(pdf_path, "wb").write(pdf or b"")
    txt = subprocess.run(["pdftotext", "-upw", pw, pdf_path, "-"], capture_output=True).stdout.decode()
    # pdftotext may break the URL across lines (and mark a break with '-'): joined again
    flat = re.sub(r"\s+", "", txt)
    link = re.search(re.escape(PORTAL) + r"/reply/(1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})", flat)
    t.ok(link is not None, "pdftotext -upw shows the Reply link", txt[-500:])
    token = link.group(1) if link else ""
    sock = os.path.join(gw.base, "run", "control.sock")
    t.ok(wait_for(lambda: os.path.exists(sock), 10), "cryptd serves the control socket", "")

    mtype, f = ctl(sock, "reply.check", {"token": token})
    ans = json.loads(f.get(6, "null")) if mtype == 2 else {}
    t.ok(mtype == 2 and ans.get("sender") == "alice@demo.test" and ans.get("rcpt") == "bob@partner.example"
         and ans.get("msgid") == "offer-42@demo.test", "reply.check answers sender, partner and Message-ID", repr(f))
    alt = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    mtype, f = ctl(sock, "reply.check", {"token": alt})
    t.ok(mtype == 3 and f.get(7) == "refused", "an altered token is refused", repr(f))
    kek = open(os.path.join(gw.base, "keys", "kek"), "rb").read()
    old = forge_token(kek, int(time.time()) - 60, "alice@demo.test", "bob@partner.example", "offer-42@demo.test")
    good = forge_token(kek, int(time.time()) + 3600, "alice@demo.test", "bob@partner.example", "offer-42@demo.test")
    mtype, f = ctl(sock, "reply.check", {"token": good})
    t.ok(mtype == 2, "the test signs tokens as cryptd does (the key derived from the KEK)", repr(f))
    mtype, f = ctl(sock, "reply.check", {"token": old})
    t.ok(mtype == 3 and f.get(7) == "expired", "an expired token is told apart (expired)", repr(f))
    mtype, f = ctl(sock, "reply.check", {"token": token, "extra": 1})
    t.ok(mtype == 3 and f.get(7) == "invalid_argument", "an unknown argument is refused", repr(f))

    before_q = queued(gw)
    for label, att in (("by type", {"name": "x.bin", "type": "application/pdf", "data": base64.b64encode(b"abc").decode()}),
                       ("by magic", {"name": "x.txt", "type": "text/plain", "data": base64.b64encode(pdf[:2000] if pdf else b"%PDF-1.7").decode()})):
        mtype, f = ctl(sock, "reply.submit", {"token": token, "text": "x", "attachments": [att]})
        t.ok(mtype == 3 and f.get(7) == "invalid_argument" and f.get(9) == "attachments",
             f"a PDF upload ({label}) is refused", repr(f))
    mtype, f = ctl(sock, "reply.submit", {"token": old, "text": "late"})
    t.ok(mtype == 3 and f.get(7) == "expired", "reply.submit with an expired token is refused", repr(f))
    mtype, f = ctl(sock, "reply.submit", {"token": alt, "text": "forged"})
    t.ok(mtype == 3 and f.get(7) == "refused", "reply.submit with an altered token is refused", repr(f))
    t.ok(queued(gw) == before_q, "nothing was queued by the refused requests", "")

    before = sink_files(gw)
    att_bytes = b"attached numbers 1,2,3\n" + os.urandom(64)
    answer = "Thank you, Alice. Grüße — REPLY-ANSWER-MARKER\n"
    mtype, f = ctl(sock, "reply.submit", {"token": token, "text": answer, "attachments": [
        {"name": "zahlen ü.csv", "type": "text/csv", "data": base64.b64encode(att_bytes).decode()}]})
    ans = json.loads(f.get(6, "null")) if mtype == 2 else {}
    t.ok(mtype == 2 and ans.get("queue_id") and ans.get("copy_queue_id"),
         "reply.submit queues the answer, and the partner's copy", repr(f))
    got = delivered_since(gw, before, 2)
    mail = (got.get("alice@demo.test") or [None])[0]
    msg = email.message_from_bytes(mail or b"", policy=email.policy.default)
    body = msg.get_body(("plain",)) if mail else None
    atts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()} if mail else {}
    t.ok(mail is not None and msg["X-Sealgate-Origin"] == "pdf-reply", "alice receives the answer with "
         "X-Sealgate-Origin: pdf-reply", repr(got.keys()) + gw.log_text()[-1500:])
    t.ok(mail is not None and "bob@partner.example" in msg["From"] and msg["In-Reply-To"] == "<offer-42@demo.test>"
         and body is not None and body.get_content() == answer, "From bob, In-Reply-To the message, the text as written",
         (mail or b"")[:1200].decode(errors="replace"))
    t.ok(atts == {"zahlen ü.csv": att_bytes}, "the attachment arrives byte for byte with its name", repr(list(atts)))
    check_copy(got, pw, "REPLY-ANSWER-MARKER", {"zahlen ü.csv": att_bytes}, "reply.submit")
    r = gw.cli("audit", "list", "--json")
    t.ok("reply.submit" in r.stdout and "bob@partner.example -> alice@demo.test" in r.stdout,
         "reply.submit is audited with the pair as target", r.stdout[-600:])

    browser_part(token, pw, alt, old)

    # an internal sender cannot stamp the origin by SMTP
    fake = EmailMessage()
    fake["From"], fake["To"], fake["Subject"] = "carol@demo.test", "alice@demo.test", "not from the portal"
    fake["X-Sealgate-Origin"] = "pdf-reply"
    fake.set_content("FAKE-ORIGIN-MARKER\n")
    got = send(fake, "carol@demo.test", ["alice@demo.test"], expect=1)
    d = (got.get("alice@demo.test") or [b""])[0]
    t.ok(b"FAKE-ORIGIN-MARKER" in d and b"X-Sealgate-Origin" not in d,
         "an X-Sealgate-Origin written by an internal sender is removed", d[:600].decode(errors="replace"))
    # ... nor on mail to the outside (delivered in the clear by the rule "plain")
    fake.replace_header("To", "dave@other.example")
    fake["x-sealgate-ORIGIN"] = "pdf-reply"
    got = send(fake, "carol@demo.test", ["dave@other.example"], expect=1)
    d = (got.get("dave@other.example") or [b""])[0]
    t.ok(b"FAKE-ORIGIN-MARKER" in d and b"x-sealgate-origin" not in d.lower(),
         "... nor on outgoing mail, in any case of the name", d[:600].decode(errors="replace"))
    errors = gw.sanitizer_reports()
    t.ok(not errors, "no sanitizer reports in the gateway log", "\n".join(errors[:20]))
finally:
    gw.cleanup()
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
