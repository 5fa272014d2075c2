"""sgweb - a client for the web role's portal and REST API over HTTPS (stdlib only), for the
web suites (test_web_api.py, test_web_portal.py, test_jobs.py). The gateway's certificate is self-signed:
the tests accept it, and only here. Owner: src/web (tests)."""
import http.client
import json
import os
import re
import shutil
import ssl
import urllib.parse

from sgtest import gpg_runner


def chromium():
    """Debian's headless Chromium through chromedriver (selenium), for the portal's browser tests:
    the gateway's self-signed certificate accepted, the console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    o.add_argument("--headless=new")
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    o.add_argument("--ignore-certificate-errors")  # the gateway's self-signed certificate: tests only
    o.add_argument("--window-size=1360,860")
    o.add_argument("--disable-gpu")
    o.add_argument("--disable-dev-shm-usage")
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given, so selenium never tries to download one.
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=o)


def import_dave(gw):
    """A key pair for dave@example.net made with gpg (a correspondent's), its public part
    imported with `sealgate key import`: the CompletedProcess of the import."""
    gpg = gpg_runner(os.path.join(gw.dir, "gpg"))
    gpg("--quick-gen-key", "Dave <dave@example.net>", "ed25519", "sign,cert", "never")
    gpg("--quick-add-key", gpg("--list-keys", "--with-colons", "dave@example.net").stdout.decode()
        .split("fpr:::::::::")[1].split(":")[0], "cv25519", "encr", "never")
    with open(os.path.join(gw.dir, "dave.asc"), "wb") as f:
        f.write(gpg("--armor", "--export", "dave@example.net").stdout)
    return gw.cli("key", "import", os.path.join(gw.dir, "dave.asc"))


def first_admin(gw, name, role="administrator"):
    """`sealgate admin add NAME --role ROLE --must-change=false`: the generated password it prints,
    or None. The forced change at first sign-in is test_web_portal's and test_web_api's; other
    tests sign in straight to the dashboard and the API."""
    r = gw.cli("admin", "add", name, "--role", role, "--must-change=false")
    m = re.search(r"password[^\n]*?:\s*(\S+)", r.stdout + r.stderr)
    return m.group(1) if r.returncode == 0 and m else None


def unverified():
    """A TLS context that accepts the gateway's self-signed certificate: for the tests only."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def text(self):
        return self.body.decode("utf-8", "replace")

    def error_code(self):
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


class Client:
    """One browser-like client: keeps the cookies the portal sets."""

    def __init__(self, port, host="127.0.0.1"):
        self.port, self.host = port, host
        self.cookies = {}
        self.bearer = None

    def request(self, method, path, body=None, headers=None, form=None, json_body=None, raw_headers=None):
        h = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.bearer:
            h["Authorization"] = "Bearer " + self.bearer
        c = http.client.HTTPSConnection(self.host, self.port, context=unverified(), timeout=60)
        try:
            c.putrequest(method, path)
            for k, v in h.items():
                c.putheader(k, v)
            for k, v in raw_headers or []:
                c.putheader(k, v)
            if body is not None and "Content-Length" not in h and not any(k == "Transfer-Encoding" for k, _ in raw_headers or []):
                c.putheader("Content-Length", str(len(body)))
            c.endheaders()
            if body is not None:
                c.send(body)
            r = c.getresponse()
            a = Answer(r.status, r.getheaders(), r.read())
        finally:
            c.close()
        for v in a.headers_all("Set-Cookie"):
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in v or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return a

    def login(self, name, password):
        """Signs in through the form (with its double-submit token); the answer of the POST."""
        page = self.request("GET", "/login")
        m = re.search(r'name="pre" value="([0-9a-f]+)"', page.text())
        return self.request("POST", "/login", form={"pre": m.group(1) if m else "", "name": name,
                                                    "password": password})

    def first_sign_in(self, name, onetime, new):
        """Signs in with a one-time password and sets new on the Account page, as the portal
        asks before anything else (issue 18); signs in again with new. True when it worked."""
        if self.login(name, onetime).status != 303:
            return False
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', self.request("GET", "/account").text())
        a = self.request("POST", "/account", form={"csrf": m.group(1) if m else "", "action": "password",
                                                   "current_password": onetime, "password": new,
                                                   "password_again": new})
        return a.status == 303 and self.login(name, new).status == 303

    def csrf(self):
        """The session's CSRF token, read from a page as a browser would."""
        m = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)"', self.request("GET", "/").text())
        return m.group(1) if m else None

    def api(self, method, path, json_body=None, csrf=None, **kw):
        h = {"X-CSRF-Token": csrf} if csrf else {}
        return self.request(method, path, json_body=json_body, headers=h, **kw)
