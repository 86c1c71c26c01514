"""Run the annealer's CUDA kernels on the CPU: the source string CuPy compiles, built by g++.

Why: no GPU is at hand where the tests run (CI, the project's machines), and a wrong index, a
missing barrier or a race in a kernel would otherwise reach the first user with a GPU.  Here the
kernel source is compiled with ``cuda_emulator.h`` (the CUDA execution model on real threads:
see that file) into a shared library, cached on disk by a hash of source, header, flags and
compiler, and launched through ctypes on numpy arrays with CuPy's calling convention:

    mod = compile_module(source, options=("--fmad=false",))
    mod.get_function("sa_sparse")((blocks,), (threads,), args, shared_mem=0)

:func:`emulated_cupy` goes one step further: inside it, ``import cupy`` gives a stand-in whose
arrays are numpy arrays and whose ``RawKernel`` / ``RawModule`` are emulated, so the annealer's
own GPU code path (``device="gpu"``: the host code that sizes buffers, orders arguments and
launches) runs unchanged and can be compared with the CPU path sample for sample.

The one change made to the source text: ``extern __shared__ T name[];`` (dynamic shared memory,
which C++ cannot declare per block) becomes ``T* name = cuda_emu::dynamic_shared<T>();`` on the
same line.  Everything else compiles as written.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

HEADER = Path(__file__).with_name("cuda_emulator.h")
#: g++ flags; -ffp-contract=off is nvcc's --fmad=false (no fused multiply-add anywhere)
CXXFLAGS = ("-std=c++20", "-O2", "-fPIC", "-shared", "-pthread", "-ffp-contract=off")
#: CuPy/nvcc options the emulator understands (others are refused, not ignored)
KNOWN_OPTIONS = ("--fmad=false", "-std=c++11", "-std=c++14", "-std=c++17")
MAX_PARAMS = 128

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(')
_SHARED = re.compile(r"extern\s+__shared__\s+([\w\s\*]+?)\s+(\w+)\s*\[\s*\]\s*;")
_lock = threading.Lock()


class EmulatorError(RuntimeError):
    """The emulator could not compile or run a kernel (compiler output or launch error)."""


def compiler() -> str | None:
    """Path of a C++ compiler (``$CXX`` or g++) that builds the emulator, or None."""
    return _probe()[0]


def unavailable_reason() -> str | None:
    """Why :func:`compiler` is None (for skip messages); None when a compiler works."""
    return _probe()[1]


@cache
def _probe() -> tuple[str | None, str | None]:
    cxx = shutil.which(os.environ.get("CXX", "g++"))
    if cxx is None:
        return None, "no C++ compiler ($CXX or g++ on PATH)"
    test = "#include <atomic>\nint v;\nint f() { return std::atomic_ref<int>(v).fetch_add(1); }\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.cpp"
        src.write_text(test)
        run = subprocess.run(
            [cxx, *CXXFLAGS, str(src), "-o", str(Path(tmp) / "probe.so")],
            capture_output=True, text=True, check=False,
        )
    if run.returncode != 0:
        return None, f"{cxx} cannot build C++20 (std::atomic_ref): {run.stderr.strip()[:200]}"
    return cxx, None


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$QUBONN_CUDA_EMU_CACHE``, else the user cache."""
    env = os.environ.get("QUBONN_CUDA_EMU_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "qubonn" / "cuda-emulator"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return path
    except OSError:
        return Path(tempfile.gettempdir()) / f"qubonn-cuda-emulator-{os.getuid()}"


def translation_unit(source: str) -> tuple[str, list[str]]:
    """(C++ text, kernel names): the header, the source (line numbers kept) and the launch glue
    of every ``extern "C" __global__`` kernel."""
    names = _KERNEL.findall(source)
    if not names:
        raise EmulatorError('no extern "C" __global__ kernel in the source')
    body = _SHARED.sub(
        lambda m: f"{m.group(1)}* {m.group(2)} = cuda_emu::dynamic_shared<{m.group(1)}>();",
        source,
    )
    glue = []
    for name in names:
        glue.append(
            f'extern "C" int cuda_emu_launch__{name}(unsigned gx, unsigned gy, unsigned gz, '
            "unsigned bx, unsigned by, unsigned bz, unsigned long long shared, void** args) {\n"
            f"    return cuda_emu::launch_kernel(&{name}, dim3{{gx, gy, gz}}, "
            "dim3{bx, by, bz}, shared, args);\n}\n"
            f'extern "C" int cuda_emu_params__{name}(long long* size, char* kind, '
            "long long* elem_size, char* elem_kind, int capacity) {\n"
            f"    return cuda_emu::describe(&{name}, size, kind, elem_size, elem_kind, capacity);"
            "\n}\n"
        )
    text = (
        f'#include "{HEADER}"\n#line 1 "cuda_source.cu"\n{body}\n'
        f'#line 1 "cuda_emulator_glue.cpp"\n{"".join(glue)}'
    )
    return text, names


def _flags(options: Sequence[str]) -> tuple[str, ...]:
    unknown = [o for o in options if o not in KNOWN_OPTIONS]
    if unknown:
        raise EmulatorError(
            f"nvcc options {unknown} are not emulated (known: {', '.join(KNOWN_OPTIONS)})"
        )
    return CXXFLAGS


def _build(source: str, options: Sequence[str]) -> tuple[Path, list[str]]:
    """The cached shared library of ``source`` (compiled on first use), and its kernels."""
    cxx = compiler()
    if cxx is None:
        raise EmulatorError(f"the CUDA emulator needs a C++20 compiler: {unavailable_reason()}")
    text, names = translation_unit(source)
    flags = _flags(options)
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(
        "\0".join([HEADER.read_text(), text, " ".join(flags), version]).encode()
    ).hexdigest()[:24]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    lib = folder / f"kernel-{key}.so"
    if not lib.exists():
        fd, tmp_src = tempfile.mkstemp(suffix=".cpp", dir=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        tmp_lib = f"{tmp_src[:-4]}.so"
        try:
            run = subprocess.run(
                [cxx, *flags, tmp_src, "-o", tmp_lib], capture_output=True, text=True, check=False
            )
            if run.returncode != 0:
                raise EmulatorError(f"g++ could not compile the CUDA source:\n{run.stderr}")
            os.replace(tmp_lib, lib)  # atomic: a parallel run sees a whole library or none
        finally:
            for leftover in (tmp_src, tmp_lib):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
    return lib, names


class EmulatedKernel:
    """One kernel of an emulated module, called as CuPy calls a RawKernel."""

    def __init__(self, lib: ctypes.CDLL, name: str) -> None:
        self.name = name
        self._lib = lib
        self._launch = getattr(lib, f"cuda_emu_launch__{name}")
        self._launch.restype = ctypes.c_int
        self._launch.argtypes = [ctypes.c_uint] * 6 + [ctypes.c_ulonglong, ctypes.c_void_p]
        self.params = _describe(lib, name)

    def __call__(
        self, grid: Sequence[int], block: Sequence[int], args: Sequence[Any], *,
        shared_mem: int = 0,
    ) -> None:
        if len(args) != len(self.params):
            raise TypeError(
                f"kernel {self.name} takes {len(self.params)} arguments, got {len(args)}"
            )
        pairs = enumerate(zip(args, self.params, strict=True))
        keep = [_argument(self.name, i, a, p) for i, (a, p) in pairs]
        ptrs = (ctypes.c_void_p * max(len(keep), 1))(*[k.ctypes.data for k in keep])
        g = tuple(grid) + (1,) * (3 - len(grid))
        b = tuple(block) + (1,) * (3 - len(block))
        with _lock:  # one launch at a time: the library's error text is global
            rc = self._launch(*(int(v) for v in g + b), int(shared_mem), ptrs)
            if rc != 0:
                text = ctypes.cast(self._lib.cuda_emu_last_error(), ctypes.c_char_p).value
                raise EmulatorError(f"kernel {self.name}: {text.decode()}")


def _describe(lib: ctypes.CDLL, name: str) -> list[tuple[int, str, int, str]]:
    """(size, kind, element size, element kind) of each parameter; kind 'p' is a pointer,
    else 'i', 'u', 'f' or 'b' (numpy's dtype kinds)."""
    fn = getattr(lib, f"cuda_emu_params__{name}")
    size = (ctypes.c_longlong * MAX_PARAMS)()
    kind = (ctypes.c_char * MAX_PARAMS)()
    esize = (ctypes.c_longlong * MAX_PARAMS)()
    ekind = (ctypes.c_char * MAX_PARAMS)()
    n = fn(size, kind, esize, ekind, MAX_PARAMS)
    return [(size[i], kind[i].decode(), esize[i], ekind[i].decode()) for i in range(n)]


def _same_kind(dtype: np.dtype, size: int, kind: str) -> bool:
    if dtype.itemsize != size:
        return False
    return dtype.kind == kind or (dtype.kind == "b" and kind == "u")


def _argument(kernel: str, i: int, value: Any, param: tuple[int, str, int, str]) -> np.ndarray:
    """The bytes the kernel's parameter i points at: for a pointer parameter the array's
    address, for a value the scalar itself.  Types are checked as the GPU would not: a width
    or kind that differs from the parameter's is a bug in the caller."""
    size, kind, esize, ekind = param
    where = f"kernel {kernel}, argument {i}"
    if kind == "p":
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{where}: a pointer parameter needs an array, got {type(value)}")
        if not value.flags.c_contiguous:
            raise TypeError(f"{where}: the array is not C-contiguous")
        if ekind != "?" and esize and not _same_kind(value.dtype, esize, ekind):
            raise TypeError(
                f"{where}: the parameter points at {ekind}{esize} elements, got {value.dtype}"
            )
        return np.array([value.ctypes.data], dtype=np.uintp)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | int | float) and not isinstance(value, np.generic):
        value = {bool: np.bool_, int: np.int64, float: np.float64}[type(value)](value)  # CuPy's
    if not isinstance(value, np.generic):
        raise TypeError(f"{where}: a value parameter needs a numpy scalar, got {type(value)}")
    if not _same_kind(value.dtype, size, kind):
        raise TypeError(f"{where}: the parameter is {kind}{size}, got {value.dtype}")
    return np.array([value])


class EmulatedModule:
    """A compiled CUDA source (CuPy's ``RawModule``): ``get_function(name)``."""

    def __init__(self, source: str, options: Sequence[str] = ()) -> None:
        path, self.names = _build(source, options)
        self._lib = ctypes.CDLL(str(path))
        self._lib.cuda_emu_last_error.restype = ctypes.c_void_p
        self._lib.cuda_emu_configure.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_double]
        configure_library(self._lib)

    def get_function(self, name: str) -> EmulatedKernel:
        if name not in self.names:
            raise EmulatorError(f"no kernel {name!r} in the module (kernels: {self.names})")
        return EmulatedKernel(self._lib, name)


