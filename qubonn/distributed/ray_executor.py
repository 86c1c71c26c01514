"""The Ray executor: independent solves as Ray tasks, on this machine or a cluster.

Ray is optional (``pip install -e '.[distributed]'`` in the clone); it is imported when a
RayExecutor is made.  Shared objects go to the object store once (``ray.put``) and every task
gets the reference; functions too.  A task whose worker dies (killed, out of memory, a node
lost) is rerun by Ray up to ``max_retries`` times; an exception raised by the task itself is not
retried (it would fail again) and is re-raised here as the original exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from qubonn.distributed.executors import DistributedError, Executor, GpuRequest, _call


def _import_ray():
    try:
        import ray
    except ImportError:
        raise DistributedError(
            "the ray executor needs Ray, which is not installed: pip install 'ray>=2.9' (in the "
            "clone of qubonn: pip install -e '.[distributed]'), or run without Ray "
            "(--executor process)"
        ) from None
    return ray


class RayExecutor(Executor):
    """Run tasks on Ray.

    address:     a running cluster ("auto": the one ``ray start --head`` started here or named in
                 RAY_ADDRESS; "ray://host:10001" for Ray Client); None starts a private local
                 instance (or uses the one already initialised in this process);
    max_retries: reruns of a task whose worker died;
    num_cpus:    CPUs of the private local instance (default: all); not with ``address``;
    cpus_per_task: CPUs each task reserves (default 1);
    runtime_env: Ray runtime environment for the workers (e.g. {"pip": ["qubonn"]});
    init_options: further ``ray.init`` keywords.

    The executor shuts Ray down on close only if it started it.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        max_retries: int = 3,
        num_cpus: int | None = None,
        cpus_per_task: float = 1,
        runtime_env: dict | None = None,
        init_options: dict | None = None,
    ) -> None:
        ray = _import_ray()
        if int(max_retries) != max_retries or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, not {max_retries!r}")
        if address and num_cpus is not None:
            raise ValueError("num_cpus sizes a new local Ray instance; omit it with --address")
        self.max_retries = int(max_retries)
        self.cpus_per_task = cpus_per_task
        self._owns = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
            if address:
                kwargs["address"] = address
            if num_cpus is not None:
                kwargs["num_cpus"] = num_cpus
            if runtime_env:
                kwargs["runtime_env"] = runtime_env
            kwargs.update(init_options or {})
            try:
                ray.init(**kwargs)
            except ConnectionError as e:
                raise DistributedError(
                    f"cannot connect to the Ray cluster at {address!r}: {e}. Start one with "
                    "'ray start --head' (or give its address), or omit --address to run Ray on "
                    "this machine"
                ) from None
            self._owns = True
        self._ray = ray
        self._remote = ray.remote(_call)

    def gpus(self) -> float:
        return float(self._ray.cluster_resources().get("GPU", 0.0))

    def imap_unordered(
        self,
        func: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Any = None,
        num_gpus: GpuRequest = 0,
    ) -> Iterator[tuple[int, Any]]:
        ray = self._ray
        items = list(items)
        if not items:
            return
        # One copy in the object store; top-level ObjectRef arguments are resolved by Ray.
        func_ref = ray.put(func)
        shared_ref = None if shared is None else ray.put(shared)
        cluster_gpus: float | None = None
        refs: dict[Any, int] = {}
        try:
            for i, item in enumerate(items):
                gpus = float(num_gpus(item) if callable(num_gpus) else num_gpus)
                if gpus > 0:
                    if cluster_gpus is None:
                        cluster_gpus = self.gpus()
                    if cluster_gpus < gpus:
                        raise DistributedError(
                            f"a task asks for {gpus:g} GPU(s) but the Ray cluster has "
                            f"{cluster_gpus:g}; add GPU nodes or run on device='cpu'"
                        )
                task = self._remote.options(
                    max_retries=self.max_retries,
                    retry_exceptions=False,
                    num_cpus=self.cpus_per_task,
                    num_gpus=gpus,
                )
                refs[task.remote(func_ref, item, shared_ref)] = i
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    i = refs.pop(ref)
                    yield i, self._get(ref, i)
        finally:
            for ref in refs:  # interrupted or failed: do not leave work running
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort; the task may be finishing
                    pass

    def _get(self, ref: Any, index: int) -> Any:
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as e:
            raise DistributedError(
                f"task {index} failed: its worker died {self.max_retries + 1} time(s) "
                f"(max_retries={self.max_retries}): {type(e).__name__}"
            ) from None

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False
