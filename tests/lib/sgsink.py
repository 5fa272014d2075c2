"""The test sink's mailbox seen by recipient: which files arrived since a snapshot, grouped by
their Delivered-To. Shared by the pdf tests (test_pdf, test_pdf_reply). Owner: tests."""
import os
import re
import time

from sgtest import wait_for


def sink_files(gw):
    new = os.path.join(gw.sink_dir, "new")
    return set(os.listdir(new)) if os.path.isdir(new) else set()


def delivered_since(gw, before, expect, timeout=40):
    """Waits for expect new files (then one more second for stragglers); {recipient: [bytes]}."""
    wait_for(lambda: len(sink_files(gw) - before) >= expect, timeout)
    time.sleep(1.0)
    out = {}
    for f in sorted(sink_files(gw) - before):
        d = open(os.path.join(gw.sink_dir, "new", f), "rb").read()
        for rcpt in re.findall(rb"^Delivered-To: (.*?)\r?$", d, re.M):
            out.setdefault(rcpt.decode(), []).append(d)
    return out
