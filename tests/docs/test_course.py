"""The course kit (docs/course.md, docs/course/): the plan, the quizzes, the exam bank, the noise lab.

* Every numeric answer stated in a quiz or in the exam bank (a line ``**Answer:** `literal```
  inside a question whose heading carries an id, ``### 3. Title { #w05-q3 }``) is recomputed here
  with the library or numpy, one function per question id, and compared to the digits stated.
* The week-3 noise lab's code blocks run, in order, as a student would run them.
* The weekly plan assigns every assignment once, with the hours its ``TEACHER.md`` states, no week
  above 5 hours of graded work, week 11 with one assignment, tutorial 8 and the encrypted-inference
  page in weeks 8-10, and every tutorial somewhere.
"""

from __future__ import annotations

import ast
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "docs" / "course"
QUIZZES = sorted((COURSE / "quizzes").glob("week-*.md"))
EXAM = COURSE / "exam-bank.md"
ASSIGNMENTS = REPO / "tutorials" / "assignments"

QUESTION = re.compile(r"^#{2,4} .*\{ *#([a-z0-9-]+) *\}\s*$", re.M)
ANSWER = re.compile(r"\*\*Answer:\*\* `([^`]+)`")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


# --- parsing the pages --------------------------------------------------------------------------


def questions(page: Path) -> dict[str, str]:
    """``{id: text of the question's section}`` for every heading with an id on the page."""
    text = page.read_text(encoding="utf-8")
    marks = list(QUESTION.finditer(text))
    out = {}
    for k, mark in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        rest = text[mark.end():end]
        following = re.search(r"^#{1,4} ", rest, re.M)  # a section heading without an id ends it too
        out[mark.group(1)] = rest[: following.start()] if following else rest
    return out


def stated_answers() -> dict[str, str]:
    """``{id: the literal after **Answer:**}`` over the quizzes and the exam bank."""
    answers = {}
    for page in [*QUIZZES, EXAM]:
        for qid, section in questions(page).items():
            found = ANSWER.findall(section)
            assert len(found) <= 1, f"{page.name} {qid}: more than one **Answer:** line"
            if found:
                assert qid not in answers, f"question id {qid} is used twice"
                answers[qid] = found[0]
    return answers


def _flatten(value) -> list:
    if isinstance(value, (list, tuple)):
        return [item for element in value for item in _flatten(element)]
    return [value]


def agrees(stated: str, computed) -> str | None:
    """None when every number of ``stated`` equals the computed one to the digits written."""
    want = _flatten(ast.literal_eval(stated))
    digits = [len(n.split(".")[1]) if "." in n else 0 for n in NUMBER.findall(stated)]
    got = _flatten(computed)
    if len(want) != len(got) or len(digits) != len(want):
        return f"stated {stated} has {len(want)} numbers, computed {computed!r} has {len(got)}"
    for w, d, g in zip(want, digits, got):
        tolerance = 0.5 * 10.0**-d + 1e-9 * max(1.0, abs(float(g)))
        if abs(float(w) - float(g)) > tolerance:
            return f"stated {w}, computed {g} (to {d} decimals)"
    return None


# --- the computations, one per question id ------------------------------------------------------


def _params(poly_degree: int, moduli_bits: list[int], scale_bits: int = 40):
    import ckks

    return ckks.Parameters(poly_degree=poly_degree, moduli_bits=moduli_bits, scale_bits=scale_bits)


def _small_context():
    """An insecure teaching ring (N = 32, 16 slots) with every rotation key: for operations only."""
    import ckks
    from ckks.errors import InsecureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ctx = ckks.Context(poly_degree=32, moduli_bits=[40, 30, 30, 30, 40], scale_bits=30, security=None)
        ctx.generate_galois_keys(progress=False)
    return ctx


def _levels(degree: int) -> int:
    from ckks.circuits import polynomial

    return polynomial.plan_polynomial(np.linspace(0.5, 1.0, degree + 1)).depth


def _bound(poly_degree: int) -> int:
    from ckks.security.standard import max_modulus_bits

    return max_modulus_bits(poly_degree)


def _smallest_ring(total_bits: int) -> int:
    from ckks.security.standard import MAX_MODULUS_BITS

    return min(n for n, bits in MAX_MODULUS_BITS[128].items() if bits >= total_bits)


