"""Writing exported files: all of them or none."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from qubonn.errors import ExportError
from qubonn.modelfile import _umask


def write_files(
    out_dir: str | Path, files: dict[str, str | bytes], *, overwrite: bool
) -> list[Path]:
    """Write ``files`` (name -> text or bytes) into ``out_dir``, all or none: each goes to a
    temporary file first, and only when every one is written are they renamed into place."""
    folder = Path(out_dir)
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such folder")
    targets = [folder / fname for fname in files]
    if not overwrite:
        for t in targets:
            if t.exists():
                raise ExportError(f"{t} exists; pass overwrite=True to replace it")
    temps: list[str] = []
    try:
        for fname, content in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", suffix=".tmp", dir=folder)
            temps.append(tmp)
            data = content.encode("utf-8") if isinstance(content, str) else content
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: follow the umask
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except OSError as e:
        for tmp in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise ExportError(f"{folder}: cannot write the exported files: {e.strerror}") from None
    return targets
