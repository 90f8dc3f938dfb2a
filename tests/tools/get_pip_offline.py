"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches ``get-pip-<version>.py`` from a host this project's machines cannot
reach. This script does the same job from sources that are reachable: it installs pip from
the interpreter's bundled ``ensurepip`` wheel, then runs ``pip install`` with the arguments
ansible-test passes (the pinned pip release, from PyPI). ``make sanity`` places it in
ansible-test's cache only when no bootstrap script is cached yet.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    # ensurepip blanks pip's configuration in os.environ; the real install must honour it
    # (index, certificates), so keep a copy of the environment from before.
    env = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    args = [arg for arg in sys.argv[1:] if arg not in IGNORED]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args], env=env)


if __name__ == "__main__":
    sys.exit(main())