def _max_depth(poly_degree: int, scale_bits: int, integer_bits: int) -> int:
    first = scale_bits + integer_bits
    return (_bound(poly_degree) - 2 * first) // scale_bits


def _negacyclic(a, b, modulus: int | None = None) -> list[int]:
    n = len(a)
    out = [0] * n
    for i in range(n):
        for j in range(n):
            k, sign = (i + j, 1) if i + j < n else (i + j - n, -1)
            out[k] += sign * a[i] * b[j]
    return [c % modulus for c in out] if modulus else out


def _newton_steps(low: float, high: float, target: float) -> int:
    """Newton steps y <- y (2 - a y) from y0 = 2 / (low + high) until max |1 - a y| < target."""
    a = np.linspace(low, high, 100001)
    y = np.full_like(a, 2.0 / (low + high))
    steps = 0
    while np.max(np.abs(1 - a * y)) >= target:
        y = y * (2 - a * y)
        steps += 1
    return steps


def _double_angle_factor(steps: int) -> float:
    """max over |c| <= 1 of the derivative of c -> 2c^2 - 1 applied ``steps`` times (T_{2^r})."""
    from numpy.polynomial import Chebyshev

    derivative = Chebyshev.basis(2**steps).deriv()
    return float(np.max(np.abs(derivative(np.linspace(-1, 1, 20001)))))


def _transpose_offsets(d: int) -> set[int]:
    offsets = set()
    for i in range(d):
        for j in range(d):
            offsets.add((j * d + i) - (i * d + j))
    return offsets


def w01_q1():
    return _params(8192, [60, 40, 40, 60]).slots


def w01_q3():
    import ckks

    params = _params(8192, [60, 40, 40, 60])
    coefficients = np.round(ckks.Encoder(params).embed_inverse(np.full(params.slots, 0.5)) * params.scale)
    assert np.all(coefficients[1:] == 0), "a constant encodes to a constant polynomial"
    return int(coefficients[0])


def w01_q4():
    from ckks.scheme.automorphism import galois_element

    return galois_element(3, 8192)


def w02_q1():
    return _negacyclic([1, 0, 0, 1], [0, 0, 1, 1])


