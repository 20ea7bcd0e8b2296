"""Packaging (issue 27): ``python -m build`` makes a wheel that installs in a fresh venv and runs the demo.

One test, about a minute and a quarter on 2 cores (build ~9 s, venv ~5 s, installing numpy, numba
and sympy from pip's cache ~16 s, the demo ~40 s, nearly all of it numba compiling into the new
site-packages).  It runs in CI as part of the README's test command.  The venv is a plain
``python -m venv`` (no system site-packages, nothing from this checkout's ``.venv``): the wheel's
declared dependencies are what makes it work, and the demo runs from a directory outside the
checkout, so the pre-trained model and the digits data come from the installed package.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "tutorials" / "assignments").iterdir() if (p / "stub.py").exists())


def _run(args: list, cwd: Path, env: dict | None = None, timeout: int = 600) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _setup_rules():
    """setup.py as a module (its ``setup()`` runs only as ``__main__``): the rule for what is a solution."""
    spec = importlib.util.spec_from_file_location("ckks_nn_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wheel_builds_installs_in_a_fresh_venv_and_runs_the_demo(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=tmp_path)
    wheels = list(dist.glob("ckks_nn-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {sorted(p.name for p in dist.iterdir())}"
    names = zipfile.ZipFile(wheels[0]).namelist()
    is_solution = _setup_rules().is_solution
    assert is_solution("tutorials/assignments/ntt/solution.py") and is_solution("solutions/ntt/x.md")
    assert not is_solution("tutorials/assignments/ntt/stub.py")

    # package data: the shipped models, the datasets, every assignment without its solution
    for required in ("nn/pretrained/digits_mlp.npz", "nn/pretrained/digits_cnn.json", "nn/datasets/data/digits.csv.gz",
                     "nn/datasets/data/iris.csv", "ckks/demo.py", "nn/encrypted/demo.py",
                     "tutorials/assignments/grade.py", "nn/datasets/data/mnist10k.npz",
                     "nn/pretrained/mnist_lenet.npz", "nn/pretrained/mnist_tenseal_cnn.json"):
        assert required in names, f"{required} is missing from the wheel"
    assert ASSIGNMENTS, "no assignment stubs found in the checkout"
    for name in ASSIGNMENTS:
        for part in ("stub.py", "README.md", "test_autograder.py"):
            assert f"tutorials/assignments/{name}/{part}" in names, f"assignment {name}: {part} is not in the wheel"
    leaked = [n for n in names if is_solution(n)]
    assert not leaked, f"reference solutions leaked into the wheel: {leaked}"
    sdists = list(dist.glob("ckks_nn-*.tar.gz"))
    with tarfile.open(sdists[0]) as tar:
        leaked = [n for n in tar.getnames() if is_solution(n.split("/", 1)[-1])]
    assert not leaked, f"reference solutions leaked into the sdist: {leaked}"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1")
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheels[0])],
         cwd=tmp_path, env=env)

    where = _run([str(python), "-c", "import ckks, nn; from nn.encrypted import pretrained; "
                  "print(ckks.__file__); print(nn.__file__); print(pretrained.path('digits_mlp'))"],
                 cwd=tmp_path, env=env).split()
    site = venv.resolve()
    for path in where:
        assert Path(path).resolve().is_relative_to(site), f"{path} does not come from the fresh venv"
        assert not Path(path).resolve().is_relative_to(ROOT), f"{path} comes from the checkout"

    out = _run([str(python), "-m", "nn.encrypted.demo"], cwd=tmp_path, env=env)
    accuracy = [line for line in out.splitlines() if line.startswith("encrypted accuracy:")]
    assert accuracy, f"the demo printed no encrypted accuracy:\n{out}"
    agreement = re.search(r"agreement with plaintext predictions: ([0-9.]+)% \(batch\)", out)
    assert agreement, f"the demo printed no agreement:\n{out}"
    assert float(agreement.group(1)) >= 99.5, f"encrypted and plaintext predictions disagree:\n{out}"
