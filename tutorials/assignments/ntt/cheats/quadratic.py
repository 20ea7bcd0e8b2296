"""Cheat: the O(N^2) definition copied into the file (correct, and fast enough for a 5 s clock).

Blocked: the grader measures the CPU time of the process from outside; from N = 512 to 2048
it grows 16-fold, not 5-fold.
must fail: test_work_grows_like_n_log_n
"""


def _brv(k, bits):
    return int(format(k, f"0{bits}b")[::-1], 2) if bits else 0


def ntt(a, q, psi):
    n = len(a)
    bits = n.bit_length() - 1
    roots = [pow(psi, 2 * _brv(k, bits) + 1, q) for k in range(n)]
    return [sum(c * pow(r, i, q) for i, c in enumerate(a)) % q for r in roots]


def intt(values, q, psi):
    n = len(values)
    bits = n.bit_length() - 1
    inverse_n = pow(n, -1, q)
    out = [0] * n
    for k, v in enumerate(values):
        r_inv = pow(pow(psi, 2 * _brv(k, bits) + 1, q), -1, q)
        for i in range(n):
            out[i] = (out[i] + v * pow(r_inv, i, q)) % q
    return [x * inverse_n % q for x in out]


def multiply(a, b, q, psi):
    return intt([x * y % q for x, y in zip(ntt(a, q, psi), ntt(b, q, psi))], q, psi)
