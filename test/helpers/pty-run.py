#!/usr/bin/env python3
"""Runs a command in a real pseudo-terminal and answers its prompts, for the CLI tests.

Usage: pty-run.py SPEC_JSON, where SPEC_JSON is
  {"argv": [...], "cwd": "...", "env": {...}, "timeout": seconds,
   "steps": [{"expect": "text the program prints", "send": "what to type"}, ...]}

Each step waits until `expect` appears in the output after the previous step's match, pauses briefly (as a person
would, and so the program has switched the terminal to its mode for that prompt), then types `send`. After the last
step the output is read until the program closes the terminal. Prints one JSON object:
  {"transcript": "...", "code": exit code or null, "failed_step": index or null}
"""
import json
import os
import pty
import select
import signal
import sys
import time


def main() -> None:
    spec = json.loads(sys.argv[1])
    timeout = float(spec.get("timeout", 20))
    pid, fd = pty.fork()
    if pid == 0:
        if spec.get("cwd"):
            os.chdir(spec["cwd"])
        env = dict(os.environ)
        env.update(spec.get("env") or {})
        os.execvpe(spec["argv"][0], spec["argv"], env)

    buf = b""
    eof = False
    deadline = time.monotonic() + timeout

    def read_some(wait: float) -> None:
        nonlocal buf, eof
        if eof:
            time.sleep(wait)
            return
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            data = b""
        if not data:
            eof = True
        buf += data

    failed_step = None
    pos = 0
    for i, step in enumerate(spec.get("steps", [])):
        needle = step["expect"].encode("utf-8")
        while True:
            at = buf.find(needle, pos)
            if at >= 0:
                pos = at + len(needle)
                break
            if eof or time.monotonic() > deadline:
                failed_step = i
                break
            read_some(0.05)
        if failed_step is not None:
            break
        # Let the program settle into the mode it reads this answer in.
        settle = time.monotonic() + float(step.get("delay", 0.3))
        while time.monotonic() < settle:
            read_some(0.05)
        os.write(fd, step["send"].encode("utf-8"))

    while not eof and time.monotonic() < deadline:
        read_some(0.1)
    if not eof:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os.close(fd)
    json.dump(
        {"transcript": buf.decode("utf-8", "replace"), "code": code, "failed_step": failed_step, "timed_out": not eof},
        sys.stdout,
    )


main()
