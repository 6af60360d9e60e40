"""Hostile project code for the sandbox tests: tries every way out it knows.

Run as `python3 hostile.py targets.json` (or imported by a generated test
file). It prints one line `HOSTILE-REPORT {json}` mapping each attack to
"blocked: <why>" or "SUCCEEDED: <what>". The targets file names what to go
for: secrets to look for, paths of the data directory, the secrets file and
another task's workspace, TCP and Unix-socket endpoints, the worker's pid.
"""
import json
import os
import socket
import sys


def attempt(results, name, fn):
    try:
        what = fn()
    except Exception as e:  # noqa: BLE001 - any failure means the attack was stopped
        results[name] = "blocked: %s: %s" % (type(e).__name__, str(e)[:120])
        return
    if what:
        results[name] = "SUCCEEDED: " + str(what)[:300]
    else:
        results[name] = "blocked: nothing found"


def has_secret(data, secrets):
    for s in secrets:
        if s and (s.encode() in data or s.encode().hex().encode() in data):
            return True
    return False


def main(path):
    t = json.load(open(path))
    # Hex, so that the platform's redaction of the secrets in the files it
    # stores does not blunt the attack.
    secrets = t.get("secrets", []) + [bytes.fromhex(x).decode() for x in t.get("secrets_hex", [])]
    r = {}

    def read_shadow():
        return "read %d bytes" % len(open("/etc/shadow", "rb").read())

    def own_environment():
        blob = "\n".join("%s=%s" % kv for kv in os.environ.items()).encode()
        return "secret in os.environ" if has_secret(blob, secrets) else ""

    def process_environments():
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            for f in ("environ", "cmdline"):
                try:
                    data = open("/proc/%s/%s" % (pid, f), "rb").read()
                except OSError:
                    continue
                if has_secret(data, secrets):
                    found.append("%s/%s" % (pid, f))
        return ", ".join(found)

    def worker_process():
        pid = t.get("worker_pid")
        if pid and os.path.exists("/proc/%d/status" % pid):
            name = open("/proc/%d/comm" % pid).read().strip()
            return "sees the worker (pid %d, %s)" % (pid, name)
        return ""

    def data_dir():
        return "listed %s: %s" % (t["data_dir"], os.listdir(t["data_dir"])[:5])

    def secrets_file():
        return "read %d bytes" % len(open(t["secrets_file"], "rb").read())

    def other_workspace():
        return "read %d bytes" % len(open(t["other_workspace_file"], "rb").read())

    def runs_as_root():
        return "uid 0" if os.getuid() == 0 or os.geteuid() == 0 else ""

    def capabilities():
        for line in open("/proc/self/status"):
            if line.startswith("CapEff:") and int(line.split()[1], 16) != 0:
                return line.strip()
        return ""

    def interfaces():
        names = [n for _, n in socket.if_nameindex() if n != "lo"]
        routes = open("/proc/net/route").read().strip().splitlines()[1:]
        if names or routes:
            return "interfaces %s, %d routes" % (names, len(routes))
        return ""

    for name, fn in [
        ("read /etc/shadow", read_shadow),
        ("secrets in own environment", own_environment),
        ("secrets in any process environment", process_environments),
        ("see the worker process", worker_process),
        ("list DATA_DIR", data_dir),
        ("read the secrets file", secrets_file),
        ("read another workspace", other_workspace),
        ("run as root", runs_as_root),
        ("capabilities", capabilities),
        ("reach an outside address (interfaces and routes)", interfaces),
    ]:
        attempt(r, name, fn)

    for label, host, port in t.get("tcp", []):
        def connect(host=host, port=port):
            socket.create_connection((host, port), timeout=2).close()
            return "connected to %s:%d" % (host, port)
        attempt(r, "connect to " + label, connect)

    for label, path in t.get("unix", []):
        def connect_unix(path=path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(path)
            s.close()
            return "connected to " + path
        attempt(r, "connect to " + label, connect_unix)

    for label, p in t.get("write", []):
        def write(p=p):
            with open(p, "w") as f:
                f.write("pwned")
            return "wrote " + p
        attempt(r, "write " + label, write)

    print("HOSTILE-REPORT " + json.dumps(r, sort_keys=True))
    return r


if __name__ == "__main__":
    main(sys.argv[1])
