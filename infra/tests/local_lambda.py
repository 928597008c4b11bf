"""The debug binaries as local processes: the simulated RDS, cargo lambda's
Lambda runtime API, and the lister and worker as functions behind it, with
the environment a deployed function gets. Shared by test_runtime.py and
test_least_privilege.py.
"""

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from stacks import REGION, ROOT

# scripts/infra-check.sh sets RDSLOGS_BIN to where cargo built them.
BIN = Path(os.environ.get("RDSLOGS_BIN", ROOT / "target" / "debug"))
# Generous bounds so a hung process fails the test instead of CI; no
# assertion depends on how long anything takes.
START_LIMIT_S = 60
INVOKE_LIMIT_S = 300


def require_binaries(*names: str) -> None:
    for name in names:
        if not (BIN / name).exists():
            raise AssertionError(f"{BIN / name} is missing: scripts/infra-check.sh builds it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(path: Path, process: subprocess.Popen, pattern: str) -> re.Match:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"))
        if found:
            return found
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{process.args[0]} did not print {pattern!r}; its output:\n{path.read_text()}")


class Processes:
    """Background processes with their output in `folder/<name>.log`, stopped
    together (newest first)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, args: list, env: dict) -> tuple[Path, subprocess.Popen]:
        log = self.folder / f"{name}.log"
        # Nothing of the caller's AWS or pipeline settings leaks in.
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RDSLOGS_"))}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(a) for a in args], cwd=ROOT, env={**base, **env}, stdout=out, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        return log, process

    def stop_all(self) -> None:
        for process in reversed(self.running):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()


def generate_fleet(folder: Path, *args: str) -> Path:
    subprocess.run([BIN / "rds-sim", "generate", "--out", folder, *args], check=True, capture_output=True)
    return folder


def start_rds_sim(processes: Processes, fleet: Path, args: list, env: dict, name: str = "rds-sim") -> str:
    """Serves `fleet`; returns the endpoint URL."""
    log = processes.start(
        name, [BIN / "rds-sim", "serve", "--root", fleet, "--listen", "127.0.0.1:0", *args], env
    )
    return wait_for_line(*log, r"listening on (\S+)").group(1)


def fleet_files(fleet: Path) -> set[tuple[str, str]]:
    """(instance, log file name) of every file in a fleet folder."""
    return {
        (p.relative_to(fleet).parts[0], "/".join(p.relative_to(fleet).parts[1:]))
        for p in fleet.rglob("*")
        if p.is_file() and p.parent != fleet
    }


class RuntimeApi:
    """`cargo lambda watch --only-lambda-apis`: a Lambda runtime API for the
    project's binaries, each function a process started with `start_function`."""

    def __init__(self, processes: Processes, name: str = "cargo-lambda"):
        self.processes = processes
        self.name = name
        self.port = free_port()
        log = processes.start(
            name,
            ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(self.port)],
            {},
        )
        wait_for_line(*log, r"starting Runtime server")

    def start_function(self, name: str, binary: str, deployed: dict, env: dict) -> Path:
        """Runs `binary` as function `name` with the environment of the
        `deployed` function configuration plus `env`; returns its log."""
        # moto keeps numbers from Number parameters; Lambda passes strings.
        full = {k: str(v) for k, v in deployed["Environment"]["Variables"].items()}
        full.update(
            {
                "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.port}/.rt/{name}",
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(deployed["MemorySize"]),
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
                "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        full.update(env)
        log, _ = self.processes.start(f"{self.name}-{name}", [BIN / binary], full)
        return log

    def invoke(self, name: str, payload: bytes) -> dict:
        """The function's answer; a handler error comes back as the
        `{"errorType", "errorMessage"}` document Lambda returns."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/{name}/invocations",
            data=payload,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_LIMIT_S) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return json.loads(body)
            except json.JSONDecodeError:
                return {"errorType": f"HTTP {e.code}", "errorMessage": body.decode(errors="replace")}
