#!/usr/bin/env python3
"""Checks that every example answers --help and refuses an unknown flag, as a user expects.

  check_help.py EXAMPLE...

`EXAMPLE --help` must print its usage on stdout and exit 0; `EXAMPLE --no-such-flag` must
name the flag and print the usage on stderr and exit 2. Each run is killed after 10 s (a
server that starts serving instead is a failure); the runs go in parallel, so the whole check
takes at most about 10 s. One line per check (`ok ...` / `FAIL ...: why`), exit status 1 if
any failed.
"""
import concurrent.futures
import os
import subprocess
import sys

TIMEOUT = 10  # seconds for one run
BAD_FLAG = "--no-such-flag"
# (argument, exit status wanted, where the output goes, what it must say, case-insensitive)
CHECKS = [
    ("--help", 0, "stdout", ["usage"]),
    (BAD_FLAG, 2, "stderr", [BAD_FLAG, "usage"]),
]


def problems(binary, argument, status, stream, words):
    """What is wrong with `binary argument`: [] when it behaves as CHECKS says."""
    try:
        done = subprocess.run([binary, argument], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=TIMEOUT)
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        return [f"still running after {TIMEOUT} s, killed"]
    found = []
    if done.returncode != status:
        found.append(f"exit status {done.returncode}, not {status}")
    text = getattr(done, stream)
    found += [f"no {word!r} on {stream}" for word in words if word.lower() not in text.lower()]
    if found:
        found.append(f"stdout {done.stdout[-200:]!r}, stderr {done.stderr[-200:]!r}")
    return found


def main():
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} EXAMPLE...")
    runs = [(binary, *check) for binary in sys.argv[1:] for check in CHECKS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = list(pool.map(lambda run: problems(*run), runs))
    failed = 0
    for (binary, argument, *_), found in zip(runs, results):
        name = os.path.basename(binary)
        if found:
            failed += 1
            print(f"FAIL {name} {argument}: {'; '.join(found)}")
        else:
            print(f"ok {name} {argument}")
    if failed:
        sys.exit(f"{failed} of {len(runs)} checks failed")
    print(f"all {len(runs)} checks passed")


if __name__ == "__main__":
    main()
