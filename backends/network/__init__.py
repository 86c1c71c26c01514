"""Solvers of the compiled training problem: they read the network and its data, not only the
QUBO (``backends/contract.py``, ``ProblemSolver``).

* :mod:`.cpsat`       CP-SAT on a model of the network: a proven optimum or bound;
* :mod:`.repair`      a composite that maps any sampler's reads to the valid state of their
  weights;
* :mod:`.strategies`  ``decompose`` and ``continuation``: composites that hand any plain QUBO
  sampler sub-problems of the network's training problem;
* :mod:`.crossval`    several backends on one problem, compared as networks.

The plain QUBO samplers (neal, tabu, descent, OpenJij, exact) live one folder up, beside the
registry; the native annealer (``native/``) is both: a QUBO sampler in its spin mode and a
problem solver in its structured mode (``native/structured.py``).  Every one of them reads the
objective from the problem's objective model (``qubonn.formulation.model``), never derives it.
"""
