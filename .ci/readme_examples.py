"""Runs README.md's shell examples against real servers and compares each
answer README shows with the one the server gives.

A `<!-- readme-check: … -->` comment before a ```sh block opens a session
(one bash process in a new empty directory) that runs that block and the
following ones up to the next `## ` heading:
  fresh                      nothing started (the block starts what it needs)
  fresh, serving             `cellreg serve` on an empty database
  fresh, serving the demo    `cellreg seed demo`, then `cellreg serve`
`<!-- readme-check: skip -->` leaves the next block out of its session
(one that needs tools the check does not install). Blocks outside a
session are not run. README's `cargo run … --bin cellreg --`
becomes the built binary and `localhost:8080` a free loopback port. An
answer README shows is a `# <JSON>` comment after a command (or at the end
of its line), possibly followed by prose (`# {"status":"ok"}: the process is
up`); the JSON lines the command prints must equal those shown, in order.

usage: readme_examples.py README.md path/to/cellreg
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid

MARKER = re.compile(r"^\s*<!--\s*readme-check:\s*(.*?)\s*-->\s*$")
CARGO_RUN = re.compile(r"cargo run -q --release -p api --bin cellreg --")
DECODER = json.JSONDecoder()


def shown_answer(comment):
    """The JSON value a `# …` comment shows, if it starts with one."""
    text = comment.strip()
    if not text or text[0] not in '{["0123456789-tfn':
        return None
    try:
        value, end = DECODER.raw_decode(text)
    except ValueError:
        return None
    rest = text[end:]
    if rest and rest[0] not in ":, ":
        return None
    return value


def printed_answers(stdout):
    answers = []
    for line in stdout.splitlines():
        try:
            answers.append(json.loads(line))
        except ValueError:
            pass
    return answers


def complete(command):
    return subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


def commands_of(block):
    """(command text, answers shown) for each command of a block."""
    commands, pending, shown = [], [], []
    for line in block:
        stripped = line.strip()
        if stripped.startswith("#"):
            value = shown_answer(stripped[1:])
            if value is not None and commands and not pending:
                commands[-1][1].append(value)
            continue
        code, _, comment = line.partition("  # ")
        pending.append(code if comment else line)
        text = "\n".join(pending)
        if complete(text) and not text.rstrip().endswith("\\"):
            commands.append((text, []))
            value = shown_answer(comment) if comment else None
            if value is not None:
                commands[-1][1].append(value)
            pending = []
    if pending:
        raise SystemExit(f"readme: an incomplete command: {pending}")
    return commands


def sessions(readme):
    """(setting, [block lines, …]) for each session README opens."""
    found, current, block, skip_next = [], None, None, False
    for line in readme.splitlines():
        if block is not None:
            if line.startswith("```"):
                if current is not None and not skip_next:
                    current[1].append(block)
                block, skip_next = None, False
            else:
                block.append(line)
            continue
        marker = MARKER.search(line)
        if marker and marker.group(1) == "skip":
            skip_next = True
        elif marker:
            current = (marker.group(1), [])
            found.append(current)
        elif line.startswith("## "):
            current = None
        elif line.startswith("```sh"):
            block = []
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    """One bash process in its own directory, commands run one at a time."""

    def __init__(self, setting, cellreg):
        self.dir = tempfile.mkdtemp(prefix="readme-")
        self.port = free_port()
        self.cellreg = cellreg
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JWT_SECRET", "CELLREG_BIND")}
        env["CELLREG_BIND"] = f"127.0.0.1:{self.port}"
        env["RUST_LOG"] = "warn"
        self.bash = subprocess.Popen(["bash"], cwd=self.dir, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(self.dir, "stderr.log"), "w"))
        self.run("set -o pipefail")
        if setting in ("fresh, serving the demo",):
            self.run(f"{cellreg} seed demo >/dev/null")
        if setting.startswith("fresh, serving"):
            self.run(self.rewrite("cargo run -q --release -p api --bin cellreg -- serve &"))
        elif setting != "fresh":
            raise SystemExit(f"readme: unknown readme-check setting: {setting}")

    def rewrite(self, command):
        command = CARGO_RUN.sub(self.cellreg, command)
        command = command.replace("localhost:8080", f"127.0.0.1:{self.port}")
        if re.search(r" serve &\s*$", command):
            # A server started in the background: wait until it answers.
            command += (f"\necho $! >> .servers\n"
                        f"for _ in $(seq 1 100); do curl -fs 127.0.0.1:{self.port}/healthz >/dev/null && break; sleep 0.1; done")
        return command

    def run(self, command):
        sentinel = f"__done_{uuid.uuid4().hex}__"
        self.bash.stdin.write(f"{command}\necho; echo {sentinel} $?\n")
        self.bash.stdin.flush()
        lines = []
        for line in self.bash.stdout:
            if line.startswith(sentinel):
                return "".join(lines), int(line.split()[1])
            lines.append(line)
        raise SystemExit(f"readme: the shell ended during: {command}")

    def close(self):
        self.run("for pid in $(cat .servers 2>/dev/null); do kill $pid; wait $pid 2>/dev/null; done; true")
        self.bash.stdin.close()
        self.bash.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    readme_path, cellreg = sys.argv[1], os.path.abspath(sys.argv[2])
    found = sessions(open(readme_path, encoding="utf-8").read())
    checked, failures = 0, []
    for setting, blocks in found:
        session = Session(setting, cellreg)
        try:
            for block in blocks:
                for command, shown in commands_of(block):
                    stdout, status = session.run(session.rewrite(command))
                    if status != 0:
                        failures.append(f"exit {status}: {command}\n{stdout}")
                        continue
                    if not shown:
                        continue
                    checked += len(shown)
                    printed = printed_answers(stdout)
                    if printed != shown:
                        failures.append(f"{command}\n  README shows: {shown}\n  the server answered: {printed}")
        finally:
            session.close()
    for failure in failures:
        print(f"readme: {failure}\n", file=sys.stderr)
    if failures or checked == 0:
        raise SystemExit(f"readme: {len(failures)} example(s) do not answer as README shows")
    print(f"readme: {len(found)} sessions, {checked} answers as README shows them")


main()
