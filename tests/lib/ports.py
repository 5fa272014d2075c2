"""ports - loopback ports for test servers that no outgoing connection can take.

A port the kernel hands out for bind(0) comes from the ephemeral range, the same range it draws
the local ports of outgoing connections from. Between the probe closing its socket and the
server binding the port, any connect() on the machine (a relay delivering, a client polling a
port) may take it, and the server fails with "Address already in use" (a fresh-clone CI run lost
test_web_api that way). Ports handed out here lie below the ephemeral range, are probed by binding
them, are never handed out twice by one process, and are reserved across processes by a lock file
held for the life of the process. Owner: tests.
"""
import fcntl
import os
import random
import socket
import tempfile

_LOW = 20000
_given = set()
_locks = []
_DIR = os.path.join(tempfile.gettempdir(), "sealgate-test-ports")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _reserve(port):
    """Takes a per-port lock file for this process's life; False when another process holds it."""
    try:
        os.makedirs(_DIR, mode=0o1777, exist_ok=True)
        fd = os.open(os.path.join(_DIR, str(port)), os.O_CREAT | os.O_RDWR, 0o666)
    except OSError:
        return True  # no lock directory: the bind probe alone still applies
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _locks.append(fd)
    return True


def _bindable(port):
    for family, addr in ((socket.AF_INET, "127.0.0.1"),):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def free_port():
    """A loopback TCP port nothing listens on, outside the ephemeral range."""
    high = max(_LOW + 1000, _ephemeral_low())
    rng = random.SystemRandom()
    for _ in range(2000):
        port = rng.randrange(_LOW, high)
        if port in _given or not _bindable(port) or not _reserve(port):
            continue
        _given.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")
