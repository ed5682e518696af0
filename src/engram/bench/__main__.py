"""``python -m engram.bench locomo|longmemeval ...`` (same as ``engram bench ...``)."""

from .cli import bench

bench(prog_name="python -m engram.bench")
