"""``exact`` backend: exhaustive search, the reference the heuristic backends are checked against.

Energies of all 2^n assignments are evaluated with numpy in chunks (one matrix product per chunk),
keeping only the lowest ``num_reads`` states, so memory stays bounded however many states there
are.  Above ``max_variables`` (default 24, about 17 million states, a few seconds) it refuses.
"""

from __future__ import annotations

from typing import Any, ClassVar

import dimod
import numpy as np

from qubonn.errors import ProblemTooLargeError, SolverOptionError

from ._common import PROGRESS, SEED, BackendSampler, Option, check_positive_int

DEFAULT_MAX_VARIABLES = 24
#: Hard ceiling for ``max_variables``: beyond it a full enumeration takes hours.
MAX_VARIABLES_CEILING = 34
#: Default number of states returned: all of them up to this many (n <= 10), else the lowest.
DEFAULT_READS = 1024
CHUNK_BITS = 16


def _check_max_variables(name: str, value: Any) -> int:
    value = check_positive_int(name, value)
    if value > MAX_VARIABLES_CEILING:
        raise SolverOptionError(
            f"invalid value for option {name!r}: {value}; expected an integer in "
            f"[1, {MAX_VARIABLES_CEILING}]"
        )
    return value


def _check_reads(name: str, value: Any) -> int | None:
    return None if value is None else check_positive_int(name, value)


class ExactSampler(BackendSampler):
    """Exhaustive search returning the lowest ``num_reads`` states sorted by energy.

    Options: ``num_reads`` (None: all states if there are at most 1024, else the lowest 1024),
    ``max_variables`` (default set at construction, 24), ``progress`` (called per chunk of 65,536
    states with ``(chunks_done, chunks_total, best_energy)``; True stops, as does Ctrl-C: the
    lowest states of the chunks done so far come back with ``info["interrupted"]``), ``seed``
    (accepted so one call fits every backend, and ignored: the search is deterministic, ties
    broken by the assignment's index).
    """

    name: ClassVar[str] = "exact"
    description: ClassVar[str] = "exhaustive search (numpy), small problems only"

    def __init__(self, max_variables: int = DEFAULT_MAX_VARIABLES, strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.max_variables = _check_max_variables("max_variables", max_variables)

    @property
    def options(self) -> tuple[Option, ...]:  # type: ignore[override]
        return (
            Option("num_reads", "None or an integer >= 1", _check_reads),
            Option(
                "max_variables",
                f"an integer in [1, {MAX_VARIABLES_CEILING}]",
                _check_max_variables,
                self.max_variables,
            ),
            PROGRESS,
            SEED,
        )

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        n = bqm.num_variables
        if n > opts["max_variables"]:
            raise ProblemTooLargeError(
                f"backend 'exact' refuses a BQM with {n} variables: above max_variables="
                f"{opts['max_variables']} (2^{n} states); raise 'max_variables' (at most "
                f"{MAX_VARIABLES_CEILING}) or use a heuristic backend"
            )
        total = 1 << n
        keep = min(total, opts["num_reads"] or DEFAULT_READS)
        labels = list(bqm.variables)
        lin, (row, col, quad), offset = bqm.binary.to_numpy_vectors(variable_order=labels)
        Q = np.zeros((n, n))
        np.add.at(Q, (row, col), quad)
        lin = np.asarray(lin, dtype=float)

        # Split the bits: the low ones enumerate inside a chunk, the high ones pick the chunk.
        # Then E = E_low(x_lo) + E_high(x_hi) + x_lo . (C x_hi): one mat-vec per chunk.
        nlo = min(n, CHUNK_BITS)
        lo, hi = slice(0, nlo), slice(nlo, n)
        x_lo = ((np.arange(1 << nlo, dtype=np.int64)[:, None] >> np.arange(nlo)) & 1).astype(float)
        e_lo = x_lo @ lin[lo] + np.einsum("ij,ij->i", x_lo @ Q[lo, lo], x_lo) + offset
        cross = Q[lo, hi] + Q[hi, lo].T
        nchunks = 1 << (n - nlo)
        best_idx = np.empty(0, dtype=np.int64)
        best_en = np.empty(0, dtype=float)
        progress = opts["progress"]
        interrupted = False
        try:
            for c in range(nchunks):
                x_hi = ((c >> np.arange(n - nlo)) & 1).astype(float)
                en = e_lo + (x_lo @ (cross @ x_hi) + x_hi @ lin[hi] + x_hi @ Q[hi, hi] @ x_hi)
                idx = np.arange(c << nlo, (c + 1) << nlo, dtype=np.int64)
                if len(best_en):
                    idx = np.concatenate([best_idx, idx])
                    en = np.concatenate([best_en, en])
                if len(en) > keep:
                    part = np.argpartition(en, keep - 1)[:keep]
                    idx, en = idx[part], en[part]
                best_idx, best_en = idx, en
                if progress is not None and progress(c + 1, nchunks, float(en.min())):
                    interrupted = c + 1 < nchunks
                    break
        except KeyboardInterrupt:  # Ctrl-C: the lowest states of the chunks done so far
            interrupted = True
        if not len(best_idx):
            best_idx, best_en = np.zeros(1, dtype=np.int64), e_lo[:1]
        order = np.lexsort((best_idx, best_en))
        best_idx = best_idx[order]
        samples = ((best_idx[:, None] >> np.arange(n)) & 1).astype(np.int8)
        if bqm.vartype is dimod.SPIN:
            samples = 2 * samples - 1
        out = dimod.SampleSet.from_samples_bqm((samples, labels), bqm)
        out.info["num_states"] = total
        out.info["interrupted"] = interrupted
        return out