#: launch settings of every emulated module: yield at random (mixes thread order), at most
#: this many threads alive at once (whole blocks), seconds before a barrier is a deadlock
SETTINGS = {"jitter": True, "max_threads": 256, "barrier_timeout_s": 60.0}


def configure_library(lib: ctypes.CDLL) -> None:
    lib.cuda_emu_configure(
        int(SETTINGS["jitter"]), int(SETTINGS["max_threads"]), float(SETTINGS["barrier_timeout_s"])
    )


_modules: dict[tuple[str, tuple[str, ...]], EmulatedModule] = {}


def compile_module(source: str, options: Sequence[str] = ()) -> EmulatedModule:
    """The emulated module of ``source`` (compiled once per process and cached on disk)."""
    key = (source, tuple(options))
    with _lock:
        if key not in _modules:
            _modules[key] = EmulatedModule(source, options)
        return _modules[key]


# --------------------------------------------------------------------------- CuPy stand-in
class DeviceArray(np.ndarray):
    """A numpy array standing for a CuPy array: ``get()`` copies it "to the host"."""

    def get(self) -> np.ndarray:
        return np.array(self, copy=True)


def _device(value: Any) -> Any:
    return value.view(DeviceArray) if isinstance(value, np.ndarray) else value


def _wrap(fn: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        return tuple(_device(o) for o in out) if isinstance(out, tuple) else _device(out)

    return call


def _asarray(a: Any, dtype: Any = None) -> DeviceArray:
    """A host array copied "to the device" (a device array of the same dtype is returned as
    is, as CuPy does)."""
    if isinstance(a, DeviceArray) and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return np.array(a, dtype=dtype, copy=True, order="C").view(DeviceArray)


def _raw_module(code: str, options: Sequence[str] = (), name_expressions: Any = None):
    return compile_module(code, options)


def _raw_kernel(code: str, name: str, options: Sequence[str] = ()) -> EmulatedKernel:
    return compile_module(code, options).get_function(name)


def fake_cupy() -> types.ModuleType:
    """A module that answers the parts of CuPy the annealer uses, on the CPU."""
    cp = types.ModuleType("cupy")
    cp.__doc__ = "qubonn's CUDA emulator standing in for CuPy (backends/native/cuda_emulator.py)"
    cp.__version__ = "emulated"
    for name in dir(np):  # dtypes, constants and functions: numpy's, returning device arrays
        obj = getattr(np, name)
        setattr(cp, name, _wrap(obj) if callable(obj) and not isinstance(obj, type) else obj)
    cp.ndarray = DeviceArray
    cp.asarray = cp.array = _asarray
    cp.ascontiguousarray = lambda a, dtype=None: _asarray(np.ascontiguousarray(a), dtype)
    cp.RawModule = _raw_module
    cp.RawKernel = _raw_kernel
    cp.cuda = types.SimpleNamespace(
        is_available=lambda: True,
        Device=lambda *a: types.SimpleNamespace(synchronize=lambda: None),
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    )
    cp.emulated = True
    return cp


def _kernel_modules() -> list[types.ModuleType]:
    from . import _kernels_cuda, _kernels_structured_cuda

    return [_kernels_cuda, _kernels_structured_cuda]


@contextlib.contextmanager
def emulated_cupy(threads: int | None = None) -> Iterator[types.ModuleType]:
    """Within: ``import cupy`` is :func:`fake_cupy`, so ``device="gpu"`` runs the CUDA kernels
    on this emulator; ``threads`` sets the kernels' block size (their ``THREADS``).  The
    kernels' compiled-module caches are cleared on entry and exit, so no emulated module
    outlives the block (nor a real one enters it)."""
    mods = _kernel_modules()
    saved = {"cupy": sys.modules.get("cupy")}
    old_threads = [m.THREADS for m in mods]
    for m in mods:
        m.clear_cache()
        if threads is not None:
            m.THREADS = int(threads)
    sys.modules["cupy"] = fake_cupy()
    try:
        yield sys.modules["cupy"]
    finally:
        if saved["cupy"] is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = saved["cupy"]
        for m, t in zip(mods, old_threads, strict=True):
            m.THREADS = t
            m.clear_cache()
