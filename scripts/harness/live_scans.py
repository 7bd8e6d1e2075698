"""Scans running on threads while a test changes files under the scanner
(issue #16), for the rspamd and the SpamAssassin tests, and the ways the
tests damage a file in place."""

import random
import threading


class LiveScans:
    """Threads that run jobs until stopped: each thread cycles through
    [(name, job)], job() returning the mekiki symbols or rules of one
    answer; each answer, or the error instead, is kept with the name."""

    def __init__(self, jobs, threads):
        self.jobs = jobs
        self.results = []            # (name, symbols or None, error or None)
        self.lock = threading.Lock()
        self.answered = threading.Condition(self.lock)
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, offset):
        i = offset
        while not self.stopped.is_set():
            name, job = self.jobs[i % len(self.jobs)]
            i += 1
            try:
                syms, err = set(job()), None
            except Exception as e:  # noqa: BLE001 -- every failure is a finding
                syms, err = None, f"{type(e).__name__}: {e}"
            with self.lock:
                self.results.append((name, syms, err))
                self.answered.notify_all()

    def _count(self, name):
        return sum(1 for n, _, _ in self.results if n == name)

    def wait_each(self, more, timeout=60):
        """Wait until every job has been answered `more` more times."""
        with self.lock:
            want = {name: self._count(name) + more for name, _ in self.jobs}
            ok = self.answered.wait_for(
                lambda: all(self._count(n) >= c for n, c in want.items()), timeout)
            got = {n: self._count(n) for n in want}
        if not ok:
            raise AssertionError(f"scans stalled: {want} answers wanted, {got} given")

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(120)

    def problems(self, expect):
        """Errors, and answers missing a symbol of expect[name]."""
        out = []
        for name, syms, err in self.results:
            if err:
                out.append(f"{name}: {err}")
            elif expect[name] - syms:
                out.append(f"{name}: {sorted(expect[name] - syms)} missing in {sorted(syms)}")
        return out


# Random bytes without '#' (a comment would hide the rest of a line).
GARBAGE = bytes(random.Random(16).randrange(256) for _ in range(4000)).replace(b"#", b"x")


def cut_in_first_entry(path):
    """A length of the map at path that keeps its header and 3 bytes of its
    first entry line: no complete entry, as a file cut mid-write."""
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    for line in data.split(b"\n"):
        if line.strip() and not line.lstrip().startswith(b"#"):
            return pos + 3
        pos += len(line) + 1
    raise ValueError(f"{path}: no entry")


def overwrite(data):
    """Truncate the open file and write data into it (in place)."""
    def how(fh):
        fh.truncate(0)
        fh.write(data)
    return how
