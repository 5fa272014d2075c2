"""sgwkd - a key server for the discovery suites (docs/discovery.md): python's http.server with
ssl on a free loopback port, its certificate (every name asked for, in subjectAltName) issued by
a test CA made by openssl, answering from a table of routes and recording every request. The
gateway reaches it through `discovery.connect_to` (connect_to()) and trusts the CA through
`discovery.tls_ca_file` (ca). Used by test_discovery and test_cluster. Owner: tests."""
import http.server
import os
import ssl
import subprocess
import threading
import time

from sgtest import free_port

WKS = "/usr/lib/gnupg/gpg-wks-client"


def run(*args, input=None):
    return subprocess.run(list(args), input=input, capture_output=True, timeout=120)


def wkd_hash(addr):
    """The WKD hash of addr's local part, as gpg-wks-client computes it."""
    return run(WKS, "--print-wkd-hash", addr).stdout.decode().split()[0]


class KeyServer:
    """routes: (host, path without query) -> dict(body=, status=200, delay=0, headers={}); an
    unknown route answers 404. seen: every (host, path with query) asked, in order."""

    def __init__(self, tmp, names):
        self.names = list(names)
        self.routes, self.seen, self.lock = {}, [], threading.Lock()
        self.ca = os.path.join(tmp, "ca.pem")
        p = lambda n: os.path.join(tmp, n)  # noqa: E731
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
            "2", "-subj", "/CN=sealgate discovery test CA", "-keyout", p("ca.key"), "-out", self.ca)
        with open(p("san.ext"), "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + n for n in self.names) + "\n")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=wkd",
            "-keyout", p("srv.key"), "-out", p("srv.csr"))
        self.made = run("openssl", "x509", "-req", "-in", p("srv.csr"), "-CA", self.ca, "-CAkey", p("ca.key"),
                        "-CAcreateserial", "-days", "2", "-extfile", p("san.ext"), "-out", p("srv.pem"))
        os.chmod(self.ca, 0o644)
        ks = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                with ks.lock:
                    ks.seen.append((host, self.path))
                    r = dict(ks.routes.get((host, self.path.split("?")[0]), {"status": 404, "body": b""}))
                if r.get("delay"):
                    time.sleep(r["delay"])
                self.send_response(r.get("status", 200))
                for k, v in r.get("headers", {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(r["body"])))
                self.end_headers()
                try:
                    self.wfile.write(r["body"])
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(p("srv.pem"), p("srv.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wkd_adv(self, addr, body, **kw):
        """addr's key at the WKD advanced layout (openpgpkey.DOMAIN)."""
        local, dom = addr.split("@")
        self.routes[("openpgpkey." + dom, f"/.well-known/openpgpkey/{dom}/hu/{wkd_hash(addr)}")] = dict(body=body, **kw)

    def requests(self, host, path):
        """The requests made for host and path (without query)."""
        with self.lock:
            return [s for s in self.seen if s[0] == host and s[1].split("?")[0] == path]

    def connect_to(self):
        """The discovery.connect_to list (configuration text) sending every name here."""
        return ", ".join(f'"{n}:443:127.0.0.1:{self.port}"' for n in self.names)

    def close(self):
        self.srv.shutdown()
