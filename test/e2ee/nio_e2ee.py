#!/usr/bin/python3
"""matrix-nio (Debian's python3-matrix-nio) with end-to-end encryption (python3-olm) in an encrypted room.

Usage: /usr/bin/python3 nio_e2ee.py HOMESERVER_URL USER_ID PASSWORD ROOM_ID STORE_DIR

Logs in (nio keeps its olm account in STORE_DIR), uploads its device and one-time keys, syncs until the invite to
ROOM_ID arrives and joins. Then long-polls /sync, doing what nio asks for along the way (key upload, key query,
key claim), until a megolm message "hello nio" from someone else decrypts, retrying any it could not decrypt yet as
room keys arrive. Then answers "pong from nio" encrypted in the room (to every device, unverified or not) and logs
out. Prints one JSON line {"ok": bool, "steps": {...}} and exits 1 if any step failed.
"""

import asyncio
import json
import sys

import nio

# Long-polls of 5 s: the invite and the message wake them at once.
POLL_MS = 5_000
MAX_POLLS = 16
EXPECTED = "hello nio"


class Run:
    def __init__(self):
        self.steps = {}
        self.ok = True

    def record(self, step, response, **fields):
        entry = {"type": type(response).__name__}
        if isinstance(response, nio.ErrorResponse):
            self.ok = False
            entry["status_code"] = response.status_code
            entry["message"] = response.message
        else:
            entry.update(fields)
        self.steps[step] = entry
        return not isinstance(response, nio.ErrorResponse)

    def fail(self, step, message, **fields):
        self.ok = False
        self.steps[step] = {"type": "Failure", "message": message, **fields}
        return False


async def housekeeping(run, client):
    """The key requests nio's olm machine wants after a sync; the first error of each kind is recorded."""
    if client.should_upload_keys:
        r = await client.keys_upload()
        if isinstance(r, nio.ErrorResponse):
            run.record("keys_upload_error", r)
    if client.should_query_keys:
        r = await client.keys_query()
        if isinstance(r, nio.ErrorResponse):
            run.record("keys_query_error", r)
    if client.should_claim_keys:
        r = await client.keys_claim(client.get_users_for_key_claiming())
        if isinstance(r, nio.ErrorResponse):
            run.record("keys_claim_error", r)


async def sync_until(run, client, step, found):
    """Syncs (nio keeps `since`) until found(response) returns something; records it under `step`."""
    for _ in range(MAX_POLLS):
        s = await client.sync(timeout=POLL_MS)
        if isinstance(s, nio.ErrorResponse):
            run.record(step, s)
            return None
        await housekeeping(run, client)
        value = found(s)
        if value is not None:
            return value
    return None


async def bot(run, homeserver, user_id, password, room_id, store_dir):
    config = nio.AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,
        max_timeouts=2,
        max_limit_exceeded=0,
        request_timeout=60,
    )
    client = nio.AsyncClient(homeserver, user_id, store_path=store_dir, config=config)
    try:
        login = await client.login(password, device_name="nio e2ee")
        if not run.record("login", login, device_id=getattr(login, "device_id", None)):
            return
        if not client.olm:
            run.fail("olm", "nio has no olm machine: python3-olm is missing")
            return
        up = await client.keys_upload()
        if not run.record("keys_upload", up, one_time_key_counts=getattr(up, "signed_curve25519_count", None)):
            return

        invite = await sync_until(run, client, "invite", lambda s: s.rooms.invite.get(room_id))
        if invite is None:
            run.fail("invite", f"not seen after {MAX_POLLS} syncs")
            return
        j = await client.join(room_id)
        if not run.record("join", j, room_id=getattr(j, "room_id", None)):
            return

        to_device = []
        undecrypted = {}

        def heard(s):
            to_device.extend(type(e).__name__ for e in s.to_device_events)
            joined = s.rooms.join.get(room_id)
            for e in joined.timeline.events if joined else []:
                if isinstance(e, nio.MegolmEvent):
                    undecrypted[e.event_id] = e
                elif isinstance(e, nio.RoomMessageText) and e.sender != user_id and e.body == EXPECTED:
                    return e
            # A message that came before its room key: try again now that more keys may have arrived.
            for event_id, e in list(undecrypted.items()):
                try:
                    clear = client.decrypt_event(e)
                except Exception:  # still no key for it
                    continue
                del undecrypted[event_id]
                if isinstance(clear, nio.RoomMessageText) and clear.body == EXPECTED:
                    return clear
            return None

        message = await sync_until(run, client, "message", heard)
        if message is None:
            run.fail(
                "message",
                f"no decrypted '{EXPECTED}' after {MAX_POLLS} syncs",
                undecrypted=[e.event_id for e in undecrypted.values()],
                to_device=to_device,
            )
            return
        run.steps["message"] = {
            "type": type(message).__name__,
            "sender": message.sender,
            "body": message.body,
            "encrypted": bool(message.decrypted),
            "to_device": to_device,
        }

        room = client.rooms.get(room_id)
        run.steps["room"] = {"type": "MatrixRoom", "encrypted": bool(room and room.encrypted)}
        answer = {"msgtype": "m.text", "body": "pong from nio"}
        r = await client.room_send(room_id, "m.room.message", answer, ignore_unverified_devices=True)
        if not run.record("answer", r, event_id=getattr(r, "event_id", None)):
            return
        run.record("logout", await client.logout())
    finally:
        await client.close()


async def main(homeserver, user_id, password, room_id, store_dir):
    run = Run()
    try:
        await bot(run, homeserver, user_id, password, room_id, store_dir)
    except Exception as e:  # a transport failure or a response nio could not parse
        run.ok = False
        run.steps["exception"] = {"type": type(e).__name__, "message": str(e)}
    print(json.dumps({"ok": run.ok, "steps": run.steps}), flush=True)
    return 0 if run.ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    sys.exit(asyncio.run(asyncio.wait_for(main(*sys.argv[1:]), timeout=100)))
