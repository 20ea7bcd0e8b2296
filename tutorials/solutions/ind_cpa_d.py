"""Reference solution: key recovery from one decryption (Li and Micciancio, Eurocrypt 2021).

m' = round(Delta * sigma^-1(z')) = c_0 + c_1 s (mod q_0) exactly, so in NTT form
s_k = (m'_k - c_0k) / c_1k (mod q_0), coordinate by coordinate; an inverse NTT and
centring give the ternary s.  With flooding, m' carries a wide extra Gaussian and the
"solution" is spread over all of Z_q0: the public-key check rejects it.
"""

from __future__ import annotations

import numpy as np

import ckks


def _centre(values: np.ndarray, q: int) -> np.ndarray:
    values = values.astype(object)
    return np.array([int(v) - q if int(v) > q // 2 else int(v) for v in values], dtype=object)


def recover_secret(ciphertext, values) -> np.ndarray:
    """Solve c_1 s = m' - c_0 (mod q_0) for s."""
    params = ciphertext.params
    q = params.data_moduli[0]
    m = np.rint(ckks.Encoder(params).embed_inverse(np.asarray(values, dtype=complex)) * ciphertext.scale)
    m_hat = params.at_level(0).from_signed(m.astype(np.int64))[0]
    c0, c1 = ciphertext.data[0, 0], ciphertext.data[1, 0]
    s_hat = [(int(mk) - int(ak)) * pow(int(bk), -1, q) % q for mk, ak, bk in zip(m_hat, c0, c1)]
    s = params.at_level(0).inverse(np.array([s_hat], dtype=np.uint64))[0]
    return np.array([int(x) for x in _centre(s, q)], dtype=np.int64)  # |x| <= q_0 / 2 < 2^60


def is_secret_key(public_key, candidate) -> bool:
    """b + a * candidate (mod q_0) must be the small public-key error."""
    params = public_key.params
    candidate = np.asarray(candidate)
    if candidate.shape != (params.poly_degree,) or np.any(np.abs(candidate) > 1):
        return False
    q = params.data_moduli[0]
    s_hat = params.at_level(0).from_signed(candidate.astype(np.int64))[0]
    b, a = public_key.data[0, 0], public_key.data[1, 0]
    e_hat = np.array([(int(bk) + int(ak) * int(sk)) % q for bk, ak, sk in zip(b, a, s_hat)], dtype=np.uint64)
    e = params.at_level(0).inverse(e_hat.reshape(1, -1))[0]
    return bool(np.max(np.abs(_centre(e, q).astype(float))) <= 6 * params.sigma)
