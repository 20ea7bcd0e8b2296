"""Cheat: decrypt the logits, compute the softmax in the clear, encrypt the probabilities.

Blocked: the submission's context has no secret key.
must fail: test_exp[width2], test_inverse[wide], test_soft_argmax[classes3], test_soft_argmax[classes4]
"""

import numpy as np


def exp_shifted(v, low, high, depth):
    return v.context.encrypt(np.exp(np.real(v.decrypt()) - high)) * 1.0


def inverse(v, low, high, depth):
    return v.context.encrypt(1 / np.real(v.decrypt())) * 1.0


def soft_argmax(logits, low, high, depth):
    z = np.stack([np.real(v.decrypt()) for v in logits], axis=1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return [logits[0].context.encrypt(p[:, i]) * 1.0 for i in range(len(logits))]
