# Derives the known-answer cosignature in vectors.json from the C2SP tlog-cosignature text alone, with pyca/cryptography
# (OpenSSL's Ed25519), an implementation independent of this project's TypeScript. Run: /usr/bin/python3 derive.py
import base64, hashlib, json, struct
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # golang/mod sumdb/note tests
seed = base64.b64decode(skey.split("+", 4)[4])[1:]
name = "witness.example/w1"
timestamp = 1679315147  # the spec's example "time" line
checkpoint = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
key = Ed25519PrivateKey.from_private_bytes(seed)
pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
key_id = hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4]
message = f"cosignature/v1\ntime {timestamp}\n{checkpoint}".encode()
sig = key.sign(message)
line = "\u2014 " + name + " " + base64.b64encode(key_id + struct.pack(">Q", timestamp) + sig).decode() + "\n"
print(json.dumps({
    "name": name, "seedSkey": skey, "vkey": f"{name}+{key_id.hex()}+" + base64.b64encode(b"\x04" + pub).decode(),
    "timestamp": timestamp, "checkpoint": checkpoint, "message": message.decode(), "signatureLine": line,
}, indent=1, ensure_ascii=False))
