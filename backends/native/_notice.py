"""The first run's notice: numba compiles the CPU kernels once per installation and kind of
problem (seconds on a small machine) and loads them from its cache afterwards.  A run that
sits silent for that long looks stuck, so the compile is announced on stderr -- only when one
happens."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

NOTICE = (
    "qubonn: compiling the annealer's kernels for this kind of problem, once (numba caches "
    "them: later runs start at once)"
)

_announced = False


def _announce() -> None:
    global _announced
    if _announced:
        return
    _announced = True
    try:
        from tqdm import tqdm
    except ImportError:  # the GPU path runs without qubonn's other dependencies
        print(NOTICE, file=sys.stderr, flush=True)
    else:
        tqdm.write(NOTICE, file=sys.stderr)  # on a line of its own, progress bars or not


@contextlib.contextmanager
def announce_compile() -> Iterator[None]:
    """Within the block, print :data:`NOTICE` (once per process) when numba starts compiling;
    loading a kernel from numba's cache is no compile and prints nothing."""
    try:
        from numba.core import event
    except ImportError:  # no numba: nothing compiles (the GPU and array engines)
        yield
        return

    class _OnCompile(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            _announce()

        def on_end(self, ev: event.Event) -> None:
            pass

    with event.install_listener("numba:compile", _OnCompile()):
        yield
