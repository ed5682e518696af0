"""Measurement and tuning tools for Engram's developers (not shipped in the wheel).

Run them from the repository root, either way::

    python -m tools.evaluate_trust            # or: python tools/evaluate_trust.py

Each tool imports the installed ``engram`` package through its public modules
and may read the labelled sets under ``tests/fixtures`` of this checkout;
nothing in ``src/engram`` imports from here. See ``tools/README.md``.
"""
