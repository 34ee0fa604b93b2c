"""A Matrix client session through the proxy, with matrix-nio: the traffic the routing must place.

Usage: scenario.py BASE_URL REGISTRATION_SHARED_SECRET [OPTIONS_JSON]
OPTIONS_JSON (all optional):
  users:          localparts of the users (the first two are the sender and the reader)
  admin:          localpart of the admin user (quarantines media)
  haproxyLog:     HAProxy's access log, read to know when the traffic has reached enough servers
  spread:         {backend: servers} the room-keyed and round-robin traffic must reach before it stops
  eventPersisters: how many event persisters shard rooms (rooms are created until each has one)
  maxRooms:       the most rooms created while waiting for the spread
Prints one JSON object: what each step returned, for the test to check against the proxy's log.

Traffic is shaped so that a balance that is not sticky shows: every user's syncs and key uploads,
every room's sends and receipts come as runs of back-to-back requests to the same backend.
"""
import asyncio
import hashlib
import hmac
import io
import json
import re
import sys
import time
import urllib.parse
import urllib.request

from nio import AsyncClient, JoinedMembersResponse, RoomMessageText, SyncResponse, UploadResponse

BASE, SECRET = sys.argv[1], sys.argv[2]
OPTIONS = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
USERS = OPTIONS.get("users", ["alice", "bob"])
ADMIN = OPTIONS.get("admin", "root")
HAPROXY_LOG = OPTIONS.get("haproxyLog")
SPREAD = OPTIONS.get("spread", {})
PERSISTERS = OPTIONS.get("eventPersisters", 1)
MAX_ROOMS = OPTIONS.get("maxRooms", 12)
PASSWORD = "correct horse battery staple"
LOG_LINE = re.compile(r"^\S+ (\S+) (\S+) backend=(\S+) server=(\S+) status=(-?\d+) ")


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


def q(part):
    """Percent-encode a path segment (urllib sends it as written; nio's aiohttp sends room ids' `!` unescaped)."""
    return urllib.parse.quote(part, safe="")


def register(localpart, admin=False):
    """Shared-secret registration (the admin API), the way operators create accounts."""
    _, nonce = http("GET", "/_synapse/admin/v1/register")
    kind = "admin" if admin else "notadmin"
    mac = hmac.new(SECRET.encode(), b"\x00".join(p.encode() for p in (nonce["nonce"], localpart, PASSWORD, kind)), hashlib.sha1)
    status, body = http(
        "POST",
        "/_synapse/admin/v1/register",
        {"nonce": nonce["nonce"], "username": localpart, "password": PASSWORD, "admin": admin, "mac": mac.hexdigest()},
    )
    assert status == 200, (status, body)
    return body["user_id"], body["access_token"]


def logged(backend, path_part):
    """Servers HAProxy logged for `backend` requests whose decoded path contains `path_part`."""
    if not HAPROXY_LOG:
        return []
    with open(HAPROXY_LOG, encoding="utf8", errors="replace") as f:
        return [m.group(4) for m in map(LOG_LINE.match, f) if m and m.group(3) == backend and path_part in urllib.parse.unquote(m.group(2))]


def servers_reached(backend, parts, expected):
    """Distinct servers that served logged requests to `backend` for any of `parts`, once `expected` are logged (or 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        seen = [s for part in parts for s in logged(backend, part)]
        if len(seen) >= expected or time.monotonic() > deadline:
            return set(seen)
        time.sleep(0.1)


def persister_of(room_id):
    """Synapse's own event sharding (ShardedWorkerHandlingConfig): sha256 of the room id, little-endian, mod count."""
    return int.from_bytes(hashlib.sha256(room_id.encode()).digest(), "little") % PERSISTERS


