"""The scheme layer: CKKS over the ring (Cheon, Kim, Kim and Song, ASIACRYPT 2017).

What lives here: parameters and their security check
(`parameters`), the canonical-embedding encoder
(`encoder`), plaintexts and ciphertexts
(`ciphertext`), secret, public and relinearization keys,
Galois keys and the key generator (`ckks.scheme.keys`), hybrid key switching
(`ckks.scheme.keyswitch`), encryption and decryption
(`ckks.scheme.encryption`), the evaluator: add, multiply, relinearize,
rescale, level switching (`ckks.scheme.evaluator`), the automorphisms
X -> X^g of the Galois group (`ckks.scheme.automorphism`) and the rotator
that applies them with key switching (`ckks.scheme.rotation`), and the one
hook that counts their operations while an `OperationCounter` is active
(`ckks.scheme.counting`).

Every operation here is one step of the scheme, SEAL-shaped and explicit:
nothing relinearizes or rescales by itself.

May import: `ckks.ring`, `ckks.security`, `ckks.errors`,
`ckks.validation`, `ckks.container`.  Nothing from
`ckks.circuits` or the high-level API.
"""
