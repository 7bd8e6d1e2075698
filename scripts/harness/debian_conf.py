"""Debian's shipped configuration of a package, private to the tests.

    python3 scripts/harness/debian_conf.py PACKAGE [DIR]    # prints the unpacked root

The tests and the demo never read the machine's /etc/rspamd or
/etc/spamassassin: an operator's edits there, or an installed mekiki
(modules.d/mekiki*.conf, mekiki.pre), must not change a result.  They run
the installed rspamd and SpamAssassin with the configuration those very
versions ship, unpacked from the installed version's .deb -- from apt's
cache when it is there, else fetched with `apt-get download` -- once into
DIR/PACKAGE_VERSION (default: build/debian-conf).
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DIR = os.path.join(ROOT, "build", "debian-conf")
APT_CACHE = "/var/cache/apt/archives"


def installed_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package],
                         capture_output=True, text=True)
    status, _, version = out.stdout.partition("\t")
    if out.returncode != 0 or not status.endswith(" installed") or not version:
        raise RuntimeError(f"{package} is not installed (scripts/deps.sh installs it)")
    return version


def deb_file(package, version, work):
    """The .deb of package at version: apt's cache, else downloaded into work."""
    # apt names files NAME_VERSION_ARCH.deb, the epoch's ':' written %3a.
    name = f"{package}_{version.replace(':', '%3a')}_"
    found = sorted(glob.glob(os.path.join(APT_CACHE, name + "*.deb")))
    if found:
        return found[0]
    # (root: apt's download sandbox user could not write into work)
    got = subprocess.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
                          f"{package}={version}"], cwd=work, capture_output=True, text=True)
    found = sorted(glob.glob(os.path.join(work, name + "*.deb")))
    if got.returncode != 0 or not found:
        raise RuntimeError(f"cannot get the .deb of {package} {version} to read its shipped "
                           f"configuration: {got.stderr.strip() or got.stdout.strip()}")
    return found[0]


def unpacked(package, where=DEFAULT_DIR):
    """The root of package's files as its installed version ships them."""
    version = installed_version(package)
    dest = os.path.join(where, f"{package}_{version.replace(':', '_')}")
    if os.path.exists(os.path.join(dest, ".complete")):
        return dest
    os.makedirs(where, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{package}-", dir=where)
    try:
        tree = os.path.join(work, "tree")
        subprocess.run(["dpkg-deb", "-x", deb_file(package, version, work), tree], check=True)
        open(os.path.join(tree, ".complete"), "w").close()
        # Readable by the daemons' own users (the rspamd workers are _rspamd).
        os.chmod(tree, 0o755)
        try:
            os.rename(tree, dest)
        except OSError:
            if not os.path.exists(os.path.join(dest, ".complete")):
                raise  # (else another process unpacked it first)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    os.chmod(where, 0o755)
    return dest


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    print(unpacked(sys.argv[1], *sys.argv[2:]))
