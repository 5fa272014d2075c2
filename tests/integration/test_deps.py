#!/usr/bin/env python3
"""scripts/deps.sh installs everything the suites run, on a machine that starts with nothing.

deps.sh installs with --no-install-recommends, so a program the tests need that a listed package
only recommends (swaks' TLS module Net::SSLeay) is there on a developer's machine and missing in
CI. This suite finds the Debian package that owns each thing the tests run and checks that it is
a listed package, an Essential or `required` package of a bare Debian root, make (which the
README assumes), or pulled in by their Depends/Pre-Depends, read from dpkg's own database.
A second check keeps the table honest: every program a test starts by name must be in NEEDS.
`make fresh-check` proves the same on a real fresh root (docs/testing.md). Owner: build.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Tap  # noqa: E402

# What the suites run: (kind, name, who needs it). Commands are looked up on the system PATH.
NEEDS = [
    ("cmd", "python3", "tests/run-all and every Python suite"),
    ("cmd", "meson", "the build"), ("cmd", "ninja", "the build"), ("cmd", "cc", "the build"),
    ("cmd", "clang", "build-fuzz"), ("cmd", "pkg-config", "the build"),
    ("cmd", "openssl", "S/MIME and revocation tests"),
    ("cmd", "gpg", "OpenPGP interop"), ("cmd", "gpgconf", "OpenPGP interop"),
    ("cmd", "sqop", "OpenPGP interop"), ("cmd", "gpgsm", "S/MIME interop"),
    ("cmd", "swaks", "test_demo"), ("perl", "Net::SSLeay", "swaks --tls (test_demo)"),
    ("cmd", "postfix", "e2e"), ("cmd", "postconf", "e2e"),
    ("cmd", "smtp-source", "e2e, bench"), ("cmd", "smtp-sink", "bench"),
    ("cmd", "runuser", "privilege-drop tests"), ("cmd", "setpriv", "test_roles (spool access as each role)"),
    ("cmd", "rm", "test_certs"), ("cmd", "git", "test_fresh_check, scripts/fresh-check"),
    ("cmd", "perl", "swaks, this suite"), ("cmd", "dpkg", "this suite"), ("cmd", "dpkg-query", "this suite"),
    ("cmd", "psql", "tests/lib/sgpg.py (store-pg, test_cluster; the server is postgresql-15's)"),
    ("cmd", "clamd", "test_scan (a private clamd)"),
    ("cmd", "sigtool", "tests/lib/scanners.py (the private clamd's signature database)"), ("cmd", "rspamd", "test_scan (a private rspamd)"),
    ("cmd", "spamd", "test_scan (a private spamd, SpamAssassin's rules from the spamassassin package)"),
    ("py", "cryptography", "test_backup, test_kek_rotate (AES-GCM check of the KEK, tests/lib/sgkek.py)"),
    ("cmd", "chromium", "test_web_portal"), ("cmd", "chromedriver", "test_web_portal"),
    ("py", "selenium", "test_web_portal"),
    ("file", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "test_web_portal (text in the screenshots)"),
    ("cmd", "curl", "test_publish (fetches published keys with --resolve and --cacert)"),
    ("cmd", "wrk", "bench/web (HTTP load on the API and the dashboard)"),
    ("cmd", "qpdf", "test_pdf (encryption and structure)"), ("cmd", "pdftotext", "test_pdf (the text)"),
    ("cmd", "pdfdetach", "test_pdf (attachments)"), ("cmd", "pdftoppm", "test_pdf (first page image)"),
    ("cmd", "mutool", "test_pdf (a second reader)"),
    ("file", "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf", "the pdf method (Arabic; fonts-noto-core)"),
    ("file", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "the pdf method (CJK; fonts-noto-cjk)"),
    ("file", "/usr/include/qpdf/qpdf-c.h", "the build (libqpdf-dev)"),
    ("file", "/usr/include/cairo/cairo-pdf.h", "the build (libcairo2-dev)"),
    ("file", "/usr/include/pango-1.0/pango/pangocairo.h", "the build (libpango1.0-dev)"),
    ("file", "/usr/include/libxml2/libxml/HTMLparser.h", "the build (libxml2-dev)"),
    ("cmd", "unshare", "test_publish (gpg in a private mount namespace)"), ("cmd", "mount", "test_publish"),
    ("cmd", "slapd", "test_discovery_ldap (a private slapd)"), ("cmd", "slapadd", "test_discovery_ldap"),
    ("cmd", "ldapsearch", "test_discovery_ldap (ldap-utils)"),
]
# Optional, not in NEEDS: systemd-analyze (test_packaging skips its verify without systemd; the
# package targets install it with `scripts/deps.sh --deb`, see DEB_PKGS there).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

t = Tap()


def deps_packages():
    text = open(os.path.join(ROOT, "scripts", "deps.sh")).read()
    m = re.search(r'^PKGS="([^"]*)"', text, re.M)
    return set(m.group(1).split()) if m else set()


def installed():
    """name -> (essential, priority, provides, depends) for every installed package."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Status}\t${Essential}\t${Priority}\t"
                          "${Provides}\t${Pre-Depends}, ${Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    pkgs = {}
    for line in out.splitlines():
        name, status, ess, prio, prov, deps = line.split("\t")
        if status.endswith(" installed"):
            pkgs[name] = (ess == "yes", prio, names(prov), deps)
    return pkgs


