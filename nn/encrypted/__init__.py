"""``nn.encrypted``: encrypted inference (and, later, training) of ``nn`` models on CKKS.

::

    from nn import encrypted
    em = encrypted.compile(model, input_shape=(1, 8, 8), batch_size=1)
    print(em.summary())
    ctx = em.keygen(); server = ctx.public_copy()
    y = em.decrypt(ctx, em.run(server, em.encrypt(ctx, x)))

Modules: `nn.encrypted.plan` (stages, folding, calibration),
`nn.encrypted.params` (parameters from depth), the layouts
`nn.encrypted.sample_layout` (one sample per ciphertext) and
`nn.encrypted.batch_layout` (slot = sample), `nn.encrypted.convolution`
(client-side im2col, server-side convolution), `nn.encrypted.softargmax`,
`nn.encrypted.argmax` (``nn.Argmax`` by comparisons: an encrypted one-hot output),
`nn.encrypted.approximation` (``compile(..., approximate=True)``: ReLU, max-pool, sigmoid, tanh,
GELU and SiLU of unmodified networks by polynomial approximations),
`nn.encrypted.tensor` (encrypted batches and their bytes),
`nn.encrypted.compiler` (compile, EncryptedModel), `nn.encrypted.distributed` (runs
on a dask cluster: ``em.run(..., client=)``, `run_batches`), `nn.encrypted.kernels` (the
batch layout's fused integer-weight kernel), `nn.encrypted.pretrained` (the shipped digits and MNIST
models), `nn.encrypted.tenseal_twin` (the same network in TenSEAL) and the demo
``python -m nn.encrypted.demo``.
"""

from nn.encrypted.compiler import EncryptedModel, InputRangeWarning, compile
from nn.encrypted.distributed import run_batches
from nn.encrypted.params import ParameterChoice, choose_parameters
from nn.encrypted.tensor import EncryptedBatch

__all__ = [
    "EncryptedBatch",
    "EncryptedModel",
    "InputRangeWarning",
    "ParameterChoice",
    "choose_parameters",
    "compile",
    "run_batches",
]

try:  # encrypted training lands as nn/encrypted/training.py
    from nn.encrypted.training import train  # noqa: F401

    __all__.append("train")
except ModuleNotFoundError as exc:  # pragma: no cover - not there yet
    if exc.name != "nn.encrypted.training":
        raise
