"""A Matrix client session through the proxy, with matrix-nio: the traffic the routing must place.

Usage: scenario.py BASE_URL REGISTRATION_SHARED_SECRET
Prints one JSON object: what each step returned, for the test to check against the proxy's log.
"""
import asyncio
import hashlib
import hmac
import io
import json
import sys
import urllib.request

from nio import AsyncClient, JoinedMembersResponse, RoomMessageText, SyncResponse, UploadResponse

BASE, SECRET = sys.argv[1], sys.argv[2]
PASSWORD = "correct horse battery staple"


def http(method, path, body=None, token=None):
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def register(localpart):
    """Shared-secret registration (the admin API), the way operators create accounts."""
    _, nonce = http("GET", "/_synapse/admin/v1/register")
    mac = hmac.new(SECRET.encode(), b"\x00".join(p.encode() for p in (nonce["nonce"], localpart, PASSWORD, "notadmin")), hashlib.sha1)
    status, body = http(
        "POST",
        "/_synapse/admin/v1/register",
        {"nonce": nonce["nonce"], "username": localpart, "password": PASSWORD, "admin": False, "mac": mac.hexdigest()},
    )
    assert status == 200, (status, body)
    return body["user_id"]


async def main():
    out = {}
    alice_id, bob_id = register("alice"), register("bob")
    alice, bob = AsyncClient(BASE, alice_id), AsyncClient(BASE, bob_id)
    try:
        for client in (alice, bob):
            login = await client.login(PASSWORD, device_name="matrix-scale-test")
            assert client.access_token, login
        out["tokens"] = {"alice": alice.access_token, "bob": bob.access_token}

        created = await alice.room_create(name="routing", invite=[bob_id])
        room = created.room_id
        out["room"] = room
        joined = await bob.join(room)
        assert getattr(joined, "room_id", None) == room, joined

        # Initial sync (no since), then incremental syncs (since) for both users.
        for client in (alice, bob):
            first = await client.sync(timeout=0)
            assert isinstance(first, SyncResponse), first
        for _ in range(3):
            assert isinstance(await alice.sync(timeout=0), SyncResponse)

        sent = []
        for i in range(3):
            response = await alice.room_send(room, "m.room.message", {"msgtype": "m.text", "body": f"hello {i}"})
            sent.append(response.event_id)
        out["sent"] = sent

        typing = await alice.room_typing(room, True, timeout=10_000)
        out["typing"] = type(typing).__name__
        receipt = await bob.update_receipt_marker(room, sent[-1])
        out["receipt"] = type(receipt).__name__

        payload = b"matrix-scale media check " * 64
        upload, _ = await alice.upload(io.BytesIO(payload), content_type="application/octet-stream", filename="check.bin", filesize=len(payload))
        assert isinstance(upload, UploadResponse), upload
        download = await bob.download(upload.content_uri)
        out["media"] = {"uri": upload.content_uri, "roundTrip": getattr(download, "body", None) == payload}

        status, _ = http("POST", "/_matrix/client/v3/keys/upload", {"one_time_keys": {}}, alice.access_token)
        out["keysUpload"] = status
        status, keys = http("POST", "/_matrix/client/v3/keys/query", {"device_keys": {bob_id: []}}, alice.access_token)
        out["keysQuery"] = status

        # Bob's incremental syncs must show Alice's messages.
        seen = []
        for _ in range(10):
            response = await bob.sync(timeout=1000)
            assert isinstance(response, SyncResponse), response
            timeline = response.rooms.join.get(room)
            if timeline:
                seen += [e.body for e in timeline.timeline.events if isinstance(e, RoomMessageText)]
            if len(seen) >= 3:
                break
        out["bobSaw"] = seen
        members = await alice.joined_members(room)
        out["members"] = sorted(m.user_id for m in members.members) if isinstance(members, JoinedMembersResponse) else []
        out["replicationStatus"] = http("GET", "/_synapse/replication/get_repl_stream_updates/events/1")[0]
    finally:
        await alice.close()
        await bob.close()
    print(json.dumps(out))


asyncio.run(main())
