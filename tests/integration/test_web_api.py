#!/usr/bin/env python3
"""The web role's REST API and sign-in over HTTPS against a running gateway (issue 18): security
headers, sign-in and its lockout (the same answer for an unknown account), sessions that end
(logout, idle timeout) answer 401, a state-changing request without the CSRF token is 403 and
changes nothing, malformed JSON is 400 and an oversized body 413 with nothing changed, a bearer
token works until it is revoked, the role x operation matrix (every denied cell 403, nothing
changed, one audit event per call), /api/v1/openapi.json lists exactly the table's
operations, and the operations that need cryptd (a queue delete, key.generate, the status's
queue counts) run there over its control socket for an Administrator, one audit event each,
and are refused for an Auditor with nothing changed. Accounts (issue 18): a generated password
is a one-time one (every API call answers password_change_required until account.password); the
TOTP second factor through the API (enrol with the password again, confirm, the sign-in's code
step, a replayed code refused, a ticket bound to its browser, disable needs a code, an
Administrator's reset). Owner: src/web."""
import base64
import grp
import hashlib
import hmac
import http.client
import json
import os
import pwd
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, log_events, put_message, wait_for, wait_port  # noqa: E402
from sgweb import Client, unverified  # noqa: E402

t = Tap()
IDLE = 10  # web.session_idle of this gateway: short, to see a session expire
SECURITY = {"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Strict-Transport-Security": "max-age="}
ROLES = ["administrator", "network-operator", "user-operator", "ca-operator", "policy-operator",
         "system-operator", "auditor"]


def table_ops(gw):
    """The operation table as `sealgate admin ops` prints it: name, roles, read_only, method,
    path of every entry."""
    r = gw.cli("admin", "ops")
    return json.loads(r.stdout) if r.returncode == 0 else []


def first_admin(gw, name, role="administrator"):
    """`sealgate admin add` as the README says, then the first sign-in that replaces the one-time
    password it prints: the new password, or None."""
    r = gw.cli("admin", "add", name, "--role", role)
    m = re.search(r"password[^\n]*?:\s*(\S+)", r.stdout + r.stderr)
    if r.returncode != 0 or not m:
        return None
    new = "the first own password of " + name
    return new if Client(gw.web_port).first_sign_in(name, m.group(1), new) else None


