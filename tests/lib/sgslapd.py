"""A private slapd for the tests (Debian's slapd, never the system instance): its own slapd.conf
(slapd -f, no cn=config, no debconf) and mdb database in a temp dir, a test CA and a server
certificate for 127.0.0.1 made by openssl, listening on a free port (tests/lib/ports.py) for
ldap:// (StartTLS) and ldaps://. Entries are loaded with slapadd before it starts; stop() and
start() again for "server down". Owner: tests (LDAP key discovery)."""
import base64
import os
import subprocess
import time

from ports import free_port
from sgtest import stop_process

SUFFIX = "dc=ldap,dc=test"
ADMIN = "cn=admin," + SUFFIX
# pgpKey is not in Debian's schemas: a minimal one (private test OIDs), binary, on an auxiliary class.
PGP_SCHEMA = """attributetype ( 1.3.6.1.4.1.99999.13.1 NAME 'pgpKey'
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
objectclass ( 1.3.6.1.4.1.99999.13.2 NAME 'pgpKeyHolder' SUP top AUXILIARY MAY pgpKey )
"""


def _run(*args, input=None, env=None):
    return subprocess.run(list(args), input=input, capture_output=True, timeout=120, env=env)


class Slapd:
    def __init__(self, tmp, password="s3cret-bind"):
        self.dir = os.path.join(tmp, "slapd")
        os.makedirs(os.path.join(self.dir, "db"), mode=0o700)
        self.port, self.tls_port = free_port(), free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_uri = f"ldaps://127.0.0.1:{self.tls_port}"
        self.password = password
        self.proc = None
        p = self.path
        self.ca = p("ca.pem")
        _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
             "2", "-subj", "/CN=sealgate test LDAP CA", "-keyout", p("ca.key"), "-out", self.ca)
        _run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
             "/CN=127.0.0.1", "-keyout", p("srv.key"), "-out", p("srv.csr"))
        with open(p("ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self.made = _run("openssl", "x509", "-req", "-in", p("srv.csr"), "-CA", self.ca, "-CAkey", p("ca.key"),
                         "-CAcreateserial", "-days", "2", "-extfile", p("ext"), "-out", p("srv.pem"))
        with open(p("pgp.schema"), "w") as f:
            f.write(PGP_SCHEMA)
        with open(p("password"), "w") as f:
            f.write(password + "\n")
        with open(p("slapd.conf"), "w") as f:
            f.write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {p("pgp.schema")}
pidfile {p("slapd.pid")}
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {self.ca}
TLSCertificateFile {p("srv.pem")}
TLSCertificateKeyFile {p("srv.key")}
database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ADMIN}"
rootpw {password}
directory {p("db")}
access to * by dn.exact="{ADMIN}" read by * none
""")

    def path(self, n):
        return os.path.join(self.dir, n)

    def load(self, entries):
        """entries: list of (dn, [(attr, value-bytes-or-str)]); values that are bytes go base64."""
        out = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: test\ndc: ldap\n"]
        for dn, attrs in entries:
            lines = [f"dn: {dn}"]
            for a, v in attrs:
                if isinstance(v, bytes):
                    lines.append(f"{a}:: {base64.b64encode(v).decode()}")
                else:
                    lines.append(f"{a}: {v}")
            out.append("\n".join(lines) + "\n")
        return _run("slapadd", "-f", self.path("slapd.conf"), "-l", "/dev/stdin", input="\n".join(out).encode())

    def start(self):
        self.proc = subprocess.Popen(["slapd", "-d", "0", "-f", self.path("slapd.conf"), "-h",
                                      f"{self.uri}/ {self.ldaps_uri}/"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.path("slapd.log"), "ab"))
        for _ in range(100):  # until it answers a StartTLS search as the admin
            r = _run("ldapsearch", "-ZZ", "-H", self.uri, "-x", "-D", ADMIN, "-w", self.password, "-b", SUFFIX,
                     "-s", "base", "dn", env=dict(os.environ, LDAPTLS_CACERT=self.ca)) if self.proc.poll() is None else None
            if r is not None and r.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        stop_process(self.proc)
        self.proc = None
