"""Finding and running a C compiler on exported code (the tests, the benchmark, the tutorial).

The exporter itself needs no compiler; these helpers check what it wrote: the strict flags are
the ones the generated code is held to (``cc -std=c99 -Wall -Wextra -Werror -pedantic``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from qubonn.errors import ExportError

STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic")


def find_c_compiler() -> list[str] | None:
    """The C compiler as a command: ``$CC`` if set (it may carry flags), else the first of
    cc, gcc, clang on the PATH; None when there is none."""
    env = os.environ.get("CC", "").strip()
    if env:
        cmd = shlex.split(env)
        if shutil.which(cmd[0]):
            return cmd
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def compile_c(
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    flags: Sequence[str] = ("-O2",),
    compiler: Sequence[str] | None = None,
    object_only: bool = False,
) -> Path:
    """Compile ``sources`` with the strict flags plus ``flags`` into ``output`` (an executable,
    or one object file with ``object_only``).  A failed compile raises :class:`ExportError`
    with the compiler's messages."""
    cc = list(compiler) if compiler else find_c_compiler()
    if not cc:
        raise ExportError("no C compiler found: install cc, gcc or clang, or set $CC")
    cmd = [*cc, *STRICT_FLAGS, *flags, *(["-c"] if object_only else []), "-o", str(output)]
    cmd += [str(s) for s in sources]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ExportError(
            f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stderr.strip()[:4000]}"
        )
    return Path(output)
