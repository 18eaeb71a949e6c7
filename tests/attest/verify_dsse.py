"""Verifies a kube-evidence pack's attestation with a stock DSSE implementation (securesystemslib)
and prints the in-toto statement inside. Usage: verify_dsse.py ENVELOPE KEYID ED25519_PUBLIC_HEX"""
import json
import sys

from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

path, keyid, public = sys.argv[1:4]
with open(path, "rb") as f:
    envelope = Envelope.from_dict(json.load(f))
key = SSlibKey(keyid, "ed25519", "ed25519", {"public": public})
accepted = envelope.verify([key], 1)
assert keyid in accepted, accepted
assert envelope.payload_type == "application/vnd.in-toto+json", envelope.payload_type
json.dump(json.loads(envelope.payload), sys.stdout)
