"""A private redis-server on loopback, for the campaign memory's tests and
benchmark.

Debian's real redis-server, started on a free port of 127.0.0.1 with its
own directory, no persistence and no configuration file of the machine's
(/etc/redis is never read): what rspamd talks to in the tests is what an
operator runs.  A tiny RESP client (no Python Redis library is packaged
with the tests' dependencies) lets the tests look at and poison the store.

    with Redis(state_dir) as r:
        r.cmd("SET", "k", "v")
"""

import os
import shutil
import socket
import subprocess
import time

from .rspamd_private import free_port, stop_process


class RespError(Exception):
    """An error reply of Redis (-ERR ..., -OOM ...)."""


class Redis:
    def __init__(self, state, port=None):
        self.state = os.path.abspath(state)
        self.port = port
        self.proc = None

    def start(self, timeout=30):
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed (scripts/deps.sh installs it)")
        os.makedirs(self.state, exist_ok=True)
        self.port = self.port or free_port()
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", self.state, "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", os.path.join(self.state, "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see "
                                   f"{self.state}/redis.log")
            try:
                if self.cmd("PING") == "PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout} s")

    def stop(self):
        stop_process(self.proc, timeout=10)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    # -- RESP ------------------------------------------------------------
    def cmd(self, *args):
        """One command; its reply as Python values (bytes decoded as UTF-8
        with replacement; an error reply raises RespError)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            return _read(s.makefile("rb"))

    def keys(self, pattern="*"):
        found, cursor = [], "0"
        while True:
            cursor, batch = self.cmd("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            found += batch
            if cursor == "0":
                return sorted(found)


def _read(f):
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RespError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(f) for _ in range(n)]
    raise OSError(f"unexpected reply {line[:40]!r}")
