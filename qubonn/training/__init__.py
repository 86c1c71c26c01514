"""Training: fitting binary neural networks (exactly by QUBO, or by gradient baselines)."""
