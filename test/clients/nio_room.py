#!/usr/bin/python3
"""matrix-nio (Debian's python3-matrix-nio) as a bot in a room it was invited to.

Usage: /usr/bin/python3 nio_room.py HOMESERVER_URL USERNAME PASSWORD ROOM_ID

Logs in, syncs until the invite to ROOM_ID arrives, joins, says "USERNAME is here", then long-polls /sync until
someone else says "ping USERNAME" in the room and answers "pong: ping USERNAME". nio parses (and schema-checks)
every sync response, so a malformed room section fails here. Prints one JSON line {"ok": bool, "steps": {...}}
and exits 1 if any step failed.
"""

import asyncio
import json
import sys

import nio

CONFIG = nio.AsyncClientConfig(
    encryption_enabled=False,
    store_sync_tokens=False,
    max_timeouts=2,
    max_limit_exceeded=0,
    request_timeout=60,
)

# Long-polls of 10 s: the invite and the ping wake them at once; a missed wake-up costs one poll, then fails.
POLL_MS = 10_000
MAX_POLLS = 8


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

    def fail(self, step, message):
        self.ok = False
        self.steps[step] = {"type": "Failure", "message": message}
        return False


async def sync_until(run, client, step, found):
    """Syncs (nio keeps `since`) until found(response) returns something; records it under `step`."""
    for _ in range(MAX_POLLS):
        s = await client.sync(timeout=POLL_MS)
        if isinstance(s, nio.ErrorResponse):
            run.record(step, s)
            return None
        value = found(s)
        if value is not None:
            return value
    run.fail(step, f"not seen after {MAX_POLLS} syncs")
    return None


async def bot(run, homeserver, username, password, room_id):
    me = f"@{username}:localhost"
    client = nio.AsyncClient(homeserver, me, config=CONFIG)
    try:
        if not run.record("login", await client.login(password, device_name="nio bot")):
            return
        invite = await sync_until(run, client, "invite", lambda s: s.rooms.invite.get(room_id))
        if invite is None:
            return
        run.steps["invite"] = {"type": "InviteInfo", "events": [type(e).__name__ for e in invite.invite_state]}
        j = await client.join(room_id)
        if not run.record("join", j, room_id=getattr(j, "room_id", None)):
            return
        hello = {"msgtype": "m.text", "body": f"{username} is here"}
        if not run.record("hello", await client.room_send(room_id, "m.room.message", hello)):
            return

        wanted = f"ping {username}"

        def ping(s):
            joined = s.rooms.join.get(room_id)
            for e in joined.timeline.events if joined else []:
                if isinstance(e, nio.RoomMessageText) and e.sender != me and e.body == wanted:
                    return e
            return None

        heard = await sync_until(run, client, "heard", ping)
        if heard is None:
            return
        run.steps["heard"] = {"type": type(heard).__name__, "sender": heard.sender, "body": heard.body}
        # nio's room state, built from the sync responses: the members it knows of.
        room = client.rooms.get(room_id)
        run.steps["room"] = {"type": "MatrixRoom", "members": sorted(room.users) if room else None}
        answer = {"msgtype": "m.text", "body": f"pong: {heard.body}"}
        r = await client.room_send(room_id, "m.room.message", answer)
        if not run.record("answer", r, event_id=getattr(r, "event_id", None)):
            return
        run.record("logout", await client.logout())
    finally:
        await client.close()


async def main(homeserver, username, password, room_id):
    run = Run()
    try:
        await bot(run, homeserver, username, password, room_id)
    except Exception as e:  # a transport failure or a response nio could not parse
        run.ok = False
        run.steps["exception"] = {"type": type(e).__name__, "message": str(e)}
    print(json.dumps({"ok": run.ok, "steps": run.steps}), flush=True)
    return 0 if run.ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(asyncio.run(asyncio.wait_for(main(*sys.argv[1:]), timeout=100)))
