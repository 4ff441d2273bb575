"""Pure controller arithmetic, mirrored from upstream controllers, no SimPy."""