def w02_q2():
    two_n = 16
    q = next(p for p in range(two_n + 1, 10**4, two_n) if all(p % k for k in range(2, int(p**0.5) + 1)))
    psi = next(g for g in range(2, q) if pow(g, two_n // 2, q) == q - 1)  # order exactly 2N
    return [q, psi]


def w02_q3():
    n = 8192
    return n // 2 * int(math.log2(n))


def w02_q4():
    from sympy.ntheory.modular import crt

    return int(crt([5, 7], [2, 3])[0])


def w03_q1():
    return 6 * _params(8192, [60, 40, 40, 60]).sigma


def w03_q2():
    params = _params(8192, [60, 40, 40, 60])
    return math.log2(params.sigma * math.sqrt(params.poly_degree) / params.scale)


def w03_q4():
    return math.log2(1000)


def w04_q1():
    params = _params(8192, [60, 40, 40, 60])
    tensor = params.scale * params.scale
    return [math.log2(tensor), round(math.log2(tensor / params.data_moduli[-1]))]


def w04_q2():
    return _params(16384, [60, 40, 40, 40, 60]).max_level


def w04_q3():
    return [int(np.floor(1000 / 7 + 0.5)), int(np.floor(-1000 / 7 + 0.5))]


def w05_q1():
    return _bound(16384)


def w05_q2():
    return _smallest_ring(sum([60, 40, 40, 40, 60]))


def w05_q3():
    return _max_depth(8192, 40, 20)


def w06_q1():
    ctx = _small_context()
    values = np.arange(1.0, ctx.slots + 1.0)
    rotated = ctx.encrypt(values).rotate(1).decrypt().real
    # The quiz's 8 slots: the same rotation on a vector that fills its slots.
    assert np.allclose(rotated, np.roll(values, -1), atol=1e-3)
    return [int(v) for v in np.roll(np.arange(1, 9), -1)]


def w06_q2():
    return int(math.log2(1024))


def w06_q3():
    from ckks.scheme.automorphism import galois_element

    return galois_element(-1, 8192)


def w07_q1():
    return [_levels(7), _levels(8)]


def _bsgs_rotations(n: int, g: int, b: int) -> tuple[int, int]:
    """Check the BSGS formula of the slides in numpy and count the rotations of each method."""
    rng = np.random.default_rng(7)
    w, x = rng.normal(size=(n, n)), rng.normal(size=n)

    def diag(i):
        return np.array([w[j, (j + i) % n] for j in range(n)])

    def rot(v, k):
        return np.roll(v, -k)

    diagonal = sum(diag(i) * rot(x, i) for i in range(n))
    babies = {j: rot(x, j) for j in range(b)}
    bsgs = sum(rot(sum(rot(diag(k * b + j), -k * b) * babies[j] for j in range(b)), k * b) for k in range(g))
    assert np.allclose(diagonal, w @ x) and np.allclose(bsgs, w @ x)
    return n - 1, (b - 1) + (g - 1)


def w07_q2():
    return list(_bsgs_rotations(64, 8, 8))


def w07_q3():
    from numpy.polynomial import chebyshev

    return float(np.max(chebyshev.chebpts1(4)))


def w08_q1():
    from nn.encrypted import pretrained

    model = pretrained.load("digits_mlp")
    first, second = model.layers[1].params["weight"], model.layers[3].params["weight"]
    return int((first @ second).size)


def w08_q2():
    from nn.encrypted import pretrained

    return pretrained.load("digits_mlp").multiplicative_depth()


def w08_q3():
    return [_params(8192, [60, 40, 40, 60]).slots, 0]


def w09_q1():
    from numpy.polynomial import legendre

    nodes, weights = legendre.leggauss(20)
    t, w = (nodes + 1) / 2, weights / 2  # Gauss-Legendre on [0, 1], where ReLU(x) = x (0 on [-1, 0])
    projection = [(2 * k + 1) / 2 * np.sum(w * t * legendre.legval(t, [0] * k + [1])) for k in range(3)]
    return [float(c) for c in legendre.leg2poly(projection)]


def w09_q2():
    return _levels(15)


def w10_q1():
    z = np.array([1.0, 2.0, 3.0])
    p = np.exp(z) / np.exp(z).sum()
    return float(np.arange(3) @ p)


def w10_q2():
    return [10 * math.exp(-8), 10.0]


def w10_q3():
    return _newton_steps(1.0, 10.0, 2.0**-20)


def w10_q4():
    steps = _newton_steps(1.0, 10.0, 2.0**-20)
    return [2 * steps, steps]


def w11_q2():
    y = 0.1
    return math.cos(2 * math.pi * (y - 0.25))


def w11_q3():
    return _double_angle_factor(3)


def w12_q1():
    d, i, j = 4, 1, 3
    return (j * d + i) - (i * d + j)


def w12_q2():
    return len(_transpose_offsets(4))


def e01():
    import ckks
    from ckks.errors import InsecureWarning

    n, delta = 16, 2.0**20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        params = ckks.Parameters(poly_degree=n, moduli_bits=[30, 30], scale_bits=20, security=None)
    encoder = ckks.Encoder(params)
    bound = n / (2 * delta)
    rng = np.random.default_rng(1)
    for _ in range(20):
        z = rng.uniform(-1, 1, params.slots) + 1j * rng.uniform(-1, 1, params.slots)
        assert np.max(np.abs(encoder.decode(encoder.encode(z)) - z)) <= bound
    return math.log2(bound)


def e02():
    q, psi, a = 17, 2, [1, 2, 0, 0]
    roots = [pow(psi, 2 * k + 1, q) for k in range(4)]
    values = [sum(c * pow(r, i, q) for i, c in enumerate(a)) % q for r in roots]
    square = _negacyclic(a, a, q)
    assert [sum(c * pow(r, i, q) for i, c in enumerate(square)) % q for r in roots] == [v * v % q for v in values]
    return [values, square]


def e03():
    q0, q1, x = 97, 17, 1000
    h = q1 // 2
    last = (x % q1 + h) % q1
    inverse = pow(q1, -1, q0)
    result = ((x % q0 + h - last) * inverse) % q0
    assert result == round(x / q1)
    return [inverse, result]


def e04():
    from ckks.security.noise import product_noise

    params = _params(8192, [60, 40, 40, 60])
    return math.log2(product_noise(params, 1.0, 2.0**40, 128.0, 1.0, 2.0**40, 128.0))


def e05():
    from ckks.precision import precision_bits

    return precision_bits(np.array([1.0001, 2.0]), np.array([1.0, 2.0]))


def e07():
    bits = 60 + 7 * 40 + 60
    return [bits, _smallest_ring(bits), _max_depth(32768, 40, 20)]


def e08():
    from ckks.security.flooding import flooding_sigma

    return math.log2(flooding_sigma(2.0**10, 30, 1))


def e10():
    _, bsgs = _bsgs_rotations(256, 16, 16)
    return [int(math.log2(256)), 1, bsgs]


def e11():
    ctx = _small_context()
    x = np.linspace(-1, 1, ctx.slots)
    v = ctx.encrypt(x)
    products = 0

    def mul(a, b):
        nonlocal products
        products += 1
        return a * b

    x2 = mul(v, v)
    x4 = mul(x2, x2)
    x3 = mul(v, x2)
    x7 = mul(x3, x4)
    assert np.allclose(x7.decrypt().real, x**7, atol=1e-3)
    return [v.level - x7.level, products]


def e12():
    from numpy.polynomial import chebyshev

    def sigmoid(t):
        return 1 / (1 + np.exp(-8 * t))

    grid = np.linspace(-1, 1, 20001)
    coefficients = chebyshev.chebinterpolate(sigmoid, 7)
    return [float(np.max(np.abs(chebyshev.chebval(grid, coefficients) - sigmoid(grid)))), _levels(7)]


def e13():
    from nn.encrypted import pretrained

    model = pretrained.load("digits_mlp")
    depth = model.multiplicative_depth()
    bits = 60 + depth * 40 + 60
    return [model.num_parameters(), depth, bits, _smallest_ring(bits)]


def e14():
    low, high = 4 * math.exp(-4), 4.0
    steps = _newton_steps(low, high, 2.0**-10)
    return [low, high, steps, steps]


def e15():
    from numpy.polynomial import chebyshev

    k, r = 8, 3
    grid = np.linspace(-1, 1, 20001)

    def cosine(x):
        return np.cos(2 * np.pi * (k * x - 0.25) / 2**r)

    degree = next(
        d for d in range(1, 64)
        if np.max(np.abs(chebyshev.chebval(grid, chebyshev.chebinterpolate(cosine, d)) - cosine(grid))) < 2.0**-20
    )
    return [degree, _double_angle_factor(r)]


def e16():
    d = 8
    offsets = _transpose_offsets(d)
    # The masked method in numpy: one mask per offset, rotate, add; it transposes.
    a = np.arange(d * d, dtype=float)
    out = np.zeros(d * d)
    for r in offsets:
        mask = np.zeros(d * d)
        for i in range(d):
            for j in range(d):
                if (j * d + i) - (i * d + j) == r:
                    mask[i * d + j] = 1
        out += np.roll(mask * a, r)
    assert np.array_equal(out, a.reshape(d, d).T.ravel())
    return [len(offsets), len(offsets - {0}), 1]


COMPUTED = {
    name.replace("_", "-"): fn for name, fn in dict(globals()).items() if re.fullmatch(r"(w\d\d_q\d|e\d\d)", name)
}


# --- tests --------------------------------------------------------------------------------------


def test_every_stated_answer_has_a_computation():
    stated = stated_answers()
    assert len(stated) >= 40, "the quizzes and the exam bank state their numeric answers"
    assert set(stated) == set(COMPUTED), (
        f"answers without a computation: {sorted(set(stated) - set(COMPUTED))}; "
        f"computations without an answer: {sorted(set(COMPUTED) - set(stated))}"
    )


@pytest.mark.parametrize("qid", sorted(COMPUTED))
def test_stated_answer_is_right(qid):
    stated = stated_answers()[qid]
    problem = agrees(stated, COMPUTED[qid]())
    assert problem is None, f"{qid}: {problem}"


def test_agreement_checks_the_digits_written():
    assert agrees("[0.0034, 10]", [10 * math.exp(-8), 10.0]) is None
    assert agrees("13.29", 13.2877) is None
    assert agrees("13.3", 13.2877) is None
    assert agrees("13.28", 13.2877) is not None
    assert agrees("4096", 4095) is not None
    assert agrees("[1, 2]", [1, 2, 3]) is not None


def test_every_quiz_question_has_a_folded_answer():
    assert [p.name for p in QUIZZES] == [f"week-{w:02d}.md" for w in range(1, 13)]
    for page in [*QUIZZES, EXAM]:
        sections = questions(page)
        assert len(sections) >= 5, f"{page.name}: at least five questions"
        for qid, section in sections.items():
            assert re.search(r'^\?\?\? success "(Answer|Solution)"', section, re.M), f"{page.name} {qid}: no answer"


def test_noise_lab_runs_as_written(tmp_path):
    """The handout's code blocks, concatenated, run in a fresh interpreter in an empty folder."""
    text = (COURSE / "noise-lab.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 6, "one code block per step"
    script = tmp_path / "noise_lab.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(REPO), NUMBA_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"the lab failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for line in ("fresh encryption: measured", "64 additions", "multiplying by 1000", "x^8: level 0", "4 rotations"):
        assert line in result.stdout, f"the lab did not print {line!r}"
    assert (tmp_path / "noise_lab.png").stat().st_size > 10_000, "the lab saves its plot"


# --- the weekly plan ----------------------------------------------------------------------------


def _expected_hours(name: str) -> tuple[float, float]:
    text = (ASSIGNMENTS / name / "TEACHER.md").read_text(encoding="utf-8")
    found = re.search(r"\*\*Expected time\.\*\*\s*([\d.]+)(?:\s*(?:-|to)\s*([\d.]+))?\s*hours?", text)
    assert found, f"{name}/TEACHER.md states no '**Expected time.** a-b hours'"
    low = float(found.group(1))
    return low, float(found.group(2) or low)


def _weeks() -> dict[int, list[str]]:
    """``{week: [lectures, read, lab, hours]}`` from the weekly table of docs/course.md."""
    rows = {}
    for line in (REPO / "docs" / "course.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit() and len(cells) == 5:
            rows[int(cells[0])] = cells[1:]
    return rows


def _hours(text: str) -> tuple[float, float]:
    low = high = 0.0
    for term in text.split("+"):
        term = term.strip()
        if term == "project":
            continue
        a, _, b = term.partition("-")
        low, high = low + float(a), high + float(b or a)
    return low, high


def test_weekly_plan_assigns_everything_once_with_its_hours():
    weeks = _weeks()
    assert sorted(weeks) == list(range(1, 13))
    names = sorted(p.name for p in ASSIGNMENTS.iterdir() if (p / "TEACHER.md").is_file())
    assert len(names) == 12
    handed = {}
    for week, (_, _, lab, hours) in weeks.items():
        mine = re.findall(r"`([a-z_]+)`", lab)
        for name in mine:
            assert name in names, f"week {week} names an unknown assignment {name}"
            assert name not in handed, f"{name} is handed out in weeks {handed[name]} and {week}"
            handed[name] = week
        graded = [_expected_hours(n) for n in mine]
        low, high = _hours(hours)
        extra = 1.0 if ("lab" in lab or "proposal" in lab) else 0.0
        assert (low, high) == (sum(g[0] for g in graded) + extra, sum(g[1] for g in graded) + extra), (
            f"week {week}: the hours {hours!r} are not the TEACHER.md estimates of {mine}"
        )
        assert sum(g[1] for g in graded) <= 4.0, f"week {week} carries more than 4 hours of assignments"
    assert sorted(handed) == names, f"never handed out: {sorted(set(names) - set(handed))}"
    assert len(re.findall(r"`([a-z_]+)`", weeks[11][2])) == 1, "week 11 carries one assignment"


def test_weekly_plan_reads_tutorial_8_in_the_inference_weeks():
    weeks = _weeks()
    for week in (8, 9, 10):
        read = weeks[week][1]
        assert "tutorials/08_encrypted_inference.md" in read, f"week {week} does not assign tutorial 8"
        assert "nn/encrypted_inference.md" in read, f"week {week} does not assign the encrypted-inference page"
    every = " ".join(cells[1] for cells in weeks.values())
    pages = REPO / "docs" / "tutorials"
    tutorials = sorted(pages.glob("[0-9]*.md")) + [pages / "he_friendly_training.md"]
    for tutorial in tutorials:
        assert f"tutorials/{tutorial.name}" in every, f"{tutorial.name} is never assigned"


def test_assignment_total_matches_the_estimates():
    names = sorted(p.name for p in ASSIGNMENTS.iterdir() if (p / "TEACHER.md").is_file())
    low = sum(_expected_hours(n)[0] for n in names)
    high = sum(_expected_hours(n)[1] for n in names)
    text = (REPO / "docs" / "course.md").read_text(encoding="utf-8")
    assert f"{low:g}-{high:g} hours in all" in text, f"docs/course.md should state {low:g}-{high:g} hours in all"
