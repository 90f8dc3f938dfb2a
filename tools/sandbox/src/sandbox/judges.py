"""Where the upstream packages the CRD schemas are read from live (``make judges`` unpacks them).

``$SANDBOX_JUDGES_DIR``, else the ``.cache/judges`` of the repository that holds this package
(the first parent directory that has one), else ``.cache/judges`` under the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def judges_dir() -> Path:
    if os.environ.get("SANDBOX_JUDGES_DIR"):
        return Path(os.environ["SANDBOX_JUDGES_DIR"])
    for parent in Path(__file__).resolve().parents:
        if (parent / ".cache" / "judges").is_dir():
            return parent / ".cache" / "judges"
    return Path.cwd() / ".cache" / "judges"
