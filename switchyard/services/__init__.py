"""The services, each its own process: `python -m switchyard.services.<name>`.

A service does its numeric work (embeddings, vector search, the classifier's models) on its one
event loop, in products of a few thousand rows at most. A BLAS thread pool cannot speed those up; on
a machine whose cores the other services keep busy it slows them down many times over, each product
waiting for threads that wait for a core (on 2 busy cores a 4,000-row vector search took 6 ms with
OpenBLAS's threads and 0.2 ms without). So unless the environment says otherwise, BLAS runs on the
calling thread. This runs before any service imports numpy.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
