#!/usr/bin/env python3
"""Make the RSA-PSS fixture the way TiBillet signs its tickets' QR codes.

This is the separate signer of the tibillet tests: it shares no code with
admit. It writes, next to itself:

  tibillet_rsa_public.pem    the event's public key (SubjectPublicKeyInfo PEM)
  tibillet_rsa_fixture.json  {"uuid", "qrcode_data", "std_uuid", "std_qrcode_data"}

TiBillet's scheme (Lespass, fedow_connect.utils):
  payload   = base64url WITH padding of json.dumps({"uuid": "<uuid>"})
              (default separators: a space after the colon)
  signature = RSA-2048 (e = 65537) PSS, MGF1(SHA-256), salt_length =
              PSS.MAX_LENGTH, SHA-256, over the ASCII bytes of the payload
              string; encoded base64url WITH padding.
  QR code   = payload + ":" + signature

"qrcode_data" is exactly that. "std_qrcode_data" is a second ticket whose
payload and signature use the STANDARD base64 alphabet (TiBillet's server
decodes payloads with base64.b64decode). A payload of only {"uuid": ...}
reads the same in both alphabets (hex digits never make six 1-bits in a
row), so this one carries one more field, "note", chosen so that the
payload holds a "+" or "/" and the two alphabets really differ.

The private key is thrown away: the server under test only ever gets the
public key. Run: python3 make_rsa_fixture.py  (needs the cryptography package)
"""
import base64
import json
import os
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

here = os.path.dirname(os.path.abspath(__file__))
pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign(payload: bytes) -> bytes:
    sig = key.sign(payload, pss, hashes.SHA256())
    key.public_key().verify(sig, payload, pss, hashes.SHA256())  # check our own work
    return sig


# The TiBillet code: url-safe alphabet, with padding.
ticket_uuid = str(uuid.uuid4())
payload = base64.urlsafe_b64encode(json.dumps({"uuid": ticket_uuid}).encode("utf-8"))
qr = payload.decode("ascii") + ":" + base64.urlsafe_b64encode(sign(payload)).decode("ascii")
assert len(payload.rstrip(b"=")) == 64, len(payload)
assert len(qr.split(":")[1]) == 344 and qr.endswith("==")

# A code in the standard alphabet: a payload with "+" or "/" in it.
std_uuid = str(uuid.uuid4())
for n in range(1, 64):
    std_payload = base64.b64encode(json.dumps({"uuid": std_uuid, "note": "?" * n}).encode("utf-8"))
    if b"+" in std_payload or b"/" in std_payload:
        break
else:
    raise SystemExit("no standard-alphabet payload found")
std_qr = std_payload.decode("ascii") + ":" + base64.b64encode(sign(std_payload)).decode("ascii")

pem = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
with open(os.path.join(here, "tibillet_rsa_public.pem"), "wb") as f:
    f.write(pem)
with open(os.path.join(here, "tibillet_rsa_fixture.json"), "w") as f:
    json.dump(
        {"uuid": ticket_uuid, "qrcode_data": qr, "std_uuid": std_uuid, "std_qrcode_data": std_qr},
        f,
        indent=2,
    )
    f.write("\n")
print(qr)
print(std_qr)
