#!/usr/bin/env python3
"""Groups of internal users kept in the store, end to end over SMTP: a user with an alias and a
group are made with the CLI (`sealgate user create`, `group create`, `group add-member` by the
alias), a policy names the group (`source = "store"`) in a `from_group` rule that adds a header,
and mail sent through the gateway shows the rule applied to the user and to its alias and not to
another sender; removing the member stops it without loading the policy again (cryptd follows
the users generation). Owner: src/policy (groups), src/admin (operations)."""
import os
import pathlib
import re
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, wait_for  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-ugroups-")
NEW = os.path.join(gw.sink_dir, "new")

POLICY = """
groups = ( { name = "finance"; source = "store"; } );
rules = ( { name = "fin"; if = { from_group = "finance"; }; then = ( { add_header = "X-Group: finance"; } ); },
          { name = "rest"; then = ( { add_header = "X-Group: none"; } ); } );
"""


def sink_files():
    return set(os.listdir(NEW)) if os.path.isdir(NEW) else set()


def send(sender, subject):
    """Sends one message to an outside recipient; the delivered bytes (None when none came)."""
    before = sink_files()
    msg = (f"From: <{sender}>\r\nTo: <x@x.example>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{time.time()}@demo.test>\r\n\r\nhello\r\n").encode()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, ["x@x.example"], msg)
    if not wait_for(lambda: len(sink_files() - before) >= 1, 30):
        return None
    with open(os.path.join(NEW, sorted(sink_files() - before)[0]), "rb") as fh:
        return fh.read()


def group_header(data):
    head = re.split(rb"\r?\n\r?\n", data or b"", maxsplit=1)[0]
    m = re.search(rb"^X-Group: (\S+)\r?$", head, re.M)
    return m.group(1).decode() if m else None


def grouped(data):
    return group_header(data) == "finance"


def loads():
    return gw.log_text().count("event=policy-loaded")


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    r = gw.cli("user", "create", "alice@Demo.Test", "--name", "Alice", "--aliases", "a.l@demo.test")
    t.ok(r.returncode == 0 and "alice@demo.test" in r.stdout and "a.l@demo.test" in r.stdout,
         "user alice created with an alias (domain lower-cased)", r.stdout + r.stderr)
    r = gw.cli("user", "create", "bob@demo.test")
    t.ok(r.returncode == 0, "user bob created", r.stdout + r.stderr)
    r = gw.cli("group", "create", "finance", "--description", "Money")
    t.ok(r.returncode == 0, "group finance created", r.stdout + r.stderr)
    r = gw.cli("group", "add-member", "finance", "a.l@demo.test")
    t.ok(r.returncode == 0 and "alice@demo.test" in r.stdout, "added by the alias, the member is the user",
         r.stdout + r.stderr)
    r = gw.cli("user", "create", "a.l@demo.test")
    t.ok(r.returncode != 0 and "alias" in r.stderr, "an alias cannot become a user", r.stdout + r.stderr)
    r = gw.cli("group", "add-member", "finance", "nobody@demo.test")
    t.ok(r.returncode != 0, "a stranger cannot be added", r.stdout + r.stderr)

    n = loads()
    policy = pathlib.Path(tmp, "groups.conf")
    policy.write_text(POLICY)
    r = gw.cli("policy", "load", str(policy))
    t.ok(r.returncode == 0 and wait_for(lambda: loads() > n, 10), "a policy with a store group is in force",
         r.stdout + r.stderr)

    t.ok(grouped(send("alice@demo.test", "from alice")), "mail from the member gets the group's header")
    t.ok(grouped(send("a.l@demo.test", "from the alias")), "mail from the member's alias gets it too")
    d = send("bob@demo.test", "from bob")
    t.ok(group_header(d) == "none", "mail from a non-member takes the other rule")

    n = loads()
    r = gw.cli("group", "remove-member", "finance", "alice@demo.test")
    t.ok(r.returncode == 0, "alice removed from finance", r.stdout + r.stderr)
    t.ok(wait_for(lambda: loads() > n, 10), "cryptd reads the policy's groups again (users generation)")
    d = send("alice@demo.test", "after removal")
    t.ok(group_header(d) == "none", "after the removal the rule no longer applies to her")

    r = gw.cli("user", "list", "--match", "DEMO", "--sort", "-address", "--json")
    t.ok(r.returncode == 0 and r.stdout.find("bob@demo.test") < r.stdout.find("alice@demo.test"),
         "user list filters and sorts", r.stdout + r.stderr)
    r = gw.cli("audit", "list", "--operation", "group.member-remove", "--json")
    t.ok(r.returncode == 0 and "member=alice@demo.test" in r.stdout, "the removal is in the audit events",
         r.stdout + r.stderr)
finally:
    gw.cleanup()
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
