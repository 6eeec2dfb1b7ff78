#!/usr/bin/python3
"""matrix-nio (Debian's python3-matrix-nio) against a homeserver, as a bot would use it.

Usage: /usr/bin/python3 nio_client.py HOMESERVER_URL USERNAME PASSWORD

Registers USERNAME (nio sends one request with m.login.dummy and no session), checks whoami with the new token,
then, as a fresh client, logs in with the password, checks whoami, syncs twice (an initial sync and an incremental
long-poll, both with timeout=1000) and logs out. nio returns *Error objects instead of raising, so every response is
checked here. Prints one JSON line {"ok": bool, "steps": {step: {...}}} and exits 1 if any step failed.
"""

import asyncio
import json
import sys
import time

import nio

# No end-to-end encryption (it would need a store directory and key uploads), and bounded retries so a broken
# server fails the run instead of hanging it.
CONFIG = nio.AsyncClientConfig(
    encryption_enabled=False,
    store_sync_tokens=False,
    max_timeouts=2,
    max_limit_exceeded=0,
    request_timeout=60,
)


class Run:
    def __init__(self):
        self.steps = {}
        self.ok = True

    def record(self, step, response, **fields):
        """Records the step; returns whether it succeeded."""
        entry = {"type": type(response).__name__}
        if isinstance(response, nio.ErrorResponse):
            self.ok = False
            entry["status_code"] = response.status_code
            entry["message"] = response.message
        else:
            entry.update(fields)
        self.steps[step] = entry
        return not isinstance(response, nio.ErrorResponse)


async def register_and_whoami(run, homeserver, username, password):
    client = nio.AsyncClient(homeserver, f"@{username}:localhost", config=CONFIG)
    try:
        r = await client.register(username, password, device_name="nio register")
        if not run.record(
            "register",
            r,
            user_id=getattr(r, "user_id", None),
            device_id=getattr(r, "device_id", None),
            has_access_token=bool(getattr(r, "access_token", None)),
        ):
            return False
        w = await client.whoami()
        return run.record("register_whoami", w, user_id=getattr(w, "user_id", None))
    finally:
        await client.close()


async def login_sync_logout(run, homeserver, username, password):
    client = nio.AsyncClient(homeserver, f"@{username}:localhost", config=CONFIG)
    try:
        r = await client.login(password, device_name="nio login")
        if not run.record(
            "login",
            r,
            user_id=getattr(r, "user_id", None),
            device_id=getattr(r, "device_id", None),
            has_access_token=bool(getattr(r, "access_token", None)),
        ):
            return False
        w = await client.whoami()
        # nio 0.20's WhoamiResponse keeps only user_id (the proxy checks the whole body against the spec).
        if not run.record("whoami", w, user_id=getattr(w, "user_id", None)):
            return False
        for step in ("sync", "sync_incremental"):
            # The second call passes the first's next_batch as `since` (nio keeps it): a long-poll of 1 s.
            started = time.monotonic()
            s = await client.sync(timeout=1000)
            if not run.record(
                step,
                s,
                next_batch=getattr(s, "next_batch", None),
                seconds=round(time.monotonic() - started, 3),
            ):
                return False
        o = await client.logout()
        return run.record("logout", o)
    finally:
        await client.close()


async def main(homeserver, username, password):
    run = Run()
    try:
        if await register_and_whoami(run, homeserver, username, password):
            await login_sync_logout(run, homeserver, username, password)
    except Exception as e:  # a transport failure: report it like an error response
        run.ok = False
        run.steps["exception"] = {"type": type(e).__name__, "message": str(e)}
    print(json.dumps({"ok": run.ok, "steps": run.steps}), flush=True)
    return 0 if run.ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(asyncio.run(asyncio.wait_for(main(*sys.argv[1:]), timeout=100)))
