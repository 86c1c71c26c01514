"""Where each variable of the training QUBO lives: the flat index space, its labels, row labels.

Variables (all 0/1), in index order:

* ``w[e]``      weight bit of arc e (w = 2 omega - 1; in a ternary group, w = omega - omega-);
* ``b[j]``      bias bit of neuron j (only neurons with a bias);
* ``wm[e]``     the minus bit omega- of arc e into a ternary group (w = omega - omega-: both
  bits set is a second zero, which the sparsity term prices above the first);
* ``bm[j]``     the minus bit of the bias of a ternary neuron;
* ``a[n,j]``    activation bit of neuron j on sample n (hidden neurons; outputs too under 0-1 loss);
* ``u[n,e]``    product omega_e * alpha_{n,src(e)} for arcs leaving a neuron;
* ``um[n,e]``   product omega-_e * alpha_{n,src(e)} for such arcs into a ternary group;
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
    minus_params: np.ndarray  # parameters (arcs, then biases) of ternary groups: a minus bit
    alpha_neurons: np.ndarray  # neurons with activation variables
    u_arcs: np.ndarray  # arcs with product variables
    um_arcs: np.ndarray  # those into ternary groups: a second product (omega- alpha)
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
    def m0(self) -> int:
        return self.b0 + self.bias_neurons.size

    @property
    def a0(self) -> int:
        return self.m0 + self.minus_params.size

    @property
    def u0(self) -> int:
        return self.a0 + self.n_samples * self.alpha_neurons.size

    @property
    def um0(self) -> int:
        return self.u0 + self.n_samples * self.u_arcs.size

    @property
    def t0(self) -> int:
        return self.um0 + self.n_samples * self.um_arcs.size

    @property
    def s0(self) -> int:
        return self.t0 + self.n_samples * self.tie_neurons.size

    @property
    def n_vars(self) -> int:
        return self.s0 + self.slack_bit.size

    @property
    def n_parameters(self) -> int:
        """Network parameters (arcs, then biases): one value each."""
        return self.n_arcs + self.bias_neurons.size

    @property
    def n_parameter_bits(self) -> int:
        """The variables that hold the parameters, first in the index space: one bit per
        parameter, and a minus bit per ternary one."""
        return self.a0

    def parameter_bits(self, params: np.ndarray) -> np.ndarray:
        """(n_parameter_bits,) 0/1 of parameter values (arcs, then biases; -1, 0 or +1)."""
        params = np.asarray(params, dtype=np.int64)
        return np.concatenate([params > 0, params[self.minus_params] < 0]).astype(np.int8)

    def parameter_values(self, bits: np.ndarray) -> np.ndarray:
        """Parameter values (arcs, then biases) of the first :attr:`n_parameter_bits` of an
        assignment: 2 omega - 1, or omega - omega- in ternary groups."""
        bits = np.asarray(bits, dtype=np.int64)
        values = 2 * bits[: self.n_parameters] - 1
        values[self.minus_params] = bits[self.minus_params] - bits[self.m0 : self.a0]
        return values

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

    def um_var(self, n: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Index of um[n, e] (e must leave a neuron and enter a ternary group)."""
        pos = self._positions(self.um_arcs, self.n_arcs)
        return self.um0 + n * self.um_arcs.size + pos[e]

    def minus_var(self, p: np.ndarray) -> np.ndarray:
        """Index of the minus bit of parameter p (arcs, then biases; p must be ternary)."""
        pos = self._positions(self.minus_params, self.n_parameters)
        return self.m0 + pos[p]

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
        out += [
            f"wm[{p}]" if p < self.n_arcs else f"bm[{self.bias_neurons[p - self.n_arcs]}]"
            for p in self.minus_params.tolist()
        ]
        out += [f"a[{s},{j}]" for s in range(n) for j in self.alpha_neurons]
        out += [f"u[{s},{e}]" for s in range(n) for e in self.u_arcs]
        out += [f"um[{s},{e}]" for s in range(n) for e in self.um_arcs]
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
