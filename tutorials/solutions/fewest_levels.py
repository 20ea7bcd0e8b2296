"""Reference solution: depth-optimal polynomial evaluation by binary splitting of each exponent.

Powers x^(2^k) come from repeated squaring (depth k).  A term c_i x^i with the bits
b_1 < ... < b_m of i is evaluated as (((c_i x^(2^b_1)) x^(2^b_2)) ...) x^(2^b_m): the
constant goes into the lowest power (depth b_1 + 1), and each later product raises
the depth to b_j + 1, so the term has depth h + 1 for its highest bit h, that is
ceil(log2(i + 1)) <= ceil(log2(d + 1)).

Scales: every operand is brought to the level of its partner with ``u * 1.0``, which
gives it the canonical scale of that level (s^2 / q), so same-level terms add
without a mismatch; terms at different levels are aligned by ``+``.
"""

from __future__ import annotations


def _down_to(u, level: int):
    while u.level > level:
        u = u * 1.0
    return u


def _times(u, w):
    level = min(u.level, w.level)
    return _down_to(u, level) * _down_to(w, level)


def evaluate(v, coefficients):
    """sum_i coefficients[i] * v**i with ceil(log2(degree + 1)) levels."""
    coefficients = [float(c) for c in coefficients]
    while len(coefficients) > 1 and coefficients[-1] == 0:
        coefficients.pop()
    degree = len(coefficients) - 1
    powers = [v]  # powers[k] = x^(2^k)
    while 2 ** len(powers) <= degree:
        powers.append(powers[-1] * powers[-1])
    result = None
    for i in range(1, degree + 1):
        c = coefficients[i]
        if c == 0:
            continue
        bits = [k for k in range(i.bit_length()) if i >> k & 1]
        term = c * powers[bits[0]]
        for k in bits[1:]:
            term = _times(term, powers[k])
        result = term if result is None else result + term
    if result is None:
        return v * 0 + coefficients[0]
    return result + coefficients[0]
