"""The main demo: classify encrypted digits with a shipped HE-friendly model on a server without the secret key.

Run ``python -m nn.encrypted.demo`` (``--help`` for options).  It loads the
pre-trained digits MLP shipped in the package, compiles it twice (one image
per ciphertext for single-image latency; slot = image for throughput),
encrypts test images on the "client", evaluates them on a public copy of the
context (the "server"), decrypts, and prints plaintext accuracy, encrypted
accuracy, agreement, levels, parameters and time per image.

``python -m nn.encrypted.demo --dataset mnist`` does the same on 28x28 MNIST digits
(``nn.datasets.load_mnist()``) with the shipped ``mnist_tenseal_cnn`` (TenSEAL's MNIST tutorial
network) or ``--model mnist_lenet``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


class ProgressBar:
    """A progress bar (tqdm, `ckks.progress`): on stderr only when it is a terminal, always on a given ``stream``.

    Args:
        total: number of steps.
        label: text in front of the bar.
        stream: where to write (default: stderr, when it is a terminal).
    """

    def __init__(self, total: int, label: str, stream=None):
        from ckks.progress import progress_bar

        self.total, self.done = max(1, total), 0
        self.bar = progress_bar(self.total, label, stream=stream)

    def update(self, steps: int = 1) -> None:
        """Advance by ``steps``; the bar closes (one finished line) when all steps are done.

        Args:
            steps: how many steps were completed.
        """
        steps = min(steps, self.total - self.done)
        self.done += steps
        self.bar.update(steps)
        if self.done == self.total:
            self.bar.close()


#: The shipped models of each dataset, the default first.
DATASET_MODELS = {"digits": ("digits_mlp", "digits_cnn"), "mnist": ("mnist_tenseal_cnn", "mnist_lenet")}


def main(argv: list[str] | None = None) -> dict:
    """Run the demo and print its report.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The measured numbers (accuracies, agreement, times, parameters), for tests.
    """
    parser = argparse.ArgumentParser(prog="python -m nn.encrypted.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=["digits", "mnist"],
                        help="8x8 digits (default) or 28x28 MNIST digits")
    parser.add_argument("--model", default=None, choices=[*DATASET_MODELS["digits"], *DATASET_MODELS["mnist"]],
                        help="shipped model (default: digits_mlp, or mnist_tenseal_cnn with --dataset mnist)")
    parser.add_argument("--images", type=int, default=None,
                        help="test images classified in the batch run (default: 450 digits, 200 MNIST)")
    parser.add_argument("--single", type=int, default=3, help="images classified one by one (latency)")
    parser.add_argument("--toy", action="store_true", help="insecure small ring for a quick look (N=2048; MNIST: "
                        "N=8192 and no flooding)")
    args = parser.parse_args(argv)
    args.model = args.model or DATASET_MODELS[args.dataset][0]
    if args.model not in DATASET_MODELS[args.dataset]:
        parser.error(f"--model {args.model} is for another dataset; with --dataset {args.dataset} use one of "
                     f"{', '.join(DATASET_MODELS[args.dataset])}")
    if args.images is None:
        args.images = 450 if args.dataset == "digits" else 200

    import nn
    from nn import encrypted
    from nn.datasets import load_digits, load_mnist
    from nn.encrypted import pretrained

    t_start = time.perf_counter()
    data = load_digits() if args.dataset == "digits" else load_mnist()
    model = pretrained.load(args.model)
    n = max(1, min(args.images, len(data.y_test)))
    x, y = data.x_test[:n], data.y_test[:n]
    shape = tuple(data.x_test.shape[1:])
    plain = model.predict(x).argmax(axis=1)
    print(f"model: shipped {args.model}  ({model.num_parameters()} parameters, trained on {len(data.y_train)} "
          f"{shape[-2]}x{shape[-1]} digits)")
    print(f"plaintext accuracy on {n} test images: {np.mean(plain == y):.2%}")
    options = {"calibration": data.x_train}
    if args.toy:
        warnings.simplefilter("ignore")
        options.update(security=None, poly_degree=2048)
        if args.dataset == "mnist":  # im2col patches of a 28x28 image need 3136 slots
            options.update(poly_degree=8192, flooding=False)

    # --- single image: one sample per ciphertext ----------------------------------------------
    single = encrypted.compile(model, shape, batch_size=1, layout="sample", **options)
    print("\n" + single.summary() + "\n")
    bar = ProgressBar(2, "key generation")
    ctx1 = single.keygen()
    bar.update()
    server1 = ctx1.public_copy()  # the server gets public material only
    bar.update()
    k = max(1, min(args.single, n))
    latencies, single_pred = [], []
    bar = ProgressBar(k, "single images (encrypted)")
    for i in range(k):
        t0 = time.perf_counter()
        enc = single.encrypt(ctx1, x[i : i + 1])
        out = single.run(server1, enc)
        logits = single.decrypt(ctx1, out)
        latencies.append(time.perf_counter() - t0)
        single_pred.append(int(logits.argmax()))
        bar.update()
    latency = float(np.median(latencies))

    # --- batch: slot = image ----------------------------------------------------------------------------
    batch = encrypted.compile(model, shape, batch_size=n, layout="batch", **options)
    ctx2 = batch.keygen()
    server2 = ctx2.public_copy()
    bar = ProgressBar(len(batch.stages) + 2, f"batch of {n} (encrypted)")
    t0 = time.perf_counter()
    enc = batch.encrypt(ctx2, x)
    bar.update()
    t_run = time.perf_counter()
    out = batch.run(server2, enc, progress=lambda done, total: bar.update())
    t_run = time.perf_counter() - t_run
    logits = batch.decrypt(ctx2, out)
    bar.update()
    t_batch = time.perf_counter() - t0
    enc_pred = logits.argmax(axis=1)
    plain_logits = model.predict(x)

    result = {
        "plaintext_accuracy": float(np.mean(plain == y)),
        "encrypted_accuracy": float(np.mean(enc_pred == y)),
        "agreement": float(np.mean(enc_pred == plain)),
        "single_agreement": float(np.mean(np.array(single_pred) == plain[:k])),
        "max_logit_error": float(np.max(np.abs(logits - plain_logits))),
        "latency_s": latency,
        "batch_s": t_batch,
        "amortised_s": t_batch / n,
        "server_batch_s": t_run,
        "levels": batch.depth,
        "levels_unfolded": batch.unfolded_depth,
        "parameters_single": single.params.describe(),
        "parameters_batch": batch.params.describe(),
        "total_s": time.perf_counter() - t_start,
    }
    print("\n=== encrypted inference on a server without the secret key ===")
    print(f"parameters (single image): {result['parameters_single']}")
    print(f"parameters (batch):        {result['parameters_batch']}")
    print(f"levels used: {single.depth} (single), {batch.depth} (batch); without folding: {batch.unfolded_depth}")
    print(f"plaintext accuracy:  {result['plaintext_accuracy']:.2%}")
    print(f"encrypted accuracy:  {result['encrypted_accuracy']:.2%}  ({n} images, batch layout)")
    print(f"agreement with plaintext predictions: {result['agreement']:.2%} (batch), "
          f"{result['single_agreement']:.0%} of {k} single images; max |logit error| {result['max_logit_error']:.1e}")
    print(f"time per image: {latency:.3f} s single-image latency (encrypt + run + decrypt); "
          f"{result['amortised_s'] * 1e3:.2f} ms amortised in a batch of {n} ({t_batch:.2f} s in all)")
    print(f"total demo time {result['total_s']:.1f} s.  The core CKKS demo: python -m ckks.demo"
          + ("; MNIST: python -m nn.encrypted.demo --dataset mnist" if args.dataset == "digits" else ""))
    _ = nn  # the package the model comes from
    return result


if __name__ == "__main__":  # pragma: no cover
    main()
