"""The one atomic writer: every file the harness writes (run records, baselines, the calibration
cache, reports, the MNIST cache) goes through :func:`write_atomic`, so a crash or Ctrl-C leaves
the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, overwrite: bool = True, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a fsynced temp file in the same folder: a crash leaves the
    old file or the new one, never half of one. ``overwrite=False`` links the temp file to ``path``
    instead of renaming it over, which fails with :class:`FileExistsError` rather than replace a
    file. ``mode`` sets the permissions (a temp file from mkstemp is owner-only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
