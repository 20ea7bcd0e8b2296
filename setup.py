"""Build hooks that pyproject.toml cannot express: the distributions leave out assignment reference solutions.

All metadata, packages and package data are declared in ``pyproject.toml``; this file only
replaces two setuptools commands.  ``exclude-package-data`` cannot do this job: it filters data
files, and a reference solution is a Python module (``tutorials/assignments/<name>/solution.py``,
or wherever the reference solutions live: any module or directory named ``solution``,
``solutions``, ``_solutions`` or ``solution_<something>``).  The wheel (``build_py``) and the
source distribution (``sdist``) both drop such files, so ``python -m build`` ships the stubs,
READMEs, teacher notes, autograders and cheats of every assignment but no answer.
``tests/test_wheel.py`` checks the wheel's listing.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

SOLUTION = re.compile(r"_?solutions?(_\w+)?")


def is_solution(path: str) -> bool:
    """Whether a file path names a reference solution (a file or a directory called solution*)."""
    parts = PurePath(path).parts
    return any(SOLUTION.fullmatch(part.removesuffix(".py")) for part in parts)


class BuildPyWithoutSolutions(build_py):
    """``build_py`` that copies no reference-solution module or data file into the wheel."""

    def find_package_modules(self, package, package_dir):
        return [m for m in super().find_package_modules(package, package_dir) if not is_solution(m[2])]

    def exclude_data_files(self, package, src_dir, files):
        return [f for f in super().exclude_data_files(package, src_dir, files) if not is_solution(f)]


class SdistWithoutSolutions(sdist):
    """``sdist`` that packs no reference solution."""

    def make_distribution(self):
        self.filelist.files = [f for f in self.filelist.files if not is_solution(f)]
        super().make_distribution()


if __name__ == "__main__":  # setuptools' build backend runs this file as __main__; tests import the rule
    setup(cmdclass={"build_py": BuildPyWithoutSolutions, "sdist": SdistWithoutSolutions})
