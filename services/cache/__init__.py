"""The cache service: answers repeats of requests already answered (exact tier, in memory, at this stage)."""
