"""Switchyard's benchmark: a low-overhead load generator and the gateway overhead report."""
