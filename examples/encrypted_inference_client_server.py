"""Encrypted inference with the client and the server in two processes that exchange only bytes.

    python examples/encrypted_inference_client_server.py

The client owns the images and the secret key; the server owns the model and
sees only public material.  Both compile the same shipped model with the same
calibration data, so they agree on the plan (its fingerprint is checked when
the server runs it).  Messages, all ``bytes`` over a pipe:

    client -> server   public context (ckks.Context.serialize(), no secret key)
    client -> server   encrypted images (EncryptedBatch.serialize())
    server -> client   encrypted logits (EncryptedBatch.serialize())
"""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np


def compile_shipped(batch_size: int):
    from nn import encrypted
    from nn.datasets import load_digits
    from nn.encrypted import pretrained

    data = load_digits()
    model = pretrained.load("digits_mlp")
    em = encrypted.compile(model, (1, 8, 8), batch_size, layout="batch", calibration=data.x_train)
    return em, model, data


def server(conn, batch_size: int) -> None:
    """The server: loads the public context and the ciphertexts from bytes, evaluates, answers bytes."""
    import ckks
    from nn.encrypted import EncryptedBatch

    em, _, _ = compile_shipped(batch_size)
    context = ckks.Context.load(conn.recv_bytes())
    assert not context.is_private, "the server must not hold the secret key"
    enc = EncryptedBatch.load(context, conn.recv_bytes())
    start = time.perf_counter()
    out = em.run(context, enc)
    conn.send_bytes(out.serialize())
    conn.send(time.perf_counter() - start)
    conn.close()


def main(count: int = 64) -> float:
    em, model, data = compile_shipped(count)
    x = data.x_test[:count]
    ctx = em.keygen()
    spawn = mp.get_context("spawn")
    client_end, server_end = spawn.Pipe()
    proc = spawn.Process(target=server, args=(server_end, count))
    proc.start()
    public = ctx.serialize()  # secret_key=False by default
    blob = em.encrypt(ctx, x).serialize()
    client_end.send_bytes(public)
    client_end.send_bytes(blob)
    from nn.encrypted import EncryptedBatch

    answer = client_end.recv_bytes()
    seconds = client_end.recv()
    proc.join()
    logits = em.decrypt(ctx, EncryptedBatch.load(ctx, answer))
    agreement = float(np.mean(logits.argmax(1) == model.predict(x).argmax(1)))
    print(f"sent {len(public) / 1e6:.1f} MB of public keys and {len(blob) / 1e6:.1f} MB of encrypted images; "
          f"received {len(answer) / 1e6:.1f} MB of encrypted logits")
    accuracy = float(np.mean(logits.argmax(1) == data.y_test[:count]))
    print(f"server time {seconds:.2f} s for {count} images; accuracy {accuracy:.2%}, "
          f"agreement with the plaintext model {agreement:.2%}")
    return agreement


if __name__ == "__main__":
    main()
