#!/usr/bin/env python3
"""Key discovery for outgoing mail (issue 13, docs/discovery.md) end to end through SMTP, against
a real HTTPS server started here (python's http.server with ssl, a test CA made by openssl, on a
free port; the discovery names reach it through discovery.connect_to). Mail to a recipient whose
key is only on WKD (advanced layout, then the direct layout where openpgpkey.DOMAIN does not
resolve), on a VKS or an HKP server arrives encrypted to that key (gpg decrypts at the sink); the
request path is the hash `gpg-wks-client --print-wkd-hash` gives; a key with extra user IDs is
stored with the one; wrong address, expired, revoked and RSA-1024 keys are refused (the mail goes
as the policy's "no key" fallback says: plain); a slow server defers the mail (nothing in the
clear) until it answers, then it goes encrypted; a redirect to another host and an oversized
answer are refused (deferred, nothing in the clear); the second message uses the cache; "not
found" is cached, also per domain without WKD; `policy explain` and `key show` show the source.
Owner: src/keys (discovery)."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, gpg_decrypts, pgp_mime_encrypted, log_events, wait_for  # noqa: E402
from sgwkd import KeyServer, wkd_hash  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="sg-disc-")
os.chmod(tmp, 0o755)
GH = os.path.join(tmp, "gnupg")
os.makedirs(GH, mode=0o700)
NAMES = ["openpgpkey.wkd-a.test", "wkd-b.test", "keys.vks.test", "keys.hkp.test", "openpgpkey.slow.test",
         "openpgpkey.redir.test", "evil.test", "openpgpkey.big.test"]


def run(*args, input=None):
    return subprocess.run(list(args), input=input, capture_output=True, timeout=120)


def gpg(*args, input=None):
    return run("gpg", "--homedir", GH, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "",
               "--trust-model", "always", *args, input=input)


def path(n):
    return os.path.join(tmp, n)


# ---- the key server (test CA, certificate for every discovery name; tests/lib/sgwkd.py) ----
keysrv = KeyServer(tmp, NAMES)
t.ok(keysrv.made.returncode == 0, "test CA and server certificate made by openssl", keysrv.made.stderr.decode())
routes, seen, lock = keysrv.routes, keysrv.seen, keysrv.lock


# ---- keys (gpg) ----
def primaries():
    out = gpg("--with-colons", "--list-keys").stdout.decode()
    return set(re.findall(r"^pub:.*?\nfpr:+([0-9A-F]{40}):", out, re.M))


def genkey(uid, algo="future-default", expire="never"):
    before = primaries()
    gpg("--quick-gen-key", uid, algo, "default", expire)
    new = primaries() - before
    assert len(new) == 1, new
    return new.pop()


def export(fpr, armor=False):
    return gpg(*(["--armor"] if armor else []), "--export", fpr).stdout


keys = {}
keys["carol"] = genkey("carol@wkd-a.test")
gpg("--quick-add-uid", keys["carol"], "Carol Elsewhere <carol@else.test>")
keys["dave"] = genkey("dave@wkd-b.test")
keys["vks"] = genkey("vks@vks.test")
keys["hkp"] = genkey("hkp@hkp.test")
keys["slow"] = genkey("slow@slow.test")
keys["wrong"] = genkey("other@wkd-a.test")
keys["exp"] = genkey("exp@wkd-a.test", expire="seconds=1")
keys["rev"] = genkey("rev@wkd-a.test")
keys["weak"] = genkey("weak@wkd-a.test", algo="rsa1024")
keys["pin-old"] = genkey("pin@wkd-a.test", expire="seconds=1")  # the operator's, expired
keys["pin-new"] = genkey("pin@wkd-a.test")                      # a different key on WKD
with open(os.path.join(GH, "openpgp-revocs.d", keys["rev"] + ".rev")) as f:
    gpg("--import", input=re.sub(r"^:", "", f.read(), flags=re.M).encode())


wkd_adv, requests = keysrv.wkd_adv, keysrv.requests

wkd_adv("carol@wkd-a.test", export(keys["carol"]))
routes[("wkd-b.test", f"/.well-known/openpgpkey/hu/{wkd_hash('dave@wkd-b.test')}")] = dict(body=export(keys["dave"]))
routes[("keys.vks.test", "/vks/v1/by-email/vks%40vks.test")] = dict(body=export(keys["vks"], armor=True))
routes[("keys.hkp.test", "/pks/lookup")] = dict(body=export(keys["hkp"], armor=True))
wkd_adv("wrong@wkd-a.test", export(keys["wrong"]))
wkd_adv("exp@wkd-a.test", export(keys["exp"]))
wkd_adv("rev@wkd-a.test", export(keys["rev"]))
wkd_adv("weak@wkd-a.test", export(keys["weak"]))
wkd_adv("pin@wkd-a.test", export(keys["pin-new"]))
keys["fresh"] = genkey("fresh@wkd-a.test")
wkd_adv("fresh@wkd-a.test", export(keys["fresh"]))
wkd_adv("slow@slow.test", export(keys["slow"]), delay=6)
wkd_adv("redir@redir.test", b"", status=302, headers={"Location": "https://evil.test/key"})
wkd_adv("big@big.test", b"\x99" * 100000)


connect = keysrv.connect_to()
gw = Gateway(binary=asan_binary())
def configure(positive_ttl=604800, allow_private=True):
    gw.write_config(f'''internal_domains = ["demo.test"];
discovery = {{
  sources = ["local", "wkd"];
  timeout = 2;
  max_size = 16384;
  negative_ttl = 600;
  positive_ttl = {positive_ttl};
  allow_private = {'true' if allow_private else 'false'};
  tls_ca_file = "{keysrv.ca}";
  connect_to = [{connect}];
  domains = ( {{ domain = "vks.test"; sources = ["keyserver"]; keyservers = ["https://keys.vks.test"]; }},
              {{ domain = "hkp.test"; sources = ["local", "keyserver"]; keyservers = ["hkps://keys.hkp.test"]; }} );
}};
''')


configure()
gw.start()


def msg(rcpt, marker):
    return (f"From: alice@demo.test\r\nTo: {rcpt}\r\nSubject: discovery\r\n\r\n{marker}\r\n").encode()


def encrypted(d):
    return pgp_mime_encrypted(d)


def decrypts(d, marker):
    return gpg_decrypts(gpg, d, marker)


try:
    # WKD, advanced layout; the key carries a second user ID that must not be stored.
    d = gw.send_one("alice@demo.test", "carol@wkd-a.test", msg("carol@wkd-a.test", "to-carol-1"))
    t.ok(encrypted(d), "key only on WKD (advanced): the mail arrives PGP/MIME encrypted")
    t.ok(d is not None and decrypts(d, "to-carol-1"), "gpg decrypts it with carol's key at the sink")
    h = wkd_hash("carol@wkd-a.test")
    p = f"/.well-known/openpgpkey/wkd-a.test/hu/{h}"
    reqs = requests("openpgpkey.wkd-a.test", p)
    t.ok(len(reqs) == 1 and reqs[0][1].endswith("?l=carol"),
         f"the request path is gpg-wks-client's hash ({h}) with ?l=carol", seen)
    ks = gw.cli("key", "show", keys["carol"]).stdout
    t.ok(ks.count("  uid  ") == 1 and "carol@wkd-a.test" in ks and "else.test" not in ks,
         "the stored key has the recipient's user ID only (the other one stripped)", ks)
    t.ok(re.search(r"trust +discovered \(wkd https://openpgpkey\.wkd-a\.test/", ks) is not None,
         "key show: trust discovered, source wkd and the URL", ks)
    kl = gw.cli("key", "list", "--address", "carol@wkd-a.test").stdout
    t.ok("[discovered]" in kl, "key list marks the key discovered", kl)

    d = gw.send_one("alice@demo.test", "carol@wkd-a.test", msg("carol@wkd-a.test", "to-carol-2"))
    t.ok(encrypted(d) and decrypts(d, "to-carol-2"), "second message to carol: encrypted")
    t.ok(len(requests("openpgpkey.wkd-a.test", p)) == 1, "... and the server saw no second request")

    # WKD, direct layout: openpgpkey.wkd-b.test does not resolve.
    d = gw.send_one("alice@demo.test", "dave@wkd-b.test", msg("dave@wkd-b.test", "to-dave"))
    t.ok(encrypted(d) and decrypts(d, "to-dave"), "WKD direct layout (no openpgpkey subdomain): encrypted")
    t.ok(requests("wkd-b.test", f"/.well-known/openpgpkey/hu/{wkd_hash('dave@wkd-b.test')}"),
         "... asked at wkd-b.test/.well-known/openpgpkey/hu/HASH")

    # Key servers.
    d = gw.send_one("alice@demo.test", "vks@vks.test", msg("vks@vks.test", "to-vks"))
    t.ok(encrypted(d) and decrypts(d, "to-vks"), "VKS key server (/vks/v1/by-email/): encrypted")
    d = gw.send_one("alice@demo.test", "hkp@hkp.test", msg("hkp@hkp.test", "to-hkp"))
    t.ok(encrypted(d) and decrypts(d, "to-hkp"), "HKP key server (/pks/lookup?op=get): encrypted")
    t.ok(any("op=get&options=mr&search=hkp%40hkp.test" in s[1] for s in seen), "... with the HKP query", seen)

    # Refused keys: the lookup is definitive, "no key": the default policy's fallback (plain).
    for who, why in [("wrong", "recipient's address"), ("exp", "expired"), ("rev", "revoked"),
                     ("weak", "RSA smaller than 2048")]:
        addr = f"{who}@wkd-a.test"
        d = gw.send_one("alice@demo.test", addr, msg(addr, f"to-{who}"))
        t.ok(d is not None and not encrypted(d) and f"to-{who}".encode() in d,
             f"{who}: key refused, the policy's no-key fallback applies (plain)")
        t.ok(re.search(rf"addr={addr} source=wkd .*result=refused reason=\"[^\"]*{why}", gw.log_text()) is not None,
             f"... logged as refused: {why}")
        t.ok(gw.cli("key", "list", "--address", addr).stdout.strip() == "", f"... and not imported")

    # A verified (operator-imported) key is never replaced: the different key found is pending.
    with open(path("pin-old.pgp"), "wb") as f:
        f.write(export(keys["pin-old"]))
    r = gw.cli("key", "import", path("pin-old.pgp"))
    t.ok(r.returncode == 0 and keys["pin-old"] in r.stdout, "the operator imports pin's (expired) key", r.stdout + r.stderr)
    d = gw.send_one("alice@demo.test", "pin@wkd-a.test", msg("pin@wkd-a.test", "to-pin"))
    t.ok(re.search(rf"addr=pin@wkd-a.test fpr={keys['pin-new']} source=wkd .*result=pending", gw.log_text())
         is not None, "a different key found for a recipient with a verified key: kept pending, logged")
    kl = gw.cli("key", "list", "--address", "pin@wkd-a.test").stdout
    t.ok(keys["pin-old"] in kl and keys["pin-new"] not in kl, "... and not imported", kl)
    t.ok(d is not None and not encrypted(d), "... the recipient has no usable key: the fallback applies")

    # Not found, cached.
    d = gw.send_one("alice@demo.test", "nobody@wkd-a.test", msg("nobody@wkd-a.test", "to-nobody-1"))
    t.ok(d is not None and not encrypted(d), "404: not found, the fallback applies (plain)")
    d = gw.send_one("alice@demo.test", "nobody@wkd-a.test", msg("nobody@wkd-a.test", "to-nobody-2"))
    np = f"/.well-known/openpgpkey/wkd-a.test/hu/{wkd_hash('nobody@wkd-a.test')}"
    t.ok(d is not None and len(requests("openpgpkey.wkd-a.test", np)) == 1,
         "the negative result is cached: no second request")
    gw.send_one("alice@demo.test", "x@nowkd.test", msg("x@nowkd.test", "to-x"))
    d = gw.send_one("alice@demo.test", "y@nowkd.test", msg("y@nowkd.test", "to-y"))
    t.ok(d is not None and "addr=y@nowkd.test source=wkd result=no-wkd-for-domain cached=yes" in gw.log_text(),
         "a domain without WKD is cached: the next address there asks no WKD")

    # A slow server: deferred, nothing in the clear; encrypted once the server answers.
    before = gw.sink_files()
    fails = gw.log_text().count("event=key-lookup-failed")
    import smtplib
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", ["slow@slow.test"], msg("slow@slow.test", "to-slow"))
    t.ok(wait_for(lambda: gw.log_text().count("event=key-lookup-failed") > fails, 30),
         "slow server: the lookup did not finish within discovery.timeout, the message is deferred")
    t.ok(not (gw.sink_files() - before), "... and nothing was delivered (not sent in the clear)")
    with lock:
        routes[("openpgpkey.slow.test", f"/.well-known/openpgpkey/slow.test/hu/{wkd_hash('slow@slow.test')}")]["delay"] = 0
    new = wait_for(lambda: gw.sink_files() - before, 60)
    d = open(os.path.join(gw.sink_dir, "new", sorted(new)[0]), "rb").read() if new else None
    t.ok(encrypted(d) and decrypts(d, "to-slow"), "... and once the server answers, it goes encrypted")

    # Redirect to another host and an oversized answer: refused, deferred, nothing in the clear.
    for addr, what in [("redir@redir.test", "redirects are not followed"), ("big@big.test", "larger than")]:
        before = gw.sink_files()
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
            s.sendmail("alice@demo.test", [addr], msg(addr, "to-" + addr))
        ok = wait_for(lambda: re.search(rf"event=key-lookup-failed reason=\"key discovery for {addr}[^\"]*{what}",
                                        gw.log_text()), 30)
        t.ok(ok, f"{addr}: refused ({what}), the message is deferred")
        t.ok(not (gw.sink_files() - before), "... and nothing was delivered in the clear")
    t.ok(not [s for s in seen if s[0] == "evil.test"], "the redirect's target was never asked")

    # policy explain: the key's source and trust, and the lookups that would run.
    r = gw.cli("policy", "explain", "--from", "alice@demo.test", "--to", "carol@wkd-a.test", "--to",
               "new@wkd-a.test")
    t.ok(re.search(r"carol@wkd-a.test: [0-9A-F]{40}, trust discovered, from wkd https://", r.stdout) is not None,
         "policy explain: carol's key, trust discovered, from wkd", r.stdout + r.stderr)
    t.ok(f"new@wkd-a.test: no key; lookups that would run: wkd https://openpgpkey.wkd-a.test/.well-known/openpgpkey/"
         f"wkd-a.test/hu/{wkd_hash('new@wkd-a.test')}?l=new" in r.stdout, "... and for new@: the WKD lookup", r.stdout)
    # A discovered key past discovery.positive_ttl is looked up again; a failed refresh keeps
    # the key in hand (the mail still goes encrypted).
    gw.stop()
    configure(positive_ttl=1)
    gw.start()
    fp = f"/.well-known/openpgpkey/wkd-a.test/hu/{wkd_hash('fresh@wkd-a.test')}"
    d = gw.send_one("alice@demo.test", "fresh@wkd-a.test", msg("fresh@wkd-a.test", "fresh-1"))
    t.ok(encrypted(d) and len(requests("openpgpkey.wkd-a.test", fp)) == 1, "fresh@: found and encrypted")
    time.sleep(1.5)  # past positive_ttl
    d = gw.send_one("alice@demo.test", "fresh@wkd-a.test", msg("fresh@wkd-a.test", "fresh-2"))
    t.ok(encrypted(d) and len(requests("openpgpkey.wkd-a.test", fp)) == 2,
         "past positive_ttl: looked up again, and encrypted")
    with lock:
        routes[("openpgpkey.wkd-a.test", fp)]["status"] = 500
    time.sleep(1.5)
    d = gw.send_one("alice@demo.test", "fresh@wkd-a.test", msg("fresh@wkd-a.test", "fresh-3"))
    t.ok(encrypted(d) and decrypts(d, "fresh-3") and len(requests("openpgpkey.wkd-a.test", fp)) == 3 and
         "addr=fresh@wkd-a.test result=refresh-failed action=key-in-hand" in gw.log_text(),
         "a failed refresh: logged, the key in hand is used (encrypted)")
    # The provenance row is written before the key: a key without one counts as verified, so
    # when that write fails nothing is imported and the message waits (a trigger planted by
    # another connection refuses the row, as a broken store would; reading still works).
    keys["prov"] = genkey("prov@wkd-a.test")
    with lock:
        wkd_adv("prov@wkd-a.test", export(keys["prov"]))
    import sqlite3
    db = sqlite3.connect(os.path.join(gw.base, "store", "sealgate.db"), timeout=30)
    db.execute("CREATE TRIGGER refuse_provenance BEFORE INSERT ON pgp_provenance "
               "BEGIN SELECT RAISE(ABORT, 'provenance refused by the test'); END")
    db.commit()
    db.close()
    before = gw.sink_files()
    fails = gw.log_text().count("event=key-lookup-failed")
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", ["prov@wkd-a.test"], msg("prov@wkd-a.test", "to-prov"))
    t.ok(wait_for(lambda: gw.log_text().count("event=key-lookup-failed") > fails, 30)
         and not (gw.sink_files() - before),
         "provenance cannot be written: the message is deferred, nothing delivered")
    t.ok(keys["prov"] not in gw.cli("key", "list").stdout,
         "... and the key is not imported (it would have counted as verified)")
    # Without allow_private, the test server on 127.0.0.1 is refused: deferred, nothing asked.
    gw.stop()
    configure(allow_private=False)
    gw.start()
    n = len(seen)
    before = gw.sink_files()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", ["priv@wkd-a.test"], msg("priv@wkd-a.test", "to-priv"))
    ok = wait_for(lambda: re.search(r"event=key-lookup-failed reason=\"key discovery for priv@wkd-a.test[^\"]*"
                                    r"address not allowed", gw.log_text()), 30)
    t.ok(ok and len(seen) == n and not (gw.sink_files() - before),
         "allow_private = false: the loopback server is refused (deferred, not asked, nothing delivered)")
    gw.stop()
    try:
        ev = [dict(f) for f in log_events(gw.log_text())]
        bad = ""
    except ValueError as e:
        ev, bad = [], str(e)
    t.ok(not bad and sum(1 for e in ev if e.get("event") == "discovery") > 10,
         "every log line (the discovery events too) is one key=value event", bad)
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "; ".join(gw.sanitizer_reports()[:3]))
finally:
    gw.cleanup()
    keysrv.close()
t.done()
