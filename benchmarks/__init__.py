"""vidmock's speed and load measurements: each runnable module prints JSON with the command that
reproduced it. Run from the repository root as ``python -m benchmarks.<name>`` (``--quick`` for a
smoke run). Not shipped in the wheel: pyproject's package list leaves it out."""
