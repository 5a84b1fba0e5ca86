"""The cache service: answers repeats of requests already answered, exactly or by meaning, per tenant."""
