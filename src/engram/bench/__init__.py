"""Benchmark harness: LoCoMo and LongMemEval retrieval, coverage and QA evaluation.

Importing this package loads no plotting or LLM code; those are imported when used.
"""