def names(field):
    return [re.sub(r"[ :(].*", "", a.strip()) for a in field.split(",") if a.strip()]


def closure(roots, pkgs):
    providers = {}
    for name, (_, _, prov, _) in pkgs.items():
        for p in prov:
            providers.setdefault(p, name)
    todo, seen = list(roots), set()
    while todo:
        p = todo.pop()
        p = p if p in pkgs else providers.get(p)
        if p is None or p in seen:
            continue
        seen.add(p)
        for dep in pkgs[p][3].split(","):
            # apt takes the first alternative that can be had: the first installed one here.
            alts = [a for a in names(dep.replace("|", ",")) if a in pkgs or a in providers]
            if alts:
                todo.append(alts[0])
    return seen


def locate(kind, name):
    if kind == "cmd":
        path = shutil.which(name, path=SYSTEM_PATH)
        return os.path.realpath(path) if path else None
    if kind == "file":
        return os.path.realpath(name) if os.path.exists(name) else None
    if kind == "py":  # the system's python3, the one a fresh root has
        r = subprocess.run(["/usr/bin/python3", "-c", f"import {name}; print({name}.__file__)"], capture_output=True,
                           text=True)
        return os.path.realpath(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip() else None
    mod = name.replace("::", "/") + ".pm"
    r = subprocess.run(["perl", f"-M{name}", "-e", f'print $INC{{"{mod}"}}'], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 and r.stdout else None


def owner(path):
    # usrmerge: dpkg may know the file under /bin, /sbin or /lib rather than /usr/...
    for p in (path, re.sub(r"^/usr/", "/", path)):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None


pkgs = installed()
listed = deps_packages()
t.ok(bool(listed), "scripts/deps.sh has a PKGS list")
base = {n for n, (ess, prio, _, _) in pkgs.items() if ess or prio == "required"} | {"make"}
have = closure(listed | base, pkgs)
for kind, name, why in NEEDS:
    path = locate(kind, name)
    pkg = owner(path) if path else None
    t.ok(pkg in have, f"{name} ({why}) comes with scripts/deps.sh",
         "not installed after make deps" if not path else
         f"{path} belongs to no package" if not pkg else
         f"{pkg} is neither listed in deps.sh nor a Depends of what is listed")

# Programs started by name in the tests (first element of an argv literal) must be in NEEDS.
known = {n for k, n, _ in NEEDS if k == "cmd"}
started = set()
for f in glob.glob(os.path.join(ROOT, "tests", "**", "*.py"), recursive=True):
    for m in re.finditer(r'(?:subprocess\.\w+|Popen|run|check_output)\(\s*\[\s*"([^"]+)"', open(f).read()):
        started.add(os.path.basename(m.group(1)))
missing = sorted(started - known)
t.ok(not missing, "every program a test starts by name is checked here", ", ".join(missing))
t.done()
