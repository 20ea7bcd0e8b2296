"""Test-suite configuration shared by every package."""

import os

# OpenBLAS's threads make the nn package's tiny matrix products many times
# slower on a busy 2-core machine; one BLAS thread is fastest there.  This
# must happen before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The suite checks the parallel kernels against their references: compile them at their first call
# instead of renting their serial twins on a cold cache (`ckks.ring.jit.ParallelRental`, tested on its own).
os.environ.setdefault("CKKS_COLD_START", "parallel")

from hypothesis import settings  # noqa: E402

# numba compiles on first call and the CI machines are shared: wall-clock
# deadlines would only measure that noise, so they are off everywhere.
settings.register_profile("project", deadline=None, print_blob=True)
settings.load_profile("project")
