"""Where each variable of the training QUBO lives: the flat index space, its labels, row labels.

Variables (all 0/1), in index order:

* ``w[e]``      weight bit of arc e (w = 2 omega - 1);
* ``b[j]``      bias bit of neuron j (only neurons with a bias);
* ``a[n,j]``    activation bit of neuron j on sample n (hidden neurons; outputs too under 0-1 loss);
* ``u[n,e]``    product omega_e * alpha_{n,src(e)} for arcs leaving a neuron;
* ``t[n,j]``    tie bit of an even-fan-in neuron (lets the slack reach one more on the +1 side);
* ``s[n,j,k]``  slack bits of neuron j's sign constraint (or of an output's hinge loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qubonn.network import Network


@dataclass(frozen=True)
class Layout:
    """Where each kind of variable lives in the flat index space, and its label."""

    n_samples: int
    n_arcs: int
    bias_neurons: np.ndarray  # neurons with a bias, in order
    alpha_neurons: np.ndarray  # neurons with activation variables
    u_arcs: np.ndarray  # arcs with product variables
    tie_neurons: np.ndarray  # neurons with a tie bit (even K, alpha variable)
    slack_row_sample: np.ndarray  # per slack bit: sample
    slack_row_neuron: np.ndarray  # per slack bit: neuron
    slack_bit: np.ndarray  # per slack bit: bit number k
    slack_coef: np.ndarray  # per slack bit: its weight in the slack integer

    @property
    def w0(self) -> int:
        return 0

    @property
    def b0(self) -> int:
        return self.n_arcs

    @property
    def a0(self) -> int:
        return self.b0 + self.bias_neurons.size

    @property
    def u0(self) -> int:
        return self.a0 + self.n_samples * self.alpha_neurons.size

    @property
    def t0(self) -> int:
        return self.u0 + self.n_samples * self.u_arcs.size

    @property
    def s0(self) -> int:
        return self.t0 + self.n_samples * self.tie_neurons.size

    @property
    def n_vars(self) -> int:
        return self.s0 + self.slack_bit.size

    @property
    def n_parameters(self) -> int:
        return self.n_arcs + self.bias_neurons.size

    # -- indices of per-sample variables ----------------------------------------------------
    @staticmethod
    def _positions(members: np.ndarray, size: int) -> np.ndarray:
        pos = np.full(size, -1, dtype=np.int64)
        pos[members] = np.arange(members.size)
        return pos

    def alpha_var(self, n: np.ndarray, j: np.ndarray, n_neurons: int) -> np.ndarray:
        """Index of a[n, j] (j must have an activation variable)."""
        pos = self._positions(self.alpha_neurons, n_neurons)
        return self.a0 + n * self.alpha_neurons.size + pos[j]

    def u_var(self, n: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Index of u[n, e] (e must leave a neuron)."""
        pos = self._positions(self.u_arcs, self.n_arcs)
        return self.u0 + n * self.u_arcs.size + pos[e]

    def tie_var(self, n: np.ndarray, j: np.ndarray, n_neurons: int) -> np.ndarray:
        """Index of t[n, j] (j must have a tie bit)."""
        pos = self._positions(self.tie_neurons, n_neurons)
        return self.t0 + n * self.tie_neurons.size + pos[j]

    # -- labels -----------------------------------------------------------------------------
    def labels(self) -> list[str]:
        """Variable labels in index order (what the BQM and PyQUBO use)."""
        n = self.n_samples
        out = [f"w[{e}]" for e in range(self.n_arcs)]
        out += [f"b[{j}]" for j in self.bias_neurons]
        out += [f"a[{s},{j}]" for s in range(n) for j in self.alpha_neurons]
        out += [f"u[{s},{e}]" for s in range(n) for e in self.u_arcs]
        out += [f"t[{s},{j}]" for s in range(n) for j in self.tie_neurons]
        out += [
            f"s[{s},{j},{k}]"
            for s, j, k in zip(
                self.slack_row_sample.tolist(),
                self.slack_row_neuron.tolist(),
                self.slack_bit.tolist(),
                strict=True,
            )
        ]
        return out


def row_label(network: Network, name: str, sample: int, unit: int, kind: str) -> str:
    """The label of one term row: ``sign[n=3,h[1]]``, ``and[n=3,h[1]->y[0]]``, ``params[4]``."""
    if kind == "arc":
        e = unit
        src = network.unit_name(int(network.arc_src[e]))
        where = f"{src}->{network.neuron_names[int(network.arc_dst[e])]}"
    elif kind == "parameter":
        return f"{name}[{unit}]"
    else:
        where = network.neuron_names[unit]
    return f"{name}[n={sample},{where}]"
