"""The classifier service: says what a request is (token estimate and complexity at this stage)."""
