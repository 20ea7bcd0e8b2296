"""The plaintext twin of encrypted training: the same arithmetic as the packed circuit, in numpy.

The network is ``Linear(n_in, h) -> p -> Linear(h, n_out)`` with a polynomial
activation p(x) = c1 x + c2 x^2 (p(0) = 0), trained by mini-batch gradient
descent on the mean-squared error

    L = 1 / (2 B) sum_(samples i) sum_(classes c) (z_ic - y_ic)^2,   dL/dz = (z - y) / B,

against one-hot labels y.  Both the encrypted circuit and this twin work on
*augmented* d x d matrices (d a power of two):

* X_a = [x, 1, 0...] (a column of ones carries the first bias);
* W1_a = [[W1, 0], [b1, 1]] padded: row n_in holds b1, and W1_a[n_in, h] = 1
  makes hidden column h identically 1, whose activation p(1) carries the second bias;
* W2_a = [[W2], [b2 / p(1)]] padded.

One step (lr the learning rate, B the number of samples in the batch):

    Z1 = X_a W1_a;  A1 = Z1 * (c2 Z1 + c1);  P1 = 2 c2 Z1 + c1        (p and p')
    Z2 = A1 W2_a;   E = Z2 - Y
    dZ1 = (E (W2_a with row h zeroed)^T) * P1
    W1_a -= X_a^T ((lr / B) dZ1)
    W2_a -= ((lr / B) (A1 with column h scaled by 1 / p(1)^2))^T E

which is exactly SGD on the unaugmented network (zeroing row h keeps the
constant column fixed; the 1 / p(1)^2 turns the gradient of the stored
b2 / p(1) into that of b2).  Zero padding rows (a partial last block) add
nothing because p(0) = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TwinState", "augment_batch", "cross_entropy", "loss_and_accuracy", "surrogate_error", "twin_step"]


@dataclass
class TwinState:
    """Augmented weights of the twin (or of the decrypted encrypted model).

    Attributes:
        w1: W1_a, shape (d, d).
        w2: W2_a, shape (d, d).
        coeffs: (c1, c2) of the activation when they are trained (a trainable activation), else None.
    """

    w1: np.ndarray
    w2: np.ndarray
    coeffs: np.ndarray | None = None

    def copy(self) -> TwinState:
        """A deep copy.

        Returns:
            A new TwinState.
        """
        return TwinState(self.w1.copy(), self.w2.copy(), None if self.coeffs is None else self.coeffs.copy())


def augment_batch(x: np.ndarray, y: np.ndarray, d: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """X_a (rows [x, 1, 0...]) and the one-hot targets, padded to d columns and to whole blocks of d rows.

    Args:
        x: (B, n_in) features.
        y: (B,) integer labels in [0, n_out).
        d: the block dimension.
        n_out: the number of classes.

    Returns:
        ``(xa, ya)`` of shape (m d, d) with m = ceil(B / d); padding rows are zero.
    """
    b, n_in = x.shape
    rows = -(-b // d) * d
    xa = np.zeros((rows, d))
    xa[:b, :n_in] = x
    xa[:b, n_in] = 1.0
    ya = np.zeros((rows, d))
    ya[np.arange(b), y] = 1.0
    return xa, ya


def surrogate_error(z2: np.ndarray, ya: np.ndarray, batch: int, n_out: int, slope: float) -> np.ndarray:
    """dL/dz of the linear softmax surrogate: (1 + a u) / K - y on the first ``batch`` rows and ``n_out`` columns.

    u = z - mean_k(z) over the K = ``n_out`` classes (`nn.encrypted.training_rows.softmax_slope` gives a);
    zero elsewhere (padding rows and columns).

    Args:
        z2: (rows, d) logits.
        ya: (rows, d) one-hot targets.
        batch: B, the real samples (the first rows).
        n_out: K.
        slope: a.

    Returns:
        (rows, d) errors.
    """
    e = np.zeros_like(z2)
    logits = z2[:batch, :n_out]
    u = logits - logits.mean(axis=1, keepdims=True)
    e[:batch, :n_out] = (1.0 + slope * u) / n_out - ya[:batch, :n_out]
    return e


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean softmax cross-entropy of (n, K) logits against integer labels.

    Args:
        logits: (n, K).
        labels: (n,) integers in [0, K).

    Returns:
        The mean of -log softmax(logits)[label].
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_soft = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_soft[np.arange(len(labels)), labels]))


def twin_step(
    state: TwinState, xa: np.ndarray, ya: np.ndarray, batch: int, lr: float, coeffs: tuple[float, float], hidden: int,
    softmax: tuple[int, float] | None = None,
) -> dict[str, np.ndarray]:
    """One step of the twin (updates ``state`` in place); the intermediates are returned for range checks.

    Args:
        state: the augmented weights.
        xa: augmented batch, (m d, d).
        ya: padded one-hot targets, (m d, d).
        batch: B, the number of real samples.
        lr: the learning rate.
        coeffs: (c1, c2) of p(x) = c1 x + c2 x^2.
        hidden: h, the index of the constant hidden column.
        softmax: None for the MSE loss, or (K, a) for the linear softmax surrogate (`surrogate_error`).
        When ``state.coeffs`` is set the activation's coefficients are those and are trained too:
        c2 -= (lr / B) sum dA1 * Z1^2, c1 -= (lr / B) sum dA1 * Z1 over the samples and hidden units
        (the gradients of nn's trainable activation, shared by all units), and row h of W2_a is scaled by
        p_old(1) / p_new(1) so that it keeps holding b2 / p(1).

    Returns:
        ``{name: array}`` for Z1, A1, Z2, E, dA1, dZ1, dW1, dW2 and the loss (a 0-d array: the MSE, or for the
        surrogate the cross-entropy of softmax(Z2)).
    """
    c1, c2 = coeffs if state.coeffs is None else (float(state.coeffs[0]), float(state.coeffs[1]))
    w1, w2 = state.w1, state.w2
    d = w1.shape[0]
    step = lr / batch
    z1 = xa @ w1
    a1 = z1 * (c2 * z1 + c1)
    p1 = 2.0 * c2 * z1 + c1
    z2 = a1 @ w2
    e = z2 - ya if softmax is None else surrogate_error(z2, ya, batch, softmax[0], slope=softmax[1])
    w2_masked = w2.copy()
    w2_masked[hidden, :] = 0.0
    da1 = e @ w2_masked.T
    dz1 = da1 * p1
    col_scale = np.ones(d)
    col_scale[hidden] = 1.0 / (c1 + c2) ** 2
    dw1 = xa.T @ (step * dz1)
    dw2 = (step * (a1 * col_scale)).T @ e
    state.w1 = w1 - dw1
    state.w2 = w2 - dw2
    if state.coeffs is not None:
        units = da1[:, :hidden], z1[:, :hidden]
        state.coeffs = np.array([c1 - step * float(np.sum(units[0] * units[1])),
                                 c2 - step * float(np.sum(units[0] * units[1] ** 2))])
        state.w2[hidden, :] *= (c1 + c2) / float(state.coeffs.sum())
    if softmax is None:
        loss = np.asarray(0.5 * np.sum(e * e) / batch)
    else:
        loss = np.asarray(cross_entropy(z2[:batch, : softmax[0]], np.argmax(ya[:batch, : softmax[0]], axis=1)))
    return {"Z1": z1, "A1": a1, "Z2": z2, "E": e, "dA1": da1, "dZ1": dz1, "dW1": dw1, "dW2": dw2, "loss": loss}


def loss_and_accuracy(
    state: TwinState, x: np.ndarray, y: np.ndarray, coeffs: tuple[float, float], n_out: int, loss: str = "mse"
) -> tuple[float, float]:
    """The loss (MSE as in training, or the softmax cross-entropy) and accuracy of augmented weights on a data set.

    Args:
        state: augmented weights.
        x: (n, n_in) features.
        y: (n,) labels.
        coeffs: (c1, c2) of the activation (``state.coeffs`` instead when set).
        n_out: the number of classes.
        loss: ``"mse"`` or ``"softmax_ce"``.

    Returns:
        ``(loss, accuracy)``.
    """
    d = state.w1.shape[0]
    xa, ya = augment_batch(x, y, d, n_out)
    c1, c2 = coeffs if state.coeffs is None else (float(state.coeffs[0]), float(state.coeffs[1]))
    z1 = xa @ state.w1
    z2 = (z1 * (c2 * z1 + c1)) @ state.w2
    n = x.shape[0]
    e = z2[:n] - ya[:n]
    value = float(0.5 * np.sum(e[:, :n_out] ** 2) / n) if loss == "mse" else cross_entropy(z2[:n, :n_out], y)
    accuracy = float(np.mean(np.argmax(z2[:n, :n_out], axis=1) == y))
    return value, accuracy
