"""Runs a command in a pseudo-terminal and plays a script against it, like expect(1).

Usage: python3 pty_session.py '<json argv>' '<json steps>' '<json env>'
Steps: {"expect": "text"} waits until the output so far (since the last expect) contains the text;
{"send": "keys"} types them. No timeouts here: the calling test's hang detector is the ceiling.
Prints one JSON object on stdout: {"exit": code, "output": "<everything the terminal showed>"}.
"""
import json
import os
import pty
import select
import sys

argv = json.loads(sys.argv[1])
steps = json.loads(sys.argv[2])
env = dict(os.environ, **json.loads(sys.argv[3]))

pid, fd = pty.fork()
if pid == 0:
    os.execvpe(argv[0], argv, env)

output = b""
mark = 0


def read_some():
    global output
    ready, _, _ = select.select([fd], [], [], 0.05)
    if not ready:
        return True
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    if not data:
        return False
    output += data
    return True


for step in steps:
    if "send" in step:
        os.write(fd, step["send"].encode())
    else:
        wanted = step["expect"].encode()
        while wanted not in output[mark:]:
            if not read_some():
                break
        found = output.find(wanted, mark)
        mark = found + len(wanted) if found >= 0 else len(output)

while read_some():
    pass
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"exit": code, "output": output.decode("utf-8", "replace")}))
