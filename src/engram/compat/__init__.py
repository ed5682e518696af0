"""Drop-in shapes of other memory libraries over Engram (``engram.compat.mem0``)."""
