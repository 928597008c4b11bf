"""The built lister and worker binaries run under a local Lambda runtime API
(`cargo lambda watch --only-lambda-apis`) with the environment the SAM stack
deployed in moto gives them, against that stack's queue, table and bucket and
the simulated RDS, and answer the committed event fixtures.

Needs target/debug/{lister,worker,rds-sim} and cargo-lambda on PATH
(scripts/infra-check.sh provides both).
"""

import json
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from stacks import REGION, ROOT, DeployedStack, client, moto_url, sam_template

BIN = Path(os.environ.get("RDSLOGS_BIN", ROOT / "target" / "debug"))
FIXTURES = ROOT / "fixtures"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDRUNTIMETEST",
    "AWS_SECRET_ACCESS_KEY": "runtime-test-secret",
    "AWS_SESSION_TOKEN": "runtime-test-token",
}
# Generous bounds so a hung process fails the test instead of CI; no
# assertion depends on how long anything takes.
START_LIMIT_S = 60
INVOKE_LIMIT_S = 300


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


class LambdaRuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for binary in ("lister", "worker", "rds-sim"):
            if not (BIN / binary).exists():
                raise AssertionError(f"{BIN / binary} is missing: scripts/infra-check.sh builds it")
        cls.processes = []
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.addClassCleanup(cls.stop_processes)
        tmp = Path(cls.tmp.name)

        cls.stack = DeployedStack(sam_template(), {"Instances": "pg-orders,mysql-billing"})
        # The test plays the queue's event source itself; moto's own would
        # take the lister's messages and try to run the worker in Docker.
        lam = client("lambda")
        worker = cls.stack.function("WorkerFunction")["FunctionName"]
        for mapping in lam.list_event_source_mappings(FunctionName=worker)["EventSourceMappings"]:
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

        cls.fleet = tmp / "fleet"
        subprocess.run([BIN / "rds-sim", "generate", "--out", cls.fleet], check=True, capture_output=True)
        sim = cls.start(
            "rds-sim",
            [BIN / "rds-sim", "serve", "--root", cls.fleet, "--listen", "127.0.0.1:0"],
            {
                "RDS_SIM_ACCESS_KEY_ID": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "RDS_SIM_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                "RDS_SIM_SESSION_TOKEN": CREDENTIALS["AWS_SESSION_TOKEN"],
            },
        )
        sim_url = wait_for_line(*sim, r"listening on (\S+)").group(1)

        port = free_port()
        emulator = cls.start(
            "cargo-lambda",
            ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
            {},
        )
        wait_for_line(*emulator, r"starting Runtime server")
        cls.invoke_url = f"http://127.0.0.1:{port}/2015-03-31/functions/{{}}/invocations"

        for name, logical_id in (("lister", "ListerFunction"), ("worker", "WorkerFunction")):
            deployed = cls.stack.function(logical_id)
            # moto keeps numbers from Number parameters; Lambda passes strings.
            env = {k: str(v) for k, v in deployed["Environment"]["Variables"].items()}
            env.update(CREDENTIALS)
            env.update(
                {
                    # The runtime API of one function of the emulator.
                    "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt/{name}",
                    "AWS_LAMBDA_FUNCTION_NAME": name,
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(deployed["MemorySize"]),
                    "AWS_LAMBDA_LOG_FORMAT": "JSON",
                    "AWS_REGION": REGION,
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_ENDPOINT_URL": moto_url(),
                    "AWS_ENDPOINT_URL_RDS": sim_url,
                }
            )
            cls.start(name, [BIN / name], env)

    @classmethod
    def start(cls, name: str, args: list, env: dict) -> tuple[Path, subprocess.Popen]:
        log = Path(cls.tmp.name) / f"{name}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RDSLOGS_"))}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(a) for a in args], cwd=ROOT, env={**base, **env}, stdout=out, stderr=subprocess.STDOUT
            )
        cls.processes.append(process)
        return log, process

    @classmethod
    def stop_processes(cls):
        for process in reversed(cls.processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def invoke(self, function: str, fixture: str) -> dict:
        request = urllib.request.Request(
            self.invoke_url.format(function),
            data=(FIXTURES / fixture).read_bytes(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=INVOKE_LIMIT_S) as response:
            return json.loads(response.read() or b"null")

    def fleet_files(self) -> set[tuple[str, str]]:
        return {
            (p.relative_to(self.fleet).parts[0], "/".join(p.relative_to(self.fleet).parts[1:]))
            for p in self.fleet.rglob("*")
            if p.is_file() and p.parent != self.fleet
        }

    def test_lister_enqueues_every_file_of_the_selected_instances_on_the_scheduled_event(self):
        self.invoke("lister", "scheduled-event.json")

        sqs = client("sqs")
        queue = self.stack.physical["WorkQueue"]
        bodies = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            bodies += [json.loads(m["Body"]) for m in batch]
        self.assertEqual({(b["instance"], b["file"]) for b in bodies}, self.fleet_files())
        self.assertEqual(len(bodies), len(self.fleet_files()))

    def test_worker_ships_the_good_record_and_reports_the_malformed_one(self):
        response = self.invoke("worker", "sqs-batch-one-malformed.json")

        self.assertEqual(
            response, {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]}
        )
        s3 = client("s3")
        bucket = self.stack.physical["LogBucket"]
        env = self.stack.function("WorkerFunction")["Environment"]["Variables"]
        [obj] = s3.list_objects_v2(Bucket=bucket)["Contents"]
        # The role allows writes under the prefix only.
        self.assertTrue(obj["Key"].startswith(env["RDSLOGS_PREFIX"] + "/"), obj["Key"])
        self.assertTrue(obj["Key"].endswith("/error/postgresql.log.2026-11-20-13"), obj["Key"])
        shipped = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        source = (self.fleet / "pg-orders" / "error" / "postgresql.log.2026-11-20-13").read_bytes()
        self.assertEqual(shipped, source)


if __name__ == "__main__":
    unittest.main()