def totp(secret, when):
    """RFC 6238 (SHA-1, 6 digits, 30 s) of a base32 secret at time when, as an authenticator app."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(when) // 30), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def audit_total(c):
    return c.api("GET", "/api/v1/events?limit=1").json()["total"]


def snapshot(c):
    """What the denied calls could change, as the administrator sees it (a session's last_seen
    moves with the administrator's own requests: only which sessions there are counts)."""
    admins, tokens, sessions = [c.api("GET", p).json()["items"] for p in (
        "/api/v1/admins", "/api/v1/tokens?limit=1000", "/api/v1/sessions?limit=1000")]
    return admins, tokens, sorted((x["id"], x["account"]) for x in sessions)


# The sanitizer build when there is one (make test builds it): the role's C code under ASan+UBSan.
PER_IP = 6  # web.max_per_ip of this gateway
gw = Gateway(web=f"session_idle = {IDLE}; max_body = 65536; max_per_ip = {PER_IP};", binary=asan_binary())
try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens on web.listen", gw.log_text()[-800:])
    pw = first_admin(gw, "alice")
    if not pw:
        t.fail("sealgate admin add prints a one-time password", gw.cli("admin", "add", "x", "--role", "auditor").stderr)
        raise SystemExit
    port = gw.web_port

    # ---- headers, static files, sign-in ----
    anon = Client(port)
    a = anon.request("GET", "/login")
    t.ok(a.status == 200 and all((a.header(k) or "").startswith(v) or v in (a.header(k) or "")
                                 for k, v in SECURITY.items()),
         "the sign-in page carries CSP, nosniff, DENY, no-referrer and HSTS", str(a.headers))
    css = anon.request("GET", "/static/portal.css")
    t.ok(css.status == 200 and css.header("Content-Type").startswith("text/css")
         and css.header("X-Content-Type-Options") == "nosniff", "the style sheet is served by the role")
    a = anon.request("GET", "/api/v1/status")
    t.ok(a.status == 401 and a.error_code() == "unauthenticated", "the API without session or token: 401",
         f"{a.status} {a.body[:200]}")
    t.ok(anon.request("GET", "/").status == 303, "a page without a session redirects to the sign-in")

    alice = Client(port)
    a = alice.login("alice", pw)
    cookie = [v for v in a.headers_all("Set-Cookie") if v.startswith("__Host-sealgate=")]
    t.ok(a.status == 303 and cookie and all(x in cookie[0] for x in ("Secure", "HttpOnly", "SameSite=Strict")),
         "sign-in: 303 and a Secure, HttpOnly, SameSite=Strict session cookie", str(a.headers))
    first_id = alice.cookies.get("__Host-sealgate")
    a = alice.request("GET", "/")
    t.ok(a.status == 200 and "alice" in a.text() and a.header("Cache-Control") == "no-store",
         "the dashboard as alice, not stored by caches", f"{a.status}")
    again = Client(port)
    again.login("alice", pw)
    t.ok(again.cookies.get("__Host-sealgate") not in (None, first_id), "each sign-in gets a new session id")
    csrf = alice.csrf()
    again_used = time.monotonic()

    # ---- sign-ins (argon2id, ~0.3 s each) do not hold up other requests: the daemon's threads ----
    # Three sign-ins are sent in full, then a GET: served by a thread of its own, it is answered
    # before the last sign-in is (with one thread it would wait for all three). Order, not time.
    forms = []
    for i in range(3):
        c = Client(port)
        m = re.search(r'name="pre" value="([0-9a-f]+)"', c.request("GET", "/login").text())
        forms.append((c, urllib.parse.urlencode({"pre": m.group(1) if m else "", "name": "alice", "password": pw})))
    finished, lock, sent = [], threading.Lock(), [threading.Event() for _ in forms]

    def sign_in(i):
        c, body = forms[i]
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=unverified(), timeout=120)
        try:
            conn.request("POST", "/login", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{k}={v}" for k, v in c.cookies.items())})
            sent[i].set()
            status = conn.getresponse().status
        finally:
            sent[i].set()
            conn.close()
        with lock:
            finished.append(("sign-in", status))
    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(len(forms))]
    for th in threads:
        th.start()
    for ev in sent:
        ev.wait(120)
    got = anon.request("GET", "/api/v1/openapi.json").status
    with lock:
        finished.append(("get", got))
    for th in threads:
        th.join(120)
    t.ok([s for k, s in finished if k == "sign-in"] == [303] * 3 and ("get", 200) in finished
         and finished.index(("get", 200)) < len(finished) - 1,
         "a request is answered while sign-ins are being computed (before the last of three sent before it)",
         str(finished))
    t.ok(csrf and len(csrf) == 64, "the page carries the session's CSRF token")
    a = alice.api("POST", "/api/v1/tokens", {"roles": "administrator", "label": "test"}, csrf=csrf)
    adm = Client(port)  # alice's own token: the rest of the suite does not depend on her session
    adm.bearer = a.json().get("secret") if a.status == 200 else None
    t.ok(adm.bearer, "alice makes herself an API token with her session and its CSRF token", f"{a.status} {a.body[:200]}")

    # ---- CSRF, malformed and oversized bodies: refused, nothing changed ----
    before_admins = adm.api("GET", "/api/v1/admins").json()["total"]
    before_events = audit_total(adm)
    last_id = adm.api("GET", "/api/v1/events?limit=1").json()["items"][0]["id"]
    a = alice.api("POST", "/api/v1/admins", {"name": "mallory", "roles": "administrator"})
    t.ok(a.status == 403 and a.error_code() == "forbidden", "a session's POST without X-CSRF-Token: 403",
         f"{a.status} {a.body[:200]}")
    a = alice.api("POST", "/api/v1/admins", {"name": "mallory", "roles": "administrator"}, csrf="0" * 64)
    t.ok(a.status == 403, "... and with a wrong token: 403")
    a = alice.request("POST", "/admins", form={"name": "mallory", "role": "administrator"})
    t.ok(a.status == 403, "the portal's form without its csrf field: 403", str(a.status))
    a = alice.request("POST", "/api/v1/admins", body=b'{"name": "mallory", "roles": ',
                      headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
    t.ok(a.status == 400 and a.error_code() == "invalid_argument" and "malformed JSON" in a.json()["error"]["message"],
         "malformed JSON: 400 invalid_argument saying where", f"{a.status} {a.body[:200]}")
    big = {"name": "mallory", "roles": "administrator", "pad": "x" * 70000}
    a = alice.api("POST", "/api/v1/admins", big, csrf=csrf)
    t.ok(a.status == 413, "a body over web.max_body (declared length): 413", str(a.status))
    chunk = b'{"name": "mallory", "roles": "administrator", "pad": "' + b"x" * 70000 + b'"}'
    a = alice.request("POST", "/api/v1/admins", body=b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk),
                      headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                      raw_headers=[("Transfer-Encoding", "chunked")])
    t.ok(a.status == 413, "a chunked body that grows over web.max_body: 413", str(a.status))
    t.ok(adm.api("GET", "/api/v1/admins").json()["total"] == before_admins,
         "after the refused requests no account was added")
    ev = adm.api("GET", "/api/v1/events?operation=admin.add&limit=10").json()["items"]
    t.ok(not [e for e in ev if e["id"] > last_id and e["result"] == "ok"], "no admin.add succeeded meanwhile",
         str([e for e in ev if e["id"] > last_id]))
    t.ok(audit_total(adm) > before_events, "the refused calls are in the audit log")

    # ---- lockout: the same answer for a known and an unknown account ----
    alive = []

    def attempts(name, n):
        c, out = Client(port), []
        for _ in range(n):
            out.append(c.login(name, "wrong password here"))
            alive.append(alice.request("GET", "/api/v1/version").status)  # her open session meanwhile
        return out
    known, unknown = attempts("alice", 6), attempts("nobody-such", 6)
    shape = lambda a: (a.status, re.sub(r"\d+", "N", re.sub(r'value="[0-9a-f]{32}"', "", a.text())))  # noqa: E731
    t.ok([a.status for a in known[:5]] == [401] * 5 and known[5].status == 429,
         "five wrong passwords: 401 each, then the account is locked (429)", str([a.status for a in known]))
    t.ok(all(int(a.header("Retry-After") or 0) > 0 for a in (known[5], unknown[5])),
         "the lock answer says how long to wait (Retry-After), for a known and an unknown account",
         f"{known[5].header('Retry-After')} {unknown[5].header('Retry-After')}")
    t.ok([shape(a)[0] for a in unknown] == [shape(a)[0] for a in known]
         and shape(unknown[5])[1].replace("nobody-such", "X") == shape(known[5])[1].replace("alice", "X"),
         "an unknown account answers exactly like a known one, lockout included")
    t.ok(Client(port).login("alice", pw).status == 429, "while locked even the right password is refused")
    t.ok(alive and set(alive) == {200}, "a session opened before the lockout keeps working", str(alive))
    ev = adm.api("GET", "/api/v1/events?operation=auth.login&limit=100").json()["items"]
    t.ok(sum(1 for e in ev if e["result"] != "ok") >= 13, "every failed sign-in is an audit event",
         str(len(ev)))

    # ---- sessions end: sign-out ----
    a = alice.request("POST", "/logout", form={"csrf": csrf})
    t.ok(a.status == 303 and "__Host-sealgate" not in alice.cookies, "sign-out clears the cookie", str(a.status))
    old = Client(port)
    old.cookies["__Host-sealgate"] = first_id
    a = old.api("GET", "/api/v1/version")
    t.ok(a.status == 401 and a.error_code() == "unauthenticated", "the ended session answers 401", str(a.status))
    alice = adm  # from here on alice acts through her token
    csrf = None

    # ---- a working call, then bearer tokens ----
    a = alice.api("POST", "/api/v1/admins", {"name": "bob", "roles": "auditor"}, csrf=csrf)
    bob_pw = a.json().get("password") if a.status == 200 else None
    # A generated password is a one-time one: until it is changed every call answers the stable
    # code password_change_required, and nothing but account.password runs.
    fresh = Client(port)
    fresh.login("bob", bob_pw or "")
    a = fresh.api("GET", "/api/v1/status")
    t.ok(a.status == 403 and a.error_code() == "password_change_required",
         "an account with a generated password: the API answers password_change_required", f"{a.status} {a.body[:200]}")
    t.ok(fresh.request("GET", "/queue").header("Location") == "/account", "... and pages lead to /account")
    listed = {x["name"]: x for x in alice.api("GET", "/api/v1/admins").json()["items"]}
    t.ok(listed.get("bob", {}).get("must_change") is True and listed.get("alice", {}).get("must_change") is False,
         "admin.list shows who must change the password", str(listed.get("bob")))
    if bob_pw and Client(port).first_sign_in("bob", bob_pw, "bob's own password here"):
        bob_pw = "bob's own password here"
    bobc = Client(port)
    t.ok(bobc.login("bob", bob_pw).status == 303 and bobc.api("GET", "/api/v1/version").status == 200,
         "after the change the API works")
    # A TOTP second factor through the API: enrol (password again), confirm, sign in with a code.
    bcsrf = bobc.csrf()
    a = bobc.api("POST", "/api/v1/account/totp", {"current_password": "wrong password here"}, csrf=bcsrf)
    t.ok(a.status == 401 and a.error_code() == "unauthenticated", "enrolment asks for the password again", str(a.status))
    a = bobc.api("POST", "/api/v1/account/totp", {"current_password": bob_pw}, csrf=bcsrf)
    secret = a.json().get("secret", "") if a.status == 200 else ""
    t.ok(len(secret) == 32 and a.json().get("uri", "").startswith("otpauth://totp/"),
         "enrolment answers the secret and its otpauth:// URI once", a.body[:300])
    a = bobc.api("POST", "/api/v1/account/totp/confirm", {"code": totp(secret, time.time() - 30)}, csrf=bcsrf)
    t.ok(a.status == 200 and a.json().get("state") == "active", "a code confirms it", a.body[:200])
    ev = [e for e in alice.api("GET", "/api/v1/events?actor=bob&limit=20").json()["items"]]
    t.ok(not any(secret in json.dumps(e) for e in ev) and any(e["operation"] == "account.totp-enrol" for e in ev),
         "enrolment is an audit event without the secret", str(ev[:2]))
    c2 = Client(port)
    a = c2.login("bob", bob_pw)
    m = re.search(r'name="ticket" value="([^"]+)"', a.text())
    t.ok(a.status == 200 and m and "__Host-sealgate" not in c2.cookies,
         "with a second factor the password gives a code form, no session", str(a.status))
    pre = c2.cookies.get("__Host-sealgate-pre", "")
    ticket = m.group(1).replace("&#46;", ".") if m else ""
    def code_step(code):
        return c2.request("POST", "/login", form={"pre": pre, "ticket": ticket, "code": code})
    a = code_step(totp(secret, time.time() - 30))
    t.ok(a.status == 401 and "__Host-sealgate" not in c2.cookies, "the code taken at confirmation is refused (replay)",
         str(a.status))
    a = code_step(totp(secret, time.time() + 30))
    t.ok(a.status == 303 and c2.cookies.get("__Host-sealgate") and c2.api("GET", "/api/v1/version").status == 200,
         "a fresh code signs in", str(a.status))
    a = code_step(totp(secret, time.time() + 30))
    t.ok(a.status in (401, 403) and not [v for v in a.headers_all("Set-Cookie") if v.startswith("__Host-sealgate=")],
         "the same ticket and code again open no second session", str(a.status))
    forged = Client(port)
    forged.request("GET", "/login")
    a = forged.request("POST", "/login", form={"pre": forged.cookies.get("__Host-sealgate-pre", ""),
                                               "ticket": ticket, "code": totp(secret, time.time())})
    t.ok(a.status == 303 and a.header("Location") == "/login" and "__Host-sealgate" not in forged.cookies,
         "a ticket is bound to its browser's sign-in token", str(a.status))
    a = c2.api("DELETE", "/api/v1/account/totp", {"current_password": bob_pw}, csrf=c2.csrf())
    t.ok(a.status == 400 and a.error_code() == "invalid_argument", "disabling an active factor needs a code too",
         a.body[:200])
    a = alice.api("DELETE", "/api/v1/admins/bob/totp", csrf=csrf)
    t.ok(a.status == 200 and Client(port).login("bob", bob_pw).status == 303,
         "an Administrator resets a lost second factor: the password alone signs in again", a.body[:200])
    t.ok(bob_pw, "with the token: admin.add works and returns a one-time password", f"{a.status} {a.body[:200]}")
    a = alice.api("POST", "/api/v1/tokens", {"roles": "auditor", "label": "ci", "owner": "bob"}, csrf=csrf)
    tok = a.json() if a.status == 200 else {}
    t.ok(tok.get("secret", "").startswith("sgt_"), "token.create returns the secret once", f"{a.status} {a.body[:200]}")
    robot = Client(port)
    robot.bearer = tok.get("secret")
    a = robot.api("GET", "/api/v1/events?limit=2")
    t.ok(a.status == 200 and len(a.json()["items"]) == 2, "the bearer token reads the events", f"{a.status}")
    a = robot.api("POST", "/api/v1/admins", {"name": "eve", "roles": "auditor"})
    t.ok(a.status == 403, "an auditor token cannot add accounts (no CSRF needed, still no permission)", str(a.status))
    a = alice.api("DELETE", f"/api/v1/tokens/{tok.get('id')}", csrf=csrf)
    t.ok(a.status == 200, "token.revoke", f"{a.status} {a.body[:200]}")
    a = robot.api("GET", "/api/v1/events?limit=2")
    t.ok(a.status == 401 and a.error_code() == "unauthenticated", "the revoked token stops working: 401", str(a.status))

    # ---- the role x operation matrix over HTTP ----
    ops = table_ops(gw)
    tokens = {}
    for role in ROLES:
        name = "m-" + role.split("-")[0]
        a = alice.api("POST", "/api/v1/admins", {"name": name, "roles": role})
        b = alice.api("POST", "/api/v1/tokens", {"roles": role, "owner": name, "label": "matrix"})
        if a.status == 200 and b.status == 200:
            tokens[role] = b.json()["secret"]
    t.ok(len(ops) > 20 and len(tokens) == len(ROLES), "an account and a token per role", str(list(tokens)))

    def allowed(role, op):
        """The rule of ops.h: Administrator always, Auditor what is read-only, else the entry's roles."""
        return role == "administrator" or (op["read_only"] and role == "auditor") or role in op["roles"].split(",")

    denied_ok, denied_bad, audited_bad, cells = 0, [], [], 0
    state = snapshot(alice)
    for op in ops:
        name, method = op["name"], op["method"]
        concrete = re.sub(r"\{[a-z]+\}", "bob", op["path"])
        for role, secret in tokens.items():
            if allowed(role, op):
                continue
            cells += 1
            c = Client(port)
            c.bearer = secret
            n0 = audit_total(alice)
            a = c.api(method, concrete, {} if method in ("POST", "PUT") else None)
            n1 = audit_total(alice)
            if a.status == 403 and a.error_code() == "forbidden":
                denied_ok += 1
            else:
                denied_bad.append(f"{role} {name}: {a.status}")
            if n1 - n0 != 2:  # the call's event, plus the audit.list above that counted it
                audited_bad.append(f"{role} {name}: {n1 - n0 - 1} events")
    t.ok(cells > 0 and not denied_bad, f"every denied cell of the matrix ({cells}) answers 403 forbidden",
         "; ".join(denied_bad[:10]))
    t.ok(not audited_bad, "each denied call leaves exactly one audit event", "; ".join(audited_bad[:10]))
    t.ok(snapshot(alice) == state, "the denied calls changed no account, token or session")
    read_only = [(o["name"], o["method"], o["path"]) for o in ops if o["read_only"] and "{" not in o["path"]]
    c = Client(port)
    c.bearer = tokens.get("auditor")
    bad = [n for n, m, p in read_only if c.api(m, p).status in (401, 403)]
    t.ok(not bad, "the auditor may call every read-only operation without a path argument", str(bad))

    # ---- sessions end: idle timeout ----
    idle = Client(port)
    idle.cookies["__Host-sealgate"] = again.cookies.get("__Host-sealgate", "")
    time.sleep(max(0, again_used + IDLE + 2 - time.monotonic()))
    a = idle.api("GET", "/api/v1/version")
    t.ok(a.status == 401 and a.error_code() == "unauthenticated",
         f"a session idle longer than web.session_idle ({IDLE} s) answers 401", str(a.status))

    # ---- OpenAPI from the table ----
    a = anon.request("GET", "/api/v1/openapi.json")
    doc = a.json() if a.status == 200 else {}
    listed = sorted((op["operationId"], m.upper(), p) for p, item in doc.get("paths", {}).items()
                    for m, op in item.items())
    want = sorted((o["name"], o["method"], o["path"]) for o in ops)
    t.ok(doc.get("openapi", "").startswith("3.0") and listed == want,
         f"openapi.json (OpenAPI 3.0) lists exactly the table's {len(want)} operations",
         str(set(listed) ^ set(want)))
    structural = all(
        isinstance(op.get("responses"), dict) and "200" in op["responses"] and op.get("summary")
        and all(p.get("in") in ("path", "query") and "schema" in p for p in op.get("parameters", []))
        and all(p["in"] != "path" or p["required"] is True for p in op.get("parameters", []))
        and set(re.findall(r"\{(\w+)\}", path)) == {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        for path, item in doc.get("paths", {}).items() for op in item.values())
    t.ok(structural and "securitySchemes" in doc.get("components", {}),
         "every operation has a summary, a 200 response, typed parameters and its path parameters")

    # ---- pages of a list, as the table says (limit, offset; errors name the argument) ----
    anchor = alice.api("GET", "/api/v1/events?limit=1").json()["items"][0]["id"]  # each call adds an event
    full = alice.api("GET", f"/api/v1/events?limit=5&before={anchor}").json()
    page = alice.api("GET", f"/api/v1/events?limit=2&offset=1&before={anchor}").json()
    t.ok(page["limit"] == 2 and page["offset"] == 1 and [e["id"] for e in page["items"]]
         == [e["id"] for e in full["items"][1:3]], "limit and offset page a list",
         f"{[e['id'] for e in page['items']]} vs {[e['id'] for e in full['items']]}")
    a = alice.api("GET", "/api/v1/events?limit=0")
    t.ok(a.status == 400 and a.json()["error"].get("field") == "limit", "limit=0: 400 naming the field",
         f"{a.status} {a.body[:200]}")
    a = alice.api("GET", "/api/v1/events?colour=blue")
    t.ok(a.status == 400 and a.error_code() == "invalid_argument", "an argument the table does not know: 400",
         f"{a.status} {a.body[:200]}")
    a = alice.api("DELETE", "/api/v1/events")
    t.ok(a.status == 405, "a known path with another method: 405", str(a.status))
    a = alice.api("GET", "/api/v1/nothing%20event=forged")
    t.ok(a.status == 404 and a.error_code() == "not_found", "an unknown path: 404 not_found", str(a.status))

    # ---- connection limit per client address ----
    held, refused = [], None
    for i in range(PER_IP + 1):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            tls = unverified().wrap_socket(raw, server_hostname="127.0.0.1")
            tls.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: x\r\n")  # a request left open
            held.append(tls)
            if i == PER_IP:
                tls.settimeout(10)
                refused = tls.recv(1) == b""  # closed by the server
        except socket.timeout:
            refused = False  # still open: not limited
        except (ssl.SSLError, OSError):
            refused = i == PER_IP
            raw.close()
    t.ok(len(held) >= PER_IP and refused, f"web.max_per_ip ({PER_IP}): one more connection from the address is closed",
         f"held {len(held)}, refused {refused}")
    for c in held:
        c.close()
    t.ok(wait_for(lambda: alice.api("GET", "/api/v1/version").status == 200, 10), "... and served again once they close")

    # ---- the spool and the secret operations run in cryptd, over its control socket ----
    # As root the web user can enter no spool state (test_roles.py): what the portal reads and
    # moves there is cryptd's doing, and so is key.generate (the KEK). Each call is one audit
    # event, written by cryptd (its log names the request); an Auditor's call is refused by
    # the web role before it travels and changes nothing.
    qid = put_message(gw.spool, "hold", b"From: a@demo.test\r\nSubject: held for the API\r\n\r\nheld\r\n")
    if os.geteuid() == 0:
        os.chown(os.path.join(gw.spool, "hold", qid), pwd.getpwnam("sealgate-cryptd").pw_uid,
                 grp.getgrnam("sealgate").gr_gid)
    an_hour_ago = time.time() - 3600
    os.utime(os.path.join(gw.spool, "hold", qid), (an_hour_ago, an_hour_ago))
    st = alice.api("GET", "/api/v1/status").json()
    # The age comes from the file's time, not from the queue id (no timestamp: it wraps and
    # ends in random digits; this test's ids are not even times).
    t.ok(3600 <= st["queue"]["hold"]["oldest_age"] < 3600 + 600,
         "status gives the oldest held message's age from its file (an hour)", str(st["queue"]["hold"]))
    t.ok(st["queue"]["hold"] == {"count": 1, "oldest_age": st["queue"]["hold"]["oldest_age"]}
         and st["roles"].get("cryptd", 0) > 0
         and (st["queue"]["corrupt"] is None if os.geteuid() == 0 else st["queue"]["corrupt"] is not None),
         "status counts hold/ (cryptd's answer); corrupt/, root's alone, is not readable there, never 0",
         str(st["queue"]))
    page = Client(port)
    page.login("bob", bob_pw)
    text = page.request("GET", "/queue?state=hold").text()
    t.ok(qid in text, "the queue page lists the held message (cryptd's queue.list)",
         text[text.find("<main"):][:400])
    auditor = Client(port)
    auditor.bearer = tokens.get("auditor")

    def events(op):
        """The op's events, oldest first: (result, target) (a refused call's target is not recorded)."""
        return [(e["result"], e["target"]) for e in
                reversed(alice.api("GET", f"/api/v1/events?operation={op}&limit=50").json()["items"])]

    def cryptd_ran(op):
        return [ln for ln in gw.log_text().splitlines()
                if "event=control-request" in ln and f"op={op} " in ln and "result=ok" in ln]

    a = auditor.api("DELETE", f"/api/v1/queue/{qid}")
    t.ok(a.status == 403 and a.error_code() == "forbidden" and qid in os.listdir(os.path.join(gw.spool, "hold"))
         and not cryptd_ran("queue.delete"),
         "an Auditor's queue delete: 403, the message stays, nothing reached cryptd", f"{a.status} {a.body[:200]}")
    a = alice.api("DELETE", f"/api/v1/queue/{qid}")
    ev = events("queue.delete")
    t.ok(a.status == 200 and a.json().get("moved") == [{"id": qid, "from": "hold", "to": "deleted"}]
         and qid not in os.listdir(os.path.join(gw.spool, "hold")),
         "an Administrator's queue delete through the API removes the held message", f"{a.status} {a.body[:200]}")
    t.ok(len(cryptd_ran("queue.delete")) == 1 and ev[-2:] == [("forbidden", ""), ("ok", qid)]
         and ev.count(("ok", qid)) == 1,
         "... it ran in cryptd (its log), with one audit event, beside the Auditor's refused one", str(ev))
    kim = "kim@example.net"
    a = auditor.api("POST", "/api/v1/keys/generate", {"address": kim})
    t.ok(a.status == 403 and not alice.api("GET", f"/api/v1/keys?address={kim}").json().get("items")
         and not cryptd_ran("key.generate"), "an Auditor's key.generate: 403, no key, nothing reached cryptd",
         f"{a.status} {a.body[:200]}")
    a = alice.api("POST", "/api/v1/keys/generate", {"address": kim})
    fpr = a.json().get("fpr", "") if a.status == 200 else ""
    keys = alice.api("GET", f"/api/v1/keys?address={kim}").json().get("items", [])
    t.ok(re.fullmatch(r"[0-9A-Fa-f]{40}", fpr) and len(keys) == 1, "an Administrator's key.generate makes one key",
         f"{a.status} {a.body[:200]} {keys}")
    ev = events("key.generate")
    t.ok(len(cryptd_ran("key.generate")) == 1 and ev[-2:] == [("forbidden", ""), ("ok", kim)]
         and ev.count(("ok", kim)) == 1,
         "... in cryptd (its log), with one audit event, beside the Auditor's refused one", str(ev))

    # ---- supervision: reload replaces the role new-first, a dead one is restarted ----
    old_pid = gw.role_pids().get("web")
    os.kill(gw.proc.pid, signal.SIGHUP)
    new_pid = wait_for(lambda: (lambda p: p if p and p != old_pid else None)(gw.role_pids().get("web")), 20)
    t.ok(new_pid and wait_for(lambda: alice.api("GET", "/api/v1/version").status == 200, 20),
         "SIGHUP: a new web role serves (the token still works: it lives in the store)", f"{old_pid} -> {new_pid}")
    os.kill(new_pid, signal.SIGKILL)
    again_pid = wait_for(lambda: (lambda p: p if p and p != new_pid else None)(gw.role_pids().get("web")), 20)
    t.ok(again_pid and wait_for(lambda: alice.api("GET", "/api/v1/version").status == 200, 20),
         "a killed web role is restarted by the master and serves again", f"{new_pid} -> {again_pid}")
    try:
        log_events(gw.log_text())
        parsed = ""
    except ValueError as e:
        parsed = str(e)
    t.ok(not parsed, "every log line of the run parses as one event (the access log's paths are escaped)", parsed)
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "\n".join(gw.sanitizer_reports()[:5]))
finally:
    gw.cleanup()
t.done()
