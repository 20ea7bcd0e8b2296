"""The TenSEAL twin of an encrypted model: the same network run with TenSEAL (Microsoft SEAL), one image at a time.

For cross-checks and benchmarks.  TenSEAL expresses: a first ``Conv2d`` with one
input channel (``im2col_encoding`` + ``conv2d_im2col`` per output channel, then
``pack_vectors``), ``Flatten``, ``Linear`` (``mm`` + bias), ``Square``
(``square``) and polynomial activations (``polyval``).  It cannot do a second
convolution (TenSEAL issue #403) or pooling on the packed layout: such models
raise ``ConfigError``.  TenSEAL is a test dependency, imported when a twin is made.
"""

from __future__ import annotations

import numpy as np

from nn.activations import PolyActivation, Square
from nn.errors import ConfigError
from nn.layers import Conv2d, Flatten, Linear
from nn.model import Sequential


class TenSEALTwin:
    """A TenSEAL evaluation of ``model`` with the given ring and primes.

    Args:
        model: an ``nn.Sequential`` TenSEAL can express (see the module docstring).
        poly_degree: N.
        moduli_bits: the prime bit sizes (use the EncryptedModel's, for the same Q*P; with a first
            convolution one more prime of ``scale_bits`` is inserted, as TenSEAL's convolution takes two levels).
        scale_bits: log2 of TenSEAL's global scale.
        extra_conv_prime: with a first convolution, insert one more prime of ``scale_bits`` (True, for
            ``moduli_bits`` taken from an EncryptedModel); False when ``moduli_bits`` already holds TenSEAL's two
            convolution levels (TenSEAL's tutorial 4: ``N = 8192``, ``[31, 26, 26, 26, 26, 26, 26, 31]``, scale 2^26).

    Raises:
        ConfigError: a layer TenSEAL cannot evaluate (a second convolution, pooling, SoftArgmax).
    """

    def __init__(self, model: Sequential, poly_degree: int, moduli_bits, scale_bits: int,
                 extra_conv_prime: bool = True):
        import tenseal as ts

        self.ts = ts
        convs = [i for i, layer in enumerate(model.layers) if isinstance(layer, Conv2d)]
        if len(convs) > 1:
            raise ConfigError(
                f"layer {convs[1]}:Conv2d: TenSEAL cannot evaluate a second convolution (TenSEAL issue #403: its "
                "im2col convolution needs the client to unroll the input); use nn.encrypted"
            )
        self.conv = None
        self.ops: list[tuple] = []
        self.outputs = int(model.layers[-1].params["weight"].shape[1]) if isinstance(model.layers[-1], Linear) else 0
        for i, layer in enumerate(model.layers):
            if isinstance(layer, Conv2d):
                if i != 0 or layer.in_channels != 1:
                    raise ConfigError(
                        f"layer {i}:Conv2d: TenSEAL evaluates only a first convolution with one input channel "
                        "(client-side im2col); a second convolution is TenSEAL issue #403 - use nn.encrypted"
                    )
                self.conv = layer
            elif isinstance(layer, Flatten):
                continue
            elif isinstance(layer, Linear):
                self.ops.append(("linear", layer.params["weight"].copy(), layer.params["bias"].copy()))
            elif isinstance(layer, Square):
                self.ops.append(("square",))
            elif isinstance(layer, PolyActivation):
                self.ops.append(("poly", [float(c) for c in layer.coeffs]))
            else:
                raise ConfigError(f"layer {i}:{type(layer).__name__} has no TenSEAL twin here")
        self._augment()
        bits = [int(b) for b in moduli_bits]
        if self.conv is not None and extra_conv_prime:  # conv2d_im2col takes two levels in TenSEAL (one in ours)
            bits.insert(1, int(scale_bits))
        self.moduli_bits = bits
        self.poly_degree, self.scale_bits = int(poly_degree), int(scale_bits)
        self.context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=int(poly_degree), coeff_mod_bit_sizes=bits)
        self.context.global_scale = 2.0 ** scale_bits
        self.context.generate_galois_keys()

    def _augment(self) -> None:
        """Carry the biases of linear layers in a constant unit instead of adding plain vectors.

        TenSEAL's ``vector + list`` between two ``mm`` calls corrupts the next product (the plain
        vector is not laid out like the ``mm`` output), so the twin appends a constant 1 to the
        input and keeps a constant unit through the network: a bias becomes one more row of the
        weight matrix.  The last layer's bias is added at the end, where the layout no longer matters.
        After a first convolution (input from ``pack_vectors``) every bias is added after its ``mm``, as
        TenSEAL's tutorial 4 does (``enc_x.mm(w) + b``), which TenSEAL evaluates correctly there.
        """
        const = None if self.conv is not None else 1.0
        linear = [i for i, op in enumerate(self.ops) if op[0] == "linear"]
        out = []
        for i, op in enumerate(self.ops):
            if op[0] != "linear":
                if const is not None:
                    const = float(np.polynomial.polynomial.polyval(const, [0, 0, 1] if op[0] == "square" else op[1]))
                    if const == 0:
                        raise ConfigError("an activation maps the constant unit to 0; no TenSEAL twin for this model")
                out.append(op)
                continue
            w, b = op[1], op[2]
            last = i == linear[-1]
            if const is None:  # after pack_vectors: mm + bias, as TenSEAL's tutorial 4
                out.append(("linear", w, b, None))
                continue
            w = np.vstack([w, b / const])
            if not last:
                column = np.zeros((w.shape[0], 1))
                column[-1, 0] = 1.0 / const
                w = np.hstack([w, column])
                const = 1.0
            out.append(("linear", w, None, None))
        self.ops = out
        self.append_one = self.conv is None

    def encrypt(self, image: np.ndarray):
        """Encrypt one sample: im2col patches for a first convolution, else the flattened features.

        Args:
            image: one sample (C, H, W) or (features,).

        Returns:
            ``(ciphertext, windows)`` (windows is None without a convolution).
        """
        x = np.asarray(image, dtype=np.float64)
        if self.conv is None:
            return self.ts.ckks_vector(self.context, [*x.reshape(-1).tolist(), 1.0]), None
        p = self.conv.padding
        img = np.pad(x.reshape(x.shape[-2:]), p) if p else x.reshape(x.shape[-2:])
        k = self.conv.kernel_size
        return self.ts.im2col_encoding(self.context, img.tolist(), k, k, self.conv.stride)

    def run(self, encrypted) -> object:
        """Evaluate the network on one encrypted sample (TenSEAL operations only).

        Args:
            encrypted: the pair `encrypt` returned.

        Returns:
            The encrypted output (a TenSEAL CKKSVector).
        """
        enc, windows = encrypted
        if self.conv is not None:
            weight = self.conv.params["weight"]
            bias = self.conv.params["bias"]
            channels = [enc.conv2d_im2col(weight[f, 0].tolist(), windows) + float(bias[f])
                        for f in range(weight.shape[0])]
            enc = self.ts.CKKSVector.pack_vectors(channels)
        for op in self.ops:
            if op[0] == "linear":
                enc = enc.mm(op[1].tolist())
                if op[2] is not None:
                    enc = enc + op[2].tolist()
            elif op[0] == "square":
                enc = enc.square()  # square_() in TenSEAL's tutorial; not in place here: enc may be the caller's input
            else:
                enc = enc.polyval(op[1])
        return enc

    def decrypt(self, encrypted) -> np.ndarray:
        """The decrypted outputs, without the constant unit.

        Args:
            encrypted: the output of `run`.

        Returns:
            The logits.
        """
        values = np.asarray(encrypted.decrypt())
        return values[: self.outputs]

    def classify(self, image: np.ndarray) -> np.ndarray:
        """Encrypt, run and decrypt one sample.

        Args:
            image: one sample.

        Returns:
            The decrypted outputs (logits).
        """
        return self.decrypt(self.run(self.encrypt(image)))
