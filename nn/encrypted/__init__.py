"""``nn.encrypted``: encrypted inference (and, later, training) of ``nn`` models on CKKS.

::

    from nn import encrypted
    em = encrypted.compile(model, input_shape=(1, 8, 8), batch_size=1)
    print(em.summary())
    ctx = em.keygen(); server = ctx.public_copy()
    y = em.decrypt(ctx, em.run(server, em.encrypt(ctx, x)))

Modules: :mod:`nn.encrypted.plan` (stages, folding, calibration),
:mod:`nn.encrypted.params` (parameters from depth), the layouts
:mod:`nn.encrypted.sample_layout` (one sample per ciphertext) and
:mod:`nn.encrypted.batch_layout` (slot = sample), :mod:`nn.encrypted.convolution`
(client-side im2col, server-side convolution), :mod:`nn.encrypted.softargmax`,
:mod:`nn.encrypted.tensor` (encrypted batches and their bytes),
:mod:`nn.encrypted.compiler` (compile, EncryptedModel), :mod:`nn.encrypted.kernels` (the
batch layout's fused integer-weight kernel), :mod:`nn.encrypted.pretrained` (the shipped digits
models), :mod:`nn.encrypted.tenseal_twin` (the same network in TenSEAL) and the demo
``python -m nn.encrypted.demo``.
"""

from nn.encrypted.compiler import EncryptedModel, InputRangeWarning, compile
from nn.encrypted.params import ParameterChoice, choose_parameters
from nn.encrypted.tensor import EncryptedBatch

__all__ = [
    "EncryptedBatch",
    "EncryptedModel",
    "InputRangeWarning",
    "ParameterChoice",
    "choose_parameters",
    "compile",
]

try:  # encrypted training lands as nn/encrypted/training.py
    from nn.encrypted.training import train  # noqa: F401

    __all__.append("train")
except ModuleNotFoundError as exc:  # pragma: no cover - not there yet
    if exc.name != "nn.encrypted.training":
        raise
