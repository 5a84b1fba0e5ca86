"""Learned and rule-based request analysis: category, complexity, sensitivity, injection guard.

Models are trained by the scripts in `scripts/` from ../shared/data plus seed examples kept in
the repository; the small artifacts they write live in `artifacts/` and are read with numpy only.
"""
