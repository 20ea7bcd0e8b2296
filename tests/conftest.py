"""Test-suite configuration shared by every package."""

from hypothesis import settings

# numba compiles on first call and the CI machines are shared: wall-clock
# deadlines would only measure that noise, so they are off everywhere.
settings.register_profile("project", deadline=None, print_blob=True)
settings.load_profile("project")