async def main():
    out = {}
    admin_id, admin_token = register(ADMIN, admin=True)
    ids = [register(name)[0] for name in USERS]
    clients = [AsyncClient(BASE, user_id) for user_id in ids]
    alice, bob = clients[0], clients[1]
    others = clients[1:]
    try:
        for client in clients:
            login = await client.login(PASSWORD, device_name="matrix-scale-test")
            assert client.access_token, login
        out["tokens"] = {name: client.access_token for name, client in zip(USERS, clients)}

        async def new_room(i):
            created = await alice.room_create(name=f"routing {i}", invite=ids[1:])
            room = created.room_id
            assert room, created
            for client in others:
                joined = await client.join(room)
                assert getattr(joined, "room_id", None) == room, joined
            return room

        room = await new_room(0)
        rooms = [room]
        out["room"] = room

        # Initial syncs (no since, then full_state=true with since) for every user, back to back.
        for client in clients:
            first = await client.sync(timeout=0)
            assert isinstance(first, SyncResponse), first
            full = await client.sync(timeout=0, since=first.next_batch, full_state=True)
            assert isinstance(full, SyncResponse), full
            client.next_batch = full.next_batch

        sent = []
        for i in range(3):
            response = await alice.room_send(room, "m.room.message", {"msgtype": "m.text", "body": f"hello {i}"})
            sent.append(response.event_id)
        out["sent"] = sent

        async def room_traffic(room_id, events):
            """Room-keyed requests in runs: sends (client_room), then receipts and read markers (stream_receipts)."""
            for i in range(3):
                response = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": f"{room_id} {i}"})
                assert getattr(response, "event_id", None), response
                events.append(response.event_id)
            topic = await alice.room_put_state(room_id, "m.room.topic", {"topic": "routing"})
            assert getattr(topic, "event_id", None), topic
            history = await bob.room_messages(room_id, limit=5)
            assert getattr(history, "chunk", None) is not None, history
            for client in others:
                receipt = await client.update_receipt_marker(room_id, events[-1])
                assert type(receipt).__name__ == "UpdateReceiptMarkerResponse", receipt
            markers = await bob.room_read_markers(room_id, events[-1], events[-1])
            assert type(markers).__name__ == "RoomReadMarkersResponse", markers

        await room_traffic(room, list(sent))
        # More rooms until the room-keyed traffic has reached every server it may (their ids are random).
        while True:
            keyed = [f"/rooms/{r}/" for r in rooms]
            done = len(rooms) >= 3 and all(
                len(servers_reached(backend, keyed, len(rooms))) >= want for backend, want in SPREAD.items() if backend in ("client_room", "stream_receipts")
            ) and len({persister_of(r) for r in rooms}) >= PERSISTERS
            if done or len(rooms) >= MAX_ROOMS:
                break
            extra = await new_room(len(rooms))
            rooms.append(extra)
            await room_traffic(extra, [])
        out["rooms"] = rooms

        typing = await alice.room_typing(room, True, timeout=10_000)
        out["typing"] = type(typing).__name__
        receipt = await bob.update_receipt_marker(room, sent[-1])
        out["receipt"] = type(receipt).__name__

        # Single-writer streams: each endpoint once.
        alice_q, bob_q = q(ids[0]), q(ids[1])
        out["toDevice"] = http("PUT", f"/_matrix/client/v3/sendToDevice/m.test/txn1", {"messages": {ids[1]: {"*": {"x": 1}}}}, alice.access_token)[0]
        out["accountData"] = http("PUT", f"/_matrix/client/v3/user/{alice_q}/account_data/m.test", {"x": 1}, alice.access_token)[0]
        out["tags"] = http("PUT", f"/_matrix/client/v3/user/{alice_q}/rooms/{q(room)}/tags/u.test", {"order": 0.5}, alice.access_token)[0]
        out["presence"] = http("PUT", f"/_matrix/client/v3/presence/{bob_q}/status", {"presence": "online"}, bob.access_token)[0]
        out["pushRules"] = http("GET", "/_matrix/client/v3/pushrules/", None, alice.access_token)[0]

        payload = b"matrix-scale media check " * 64
        upload, _ = await alice.upload(io.BytesIO(payload), content_type="application/octet-stream", filename="check.bin", filesize=len(payload))
        assert isinstance(upload, UploadResponse), upload
        download = await bob.download(upload.content_uri)
        out["media"] = {"uri": upload.content_uri, "roundTrip": getattr(download, "body", None) == payload}

        # quarantined_media_changes (written by the media repositories): quarantine uploads back to
        # back (round robin; uploads in between would take every other turn) until every media
        # repository has served one.
        quarantined = {}
        want = SPREAD.get("media", 1)
        while len(quarantined) < 8:
            batch = []
            for _ in range(max(want, 2)):
                # Distinct content: Synapse quarantines every upload with the same sha256 together.
                content = b"quarantine %d" % (len(quarantined) + len(batch))
                extra, _ = await alice.upload(io.BytesIO(content), content_type="text/plain", filename="q.txt", filesize=len(content))
                assert isinstance(extra, UploadResponse), extra
                batch.append(extra.content_uri.split("/")[-1])
            for media_id in batch:
                quarantined[media_id] = http("POST", f"/_synapse/admin/v1/media/quarantine/matrix.test/{media_id}", {}, admin_token)[0]
            if len(servers_reached("media", [f"/media/quarantine/matrix.test/{m}" for m in quarantined], len(quarantined))) >= want:
                break
        out["quarantined"] = quarantined

        # device_lists (hashed by user): two key uploads back to back per user.
        out["keysUpload"] = sorted({http("POST", "/_matrix/client/v3/keys/upload", {"one_time_keys": {}}, c.access_token)[0] for c in clients for _ in range(2)})
        status, keys = http("POST", "/_matrix/client/v3/keys/query", {"device_keys": {ids[1]: []}}, alice.access_token)
        out["keysQuery"] = status

        # Incremental syncs: three back to back per user, then Bob's until he sees Alice's messages.
        seen = []

        def saw(response):
            assert isinstance(response, SyncResponse), response
            timeline = response.rooms.join.get(room)
            return [e.body for e in timeline.timeline.events if isinstance(e, RoomMessageText)] if timeline else []

        for client in clients:
            for _ in range(3):
                response = await client.sync(timeout=0)
                seen += saw(response) if client is bob else []
        for _ in range(10):
            if len(seen) >= 3:
                break
            seen += saw(await bob.sync(timeout=1000))
        out["bobSaw"] = seen
        members = await alice.joined_members(room)
        out["members"] = sorted(m.user_id for m in members.members) if isinstance(members, JoinedMembersResponse) else []
        out["replicationStatus"] = http("GET", "/_synapse/replication/get_repl_stream_updates/events/1")[0]
    finally:
        for client in clients:
            await client.close()
    print(json.dumps(out))


asyncio.run(main())
