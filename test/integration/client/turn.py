"""A minimal TURN client (RFC 5766/8656 over UDP, stdlib only) for the coturn test.

Usage: turn.py HOST PORT SHARED_SECRET USER_ID LIFETIME_S PEER [PEER ...] [--password-override P]
Derives the time-limited credential the way Synapse does (voip turnServer endpoint):
  username = "<expiry seconds>:<user id>", password = base64(HMAC-SHA1(secret, username)).
Allocates a UDP relay, asks for a permission to each PEER (never sends data to any), releases
the allocation, and prints one JSON object with the outcome of each step.
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
ALLOCATE, REFRESH, CREATE_PERMISSION = 0x0003, 0x0004, 0x0008
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE = 0x0006, 0x0008, 0x0009, 0x0014, 0x0015
REQUESTED_TRANSPORT, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS, LIFETIME = 0x0019, 0x0012, 0x0016, 0x000D


def attr(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * ((4 - len(value) % 4) % 4)


def xor_address(ip, port):
    packed = socket.inet_aton(ip)
    xip = bytes(a ^ b for a, b in zip(packed, struct.pack("!I", MAGIC)))
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + xip


def message(kind, attrs, key=None):
    tid = os.urandom(12)
    body = b"".join(attrs)
    if key is not None:
        header = struct.pack("!HHI", kind, len(body) + 24, MAGIC) + tid
        mac = hmac.new(key, header + body, hashlib.sha1).digest()
        body += attr(MESSAGE_INTEGRITY, mac)
    return struct.pack("!HHI", kind, len(body), MAGIC) + tid + body


def parse(data):
    kind, length, _ = struct.unpack("!HHI", data[:8])
    attrs, i = {}, 20
    while i < 20 + length:
        t, n = struct.unpack("!HH", data[i : i + 4])
        attrs[t] = data[i + 4 : i + 4 + n]
        i += 4 + n + ((4 - n % 4) % 4)
    error = None
    if ERROR_CODE in attrs:
        v = attrs[ERROR_CODE]
        error = (v[2] & 7) * 100 + v[3]
    return kind, attrs, error


def relayed(attrs):
    v = attrs[XOR_RELAYED_ADDRESS]
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    ip = socket.inet_ntoa(bytes(a ^ b for a, b in zip(v[4:8], struct.pack("!I", MAGIC))))
    return ip, port


def main():
    args = sys.argv[1:]
    override = None
    if "--password-override" in args:
        i = args.index("--password-override")
        override = args[i + 1]
        args = args[:i] + args[i + 2 :]
    host, port, secret, user_id, lifetime, *peers = args
    expiry = int(time.time()) + int(lifetime)
    username = f"{expiry}:{user_id}"
    password = override or base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    server = (host, int(port))

    def ask(kind, attrs, key=None):
        sock.sendto(message(kind, attrs, key), server)
        return parse(sock.recv(2048))

    out = {"username": username}
    transport = attr(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))
    _, challenge, error = ask(ALLOCATE, [transport])
    out["unauthenticated"] = error
    realm, nonce = challenge[REALM], challenge[NONCE]
    key = hashlib.md5(username.encode() + b":" + realm + b":" + password.encode()).digest()
    auth = [attr(USERNAME, username.encode()), attr(REALM, realm), attr(NONCE, nonce)]
    _, attrs, error = ask(ALLOCATE, [transport, *auth], key)
    out["allocate"] = error or 200
    if error is None:
        out["relayed"] = "%s:%d" % relayed(attrs)
        out["permissions"] = {}
        for peer in peers:
            _, _, perr = ask(CREATE_PERMISSION, [attr(XOR_PEER_ADDRESS, xor_address(peer, 0)), *auth], key)
            out["permissions"][peer] = perr or 200
        _, _, rerr = ask(REFRESH, [attr(LIFETIME, struct.pack("!I", 0)), *auth], key)
        out["released"] = rerr or 200
    print(json.dumps(out))


main()
