"""The built lister and worker binaries run under a local Lambda runtime API
(`cargo lambda watch --only-lambda-apis`) with the environment the SAM stack
deployed in moto gives them, against that stack's queue, table and bucket and
the simulated RDS, and answer the committed event fixtures.

Needs target/debug/{lister,worker,rds-sim} and cargo-lambda on PATH
(scripts/infra-check.sh provides both).
"""

import json
import tempfile
import unittest
from pathlib import Path

from local_lambda import Processes, RuntimeApi, fleet_files, generate_fleet, require_binaries, start_rds_sim
from stacks import ROOT, DeployedStack, client, moto_url, sam_template

FIXTURES = ROOT / "fixtures"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDRUNTIMETEST",
    "AWS_SECRET_ACCESS_KEY": "runtime-test-secret",
    "AWS_SESSION_TOKEN": "runtime-test-token",
}


class LambdaRuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binaries("lister", "worker", "rds-sim")
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        processes = Processes(Path(cls.tmp.name))
        cls.addClassCleanup(processes.stop_all)

        cls.stack = DeployedStack(sam_template(), {"Instances": "pg-orders,mysql-billing"})
        # The test plays the queue's event source itself; moto's own would
        # take the lister's messages and try to run the worker in Docker.
        lam = client("lambda")
        worker = cls.stack.function("WorkerFunction")["FunctionName"]
        for mapping in lam.list_event_source_mappings(FunctionName=worker)["EventSourceMappings"]:
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

        cls.fleet = generate_fleet(Path(cls.tmp.name) / "fleet")
        sim_url = start_rds_sim(
            processes,
            cls.fleet,
            [],
            {
                "RDS_SIM_ACCESS_KEY_ID": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "RDS_SIM_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                "RDS_SIM_SESSION_TOKEN": CREDENTIALS["AWS_SESSION_TOKEN"],
            },
        )
        cls.runtime = RuntimeApi(processes)
        for name, logical_id in (("lister", "ListerFunction"), ("worker", "WorkerFunction")):
            cls.runtime.start_function(
                name,
                name,
                cls.stack.function(logical_id),
                {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_url(), "AWS_ENDPOINT_URL_RDS": sim_url},
            )

    def invoke(self, function: str, fixture: str) -> dict:
        return self.runtime.invoke(function, (FIXTURES / fixture).read_bytes())

    def fleet_files(self) -> set[tuple[str, str]]:
        return fleet_files(self.fleet)

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
