"""Hypothesis profiles for the fuzz tests.

`make test` runs the `repeatable` profile: the same examples on every run, so a landing never fails
on a case no one has seen. `HYPOTHESIS_PROFILE=explore` draws fresh random examples (and more of
them) to look for new failures; a failure it finds becomes a fixed example or a fix.
"""

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
