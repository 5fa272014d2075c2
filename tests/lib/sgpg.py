#!/usr/bin/env python3
"""sgpg - a private, unprivileged PostgreSQL 15 instance for the tests. Owner: tests (for
src/store/pg).

initdb in a temporary directory as a non-root user (run as root, the directory is given to the
`postgres` system user of the Debian package, or `nobody`, and the server runs as that user),
listening on a Unix socket in that directory and on a free loopback port, stopped (and the
directory removed) at the end. Connections from loopback as the superuser `postgres` are
trusted (for test set-up); `Pg.add_user` makes a role that must give its password
(scram-sha-256), for the password-file path.

As a module:  with Pg() as pg: pg.uri("db")  (pg.createdb, pg.psql, pg.stop_server/start_server;
pg.replica() a streaming replica made with pg_basebackup -R, replica.promote() for a fail-over)
As a command: sgpg.py run -- CMD...  runs CMD with SEALGATE_TEST_STORE=postgresql://postgres@
127.0.0.1:PORT (no database: each store test makes its own, tests/unit/store_side.h);
sgpg.py units BUILD TEST...  runs the unit tests BUILD/tests/unit/TEST so against one server
(the `store-pg` suite of tests/run-all), failing when any exits non-zero.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

BIN = "/usr/lib/postgresql/15/bin"


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_port as _free_port  # noqa: E402  (below the ephemeral range)


def _server_user():
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise RuntimeError("no unprivileged user (postgres or nobody) to run PostgreSQL as")


class Pg:
    def __init__(self, primary=None):
        """A new server; with primary, a streaming replica of it (pg_basebackup -R: a standby that
        follows the primary until promote())."""
        if not os.path.exists(f"{BIN}/initdb"):
            raise RuntimeError(f"PostgreSQL 15 is not installed ({BIN}/initdb): scripts/deps.sh")
        self.user = _server_user()
        self.dir = tempfile.mkdtemp(prefix="sg-pg-")
        os.chmod(self.dir, 0o700)
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        if primary:  # the base backup brings pg_hba.conf, the roles and the databases along
            self._run([f"{BIN}/pg_basebackup", "-D", self.data, "-R", "-X", "stream", "--no-sync",
                       "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"])
            self.start_server()
            return
        self._run([f"{BIN}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                   "--no-sync", "-E", "UTF8", "--locale=C"])
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "host all postgres 127.0.0.1/32 trust\n"
                    "host replication postgres 127.0.0.1/32 trust\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n")
        if self.user:
            os.chown(os.path.join(self.data, "pg_hba.conf"), self.user.pw_uid, self.user.pw_gid)
        self.start_server()

    def replica(self):
        """A streaming replica of this server, on a port of its own."""
        return Pg(primary=self)

    def promote(self):
        """Makes a replica the primary (pg_ctl promote, waiting until it accepts writes)."""
        self._run([f"{BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "promote"])

    def _run(self, argv, check=True, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.PIPE)
        if self.user:
            kw["user"] = self.user.pw_uid
            kw["group"] = self.user.pw_gid
            kw["extra_groups"] = []
        r = subprocess.run(argv, cwd=self.dir, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {r.stderr.decode(errors='replace')}")
        return r

    def start_server(self):
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run([f"{BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"),
                   "-o", opts, "-w", "-t", "60", "start"])

    def stop_server(self):
        self._run([f"{BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"], check=False)

    def base(self, user="postgres"):
        return f"postgresql://{user}@127.0.0.1:{self.port}"

    def uri(self, db, user="postgres"):
        return f"{self.base(user)}/{db}"

    def psql(self, sql, db="postgres"):
        """Runs sql as the superuser; returns its output (unaligned, tuples only)."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.uri(db),
                            "-c", sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        return r.stdout.strip()

    def createdb(self, name, owner="postgres"):
        self.psql(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        return self.uri(name)

    def add_user(self, name, password):
        self.psql(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")

    def log(self):
        try:
            with open(os.path.join(self.dir, "log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        self.stop_server()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def units(build, names):
    rc = 0
    with Pg() as pg:
        env = dict(os.environ, SEALGATE_TEST_STORE=pg.base())
        for n in names:
            print(f"# {n} against PostgreSQL", flush=True)
            exe = os.path.join(build, "tests", "unit", n)
            r = subprocess.run([exe], env=env)
            if r.returncode != 0:
                print(f"not ok - {n} exited with {r.returncode}", flush=True)
                rc = 1
    return rc


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "units":
        return units(sys.argv[2], sys.argv[3:])
    if len(sys.argv) < 3 or sys.argv[1] != "run" or "--" not in sys.argv:
        print("usage: sgpg.py run -- CMD... | sgpg.py units BUILD TEST...", file=sys.stderr)
        return 2
    cmd = sys.argv[sys.argv.index("--") + 1:]
    with Pg() as pg:
        env = dict(os.environ, SEALGATE_TEST_STORE=pg.base())
        return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
