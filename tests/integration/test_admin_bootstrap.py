#!/usr/bin/env python3
"""The first administrator of a packaged install (issue 17): what debian/sealgate.postinst runs,
`sealgate prepare` then `sealgate admin bootstrap`, in a temp base directory. The password file
appears beside the configuration, mode 0600 (root's when run as root), and is the only place
the password goes: not stdout, stderr, the gateway's log or the audit trail; the account 'admin'
has the Administrator role; the password in the file signs in to the web role (and a wrong one
does not); a second run (an upgrade) keeps the account, the password and the file; a run when
another account exists makes nothing. Owner: src/cli."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, wait_port  # noqa: E402
from sgweb import Client  # noqa: E402

t = Tap()
gw = Gateway(web=True)
pwfile = os.path.join(gw.dir, "initial-admin-password")
try:
    # ---- as postinst: prepare, then bootstrap ----
    p = gw.cli("prepare")
    b1 = gw.cli("admin", "bootstrap")
    printed = p.stdout + p.stderr + b1.stdout + b1.stderr
    t.ok(b1.returncode == 0 and os.path.exists(pwfile), "admin bootstrap makes the password file beside the configuration",
         printed[-800:])
    text = open(pwfile).read() if os.path.exists(pwfile) else ""
    m = re.search(r"^password: (\S+)$", text, re.M)
    pw = m.group(1) if m else ""
    t.ok(len(pw) >= 20, "the file holds a generated password", text[:200])
    st = os.stat(pwfile) if pw else None
    t.ok(st and st.st_mode & 0o777 == 0o600, "the password file is mode 0600", oct(st.st_mode) if st else "")
    if os.geteuid() == 0:
        t.ok(st and st.st_uid == 0 and st.st_gid == 0, "as root the password file is root:root")
    url = f"https://127.0.0.1:{gw.web_port}/"
    t.ok(pwfile in b1.stdout and url in b1.stdout and url in text,
         "it prints where the password is and the portal's URL; the file names the URL", b1.stdout)
    t.ok(pw and pw not in printed, "the password is never printed")
    t.ok("change" in text and "sealgate admin passwd admin" in text, "the file says to change the password")

    r = gw.cli("admin", "list", "--json")
    accounts = json.loads(r.stdout)["items"] if r.returncode == 0 else []
    t.ok([(a["name"], a["roles"]) for a in accounts] == [("admin", ["administrator"])],
         "one account: admin with the Administrator role", r.stdout + r.stderr)

    # ---- the password signs in to the web role ----
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-800:])
    t.ok(Client(gw.web_port).login("admin", pw + "x").status != 303, "a wrong password does not sign in")
    c = Client(gw.web_port)
    a = c.login("admin", pw)
    t.ok(a.status == 303 and a.header("Location") == "/account", "the password in the file signs in as admin, "
         "straight to the Account page", f"{a.status} {a.text()[:300]}")
    # it is a one-time password: nothing else works until a new one is set
    b = c.request("GET", "/")
    e = c.api("GET", "/api/v1/status")
    t.ok(b.status == 303 and b.header("Location") == "/account" and e.status == 403
         and e.error_code() == "password_change_required",
         "the bootstrap password must be changed first: pages lead to /account, the API answers "
         "password_change_required", f"{b.status} {e.status} {e.body[:200]}")
    d = Client(gw.web_port)
    t.ok(Client(gw.web_port).first_sign_in("admin", pw, "the administrator's own password")
         and d.login("admin", "the administrator's own password").status == 303 and d.request("GET", "/").status == 200
         and Client(gw.web_port).login("admin", pw).status != 303,
         "after the change the new password signs in to the dashboard, the one-time one no more")

    # ---- a second run (an upgrade, a reinstall) changes nothing ----
    before = open(pwfile, "rb").read()
    b2 = gw.cli("admin", "bootstrap")
    r = gw.cli("admin", "list", "--json")
    names = [a["name"] for a in json.loads(r.stdout)["items"]] if r.returncode == 0 else []
    t.ok(b2.returncode == 0 and "exists already" in b2.stdout and names == ["admin"]
         and open(pwfile, "rb").read() == before, "a second bootstrap keeps the account, the file and makes no account",
         b2.stdout + b2.stderr + str(names))
    t.ok(Client(gw.web_port).login("admin", "the administrator's own password").status == 303,
         "after the second run the account's password still signs in (not reset to a new one-time one)")
    os.unlink(pwfile)  # the operator deleted it as told; a reinstall must not make a new one
    b3 = gw.cli("admin", "bootstrap")
    t.ok(b3.returncode == 0 and not os.path.exists(pwfile), "a run after the file was deleted makes no new password",
         b3.stdout + b3.stderr)

    # ---- the password in no log ----
    audit = gw.cli("audit", "list", "--json")
    t.ok("admin.add" in audit.stdout and pw not in audit.stdout, "admin.add is audited without the password",
         audit.stdout[-400:])
    gw.stop()
    t.ok(pw not in gw.log_text() and pw not in b2.stdout + b2.stderr + b3.stdout + b3.stderr,
         "the password is in neither the gateway's log nor any later output")
    store = os.path.join(gw.base, "store", "sealgate.db")
    raw = b"".join(open(f, "rb").read() for f in (store, store + "-wal") if os.path.exists(f))
    t.ok(raw and pw.encode() not in raw, "the store (and its WAL) holds the hash, not the password")
finally:
    gw.stop()
    gw.cleanup()
t.done()
