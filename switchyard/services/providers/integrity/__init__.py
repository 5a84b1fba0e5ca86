"""Integrity monitoring of provider replies: what is checked (`checks`), and how a violation is counted,
logged and, for the hard kinds or in strict mode, turned into a failed call (`guard`)."""
