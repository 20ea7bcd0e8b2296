"""What noise flooding costs on the shipped models: ``python -m nn.encrypted.flooding_cost [--toy] [--model M]``.

Three runs on the same test images (batch layout): compiled with ``flooding=False``; compiled with flooding
(the default) and decrypted plainly (the key owner's own view, never shown); and the same ciphertexts
decrypted with flooding (what may be shared).  See `nn.encrypted.flooding` and docs/concepts/security.md.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ckks.scheme.encryption import Decryptor


def cost(model_name: str = "digits_mlp", images: int = 100, toy: bool = False) -> list[dict]:
    """Measure what flooding costs on a shipped model: parameters, output error and agreement, with and without.

    Three runs on the same test images (batch layout): compiled without flooding; compiled with it
    (the default) and decrypted plainly (the key owner's own view, never shown); and the same
    ciphertexts decrypted with flooding (what may be shared).

    Args:
        model_name: a shipped model (``nn.encrypted.pretrained``).
        images: test images.
        toy: an insecure N = 2048 ring instead of the 128-bit choice.

    Returns:
        One dict per run: ``run``, ``parameters``, ``max_error`` (max |decrypted - plaintext logits|),
        ``bits`` (-log2 of it) and ``agreement`` (argmax equal to the plaintext model's).
    """
    from nn.datasets import load_digits
    from nn.encrypted import compile as compile_model
    from nn.encrypted import pretrained

    data, net = load_digits(), pretrained.load(model_name)
    x = data.x_test[:images]
    want = net.forward(x)
    options = {"security": None, "poly_degree": 2048} if toy else {}
    rows = []

    def row(name, params, got):
        err = float(np.max(np.abs(got - want)))
        rows.append({"run": name, "parameters": params.describe(), "max_error": err, "bits": -math.log2(err),
                     "agreement": float(np.mean(got.argmax(1) == want.argmax(1)))})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for flooding in (False, True):
            em = compile_model(net, (1, 8, 8), len(x), layout="batch", calibration=data.x_train, flooding=flooding,
                               **options)
            ctx = em.keygen()
            out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
            if flooding:
                plain = Decryptor(ctx.params, ctx.secret_key)
                values = [ctx.encoder.decode(plain.decrypt(v.ciphertext)).real for v in out.vectors]
                row("flooding budgeted, plain decryption (owner only)", em.params,
                    em._layout.unpack(values, out.count, em.outputs))
            row("flooding (default)" if flooding else "flooding=False", em.params, em.decrypt(ctx, out))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print `cost` for the shipped models (``python -m nn.encrypted.flooding_cost [--toy] [--model M] [--images K]``).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m nn.encrypted.flooding_cost",
                                     description=cost.__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits_mlp", choices=["digits_mlp", "digits_cnn"])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--toy", action="store_true", help="insecure N=2048 ring")
    args = parser.parse_args(argv)
    for r in cost(args.model, args.images, args.toy):
        print(f"{r['run']:<50} max |error| {r['max_error']:.2e} ({r['bits']:.1f} bits)  agreement "
              f"{100 * r['agreement']:.1f}%\n    {r['parameters']}")


if __name__ == "__main__":
    main()
