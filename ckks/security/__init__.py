"""The security layer: what the scheme must refuse, and what decryption must hide.

What lives here: the HomomorphicEncryption.org standard's table of the
largest log2(QP) per ring degree and security level, and the rules that go
with it (`ckks.security.standard`); noise flooding for decryption
against IND-CPA-D attacks (`ckks.security.flooding`).

The key-recovery attack that shows why flooding is needed uses the whole
high-level API and so sits at the top, in `ckks.attacks`.

May import: `ckks.ring`, `ckks.errors`, `ckks.validation`.
The scheme layer imports this layer (the parameter check and the flooding
decryptor), so nothing here may import `ckks.scheme` or anything above.
"""
