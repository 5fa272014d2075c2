"""smimetest - helpers of the S/MIME test suites (test_smime_interop.py, test_smime_corpus.py):
the sg-engine test driver as Python calls, and the few MIME and CMS pieces the tests take apart.
Owner: tests (S/MIME). Byte-exact on purpose: Python's email package would re-encode."""
import base64
import os
import re
import subprocess

# openssl x509 -extfile sections for a peer CA and its RSA / EC end-entity certificates
# (the address comes from $SAN), as the interop and end-to-end suites make them.
PEER_EXT = """[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[rsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::SAN}
[ec]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::SAN}
"""


sanitizer = []  # sanitizer report lines seen in any tool's stderr


def run(cmd, input=None, cwd=None, env=None):
    r = subprocess.run(cmd, input=input, capture_output=True, timeout=120, cwd=cwd, env=env)
    sanitizer.extend(l for l in r.stderr.decode(errors="replace").splitlines()
                     if "Sanitizer" in l or "runtime error:" in l)
    return r


def engine_path(binary):
    """sg-engine next to the sealgate binary under test (build/ or build-asan/)."""
    return os.path.join(os.path.dirname(binary), "tests", "tools", "sg-engine")


def peel(engine, conf, msg, frm=None, rcpts=(), at=None, scratch="/tmp"):
    """One peel by the engine: its facts as a dict, plus 'inner' (bytes or None) and 'rc'."""
    inner = os.path.join(scratch, "inner.out")
    args = [engine, "-c", conf, "peel", "--inner", inner]
    if frm:
        args += ["--from", frm]
    for a in rcpts:
        args += ["--rcpt", a]
    if at:
        args += ["--at", str(at)]
    if os.path.exists(inner):
        os.unlink(inner)
    r = run(args, input=msg)
    d = dict(l.split("=", 1) for l in r.stdout.decode().splitlines() if "=" in l)
    d["rc"] = r.returncode
    d["stderr"] = r.stderr.decode(errors="replace")
    d["inner"] = None
    if os.path.exists(inner):
        with open(inner, "rb") as f:
            d["inner"] = f.read()
    return d


def p7m(der, smime_type):
    """An application/pkcs7-mime entity holding der."""
    b64 = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return (f"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type={smime_type}; "
            f"name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() + b64


def cms_der(msg):
    """The DER of an application/pkcs7-mime message (its base64 body)."""
    body = msg.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in msg else msg.split(b"\n\n", 1)[1]
    return base64.b64decode(re.sub(rb"\s", b"", body))


def split_signed(entity):
    """(first part exactly as signed, signature DER) of a multipart/signed entity or message."""
    m = re.search(rb'boundary="?([^";\r\n]+)"?', entity)
    nl = b"\r\n" if b"\r\n" in entity else b"\n"
    b = b"--" + m.group(1)
    first = entity.split(b + nl, 1)[1].split(nl + b, 1)[0]
    parts = entity.split(nl + b, 3)  # preamble, first, second (with its fields), closing
    second = parts[2] if len(parts) > 2 else b""
    body = second.split(nl + nl, 1)[1] if nl + nl in second else b""
    return first, base64.b64decode(re.sub(rb"\s", b"", body.split(b"--")[0]) or b"")
