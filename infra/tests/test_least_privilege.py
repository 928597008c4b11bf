"""Least privilege, proven by running it. For each template (SAM, CDK) the
stack is deployed by CloudFormation into a moto of its own with IAM
enforcement on; the lister and the worker run as IAM users holding exactly
the policies IAM reads back from their deployed roles, against that moto and
a simulated RDS that enforces the same policies (`rds-sim --identity`). One
lister cycle and a worker drain over the generated fleet, faults included,
ship every file with no request refused; with one action taken from a role
they do not, and the logs name the refusal. `rdslogs status`, `dlq list`,
`backfill`, `verify --deep` (configured by `--stack`) and `doctor` run as an operator holding exactly the stack's
`OperatorPolicy`.

Needs target/debug/{lister,worker,rds-sim,rdslogs}, cargo-lambda on PATH
and moto in .venv (scripts/infra-check.sh provides all three).
"""

import json
import os
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from botocore.exceptions import ClientError
from iam_moto import IamMoto, merged, without_action
from local_lambda import (
    BIN,
    INVOKE_LIMIT_S,
    Processes,
    RuntimeApi,
    fleet_files,
    generate_fleet,
    require_binaries,
    start_rds_sim,
)
from stacks import REGION, ROOT, TEMPLATES, DeployedStack

PARAMETERS = {"Instances": "pg-orders,mysql-billing"}
ROLES = {"lister": "ListerRole", "worker": "WorkerRole"}
FUNCTIONS = {"lister": "ListerFunction", "worker": "WorkerFunction"}
# Large enough for a multipart upload (8 MiB parts), so the calls on that
# path (and their abort) run under the worker's role too.
LARGE_FILE = "error/postgresql.log.2026-11-20-16"
LARGE_MIB = 12
MIB = 1024 * 1024
FAULTS = [
    {  # RDS briefly unavailable: the worker retries the download.
        "target": {"type": "download", "instance": "pg-orders", "file": "error/postgresql.log.2026-11-20-13"},
        "fault": {"type": "error", "status": 503, "code": "ServiceUnavailable", "message": "injected"},
        "times": 2,
    },
    {  # The stream cut after the first part: the upload is aborted, and
        # the redelivered message lists and ships it again.
        "target": {"type": "download", "instance": "pg-orders", "file": LARGE_FILE},
        "fault": {"type": "cut_after", "bytes": 9 * MIB},
        "times": 1,
    },
    {
        "target": {"type": "download", "instance": "mysql-billing", "file": "audit/server_audit.log"},
        "fault": {"type": "cut_after", "bytes": 100},
        "times": 1,
    },
    {  # The lister's listing throttled once.
        "target": {"type": "action", "action": "DescribeDBLogFiles", "instance": "mysql-billing"},
        "fault": {"type": "throttle"},
        "times": 1,
    },
]
# The deployed visibility timeout is six times the worker's (90 minutes);
# the test's event source asks for this one on each receive so that a
# failed record comes back within the run. Still sqs:ReceiveMessage.
RETRY_AFTER_S = 3
DRAIN_LIMIT_S = 300


def sim_request(url: str, method: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Pipeline:
    """One deployment of a template, its lister and worker running as IAM
    users that hold their roles' policies, and a simulated RDS of its own
    that knows the same users and policies."""

    def __init__(self, case: "LeastPrivilegeTest", take_away: tuple[str, str] | None = None):
        moto = self.moto = case.moto
        self.fleet = case.fleet
        self.stack = DeployedStack(TEMPLATES[case.template_name](), PARAMETERS, connect=moto.client)
        with moto.unenforced():
            deployed = {f: self.stack.function(logical_id) for f, logical_id in FUNCTIONS.items()}
            # The test plays the queue's event source itself, with the
            # worker's credentials as Lambda does; moto's own would run Docker.
            lam = moto.client("lambda")
            [mapping] = lam.list_event_source_mappings(FunctionName=deployed["worker"]["FunctionName"])[
                "EventSourceMappings"
            ]
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        self.batch_size = mapping["BatchSize"]
        self.worker_env = deployed["worker"]["Environment"]["Variables"]

        self.keys, identities = {}, []
        for function, role in ROLES.items():
            documents = moto.role_documents(self.stack.physical[role])
            if take_away and take_away[0] == function:
                documents = without_action(documents, take_away[1])
            user = f"{function}-{self.stack.name}"
            self.keys[function] = moto.user(user, documents)
            policy_file = case.folder / f"{user}.json"
            policy_file.write_text(json.dumps(merged(documents)))
            identities += ["--identity", f"{user}:{self.keys[function][0]}:{self.keys[function][1]}:{policy_file}"]
        # The operator holds exactly the stack's OperatorPolicy, in moto and
        # in the simulated RDS alike.
        if "OperatorPolicy" in self.stack.physical:
            documents = [moto.managed_document(self.stack.physical["OperatorPolicy"])]
            user = f"operator-{self.stack.name}"
            self.keys["operator"] = moto.user(user, documents)
            policy_file = case.folder / f"{user}.json"
            policy_file.write_text(json.dumps(merged(documents)))
            identities += ["--identity", f"{user}:{self.keys['operator'][0]}:{self.keys['operator'][1]}:{policy_file}"]
        self.sim_url = start_rds_sim(
            case.processes, self.fleet, [*identities, "--page-size", "3"], {}, name=f"rds-sim-{self.stack.name}"
        )
        for rule in FAULTS:
            sim_request(f"{self.sim_url}/_sim/faults", "POST", rule)

        # cargo lambda names functions after the project's binaries, so each
        # deployment gets a runtime API of its own.
        self.runtime = RuntimeApi(case.processes, name=f"cargo-lambda-{self.stack.name}")
        self.logs = {}
        for function in FUNCTIONS:
            key, secret = self.keys[function]
            self.logs[function] = self.runtime.start_function(
                function,
                function,
                deployed[function],
                {
                    "AWS_ACCESS_KEY_ID": key,
                    "AWS_SECRET_ACCESS_KEY": secret,
                    "AWS_ENDPOINT_URL_S3": moto.url,
                    "AWS_ENDPOINT_URL_SQS": moto.url,
                    "AWS_ENDPOINT_URL_DYNAMODB": moto.url,
                    "AWS_ENDPOINT_URL_RDS": self.sim_url,
                },
            )

    def list_once(self) -> dict:
        event = (ROOT / "fixtures" / "scheduled-event.json").read_bytes()
        return self.runtime.invoke("lister", event)

    def drain(self) -> list[dict]:
        """Lambda's SQS event source, played with the worker's credentials:
        receive a batch, invoke the worker, delete the records it did not
        report failed, until the queue is empty; moto moves a record to the
        DLQ after the redrive policy's receives. Returns the answers."""
        sqs = self.moto.client("sqs", self.keys["worker"])
        queue = self.stack.physical["WorkQueue"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        answers = []
        deadline = time.monotonic() + DRAIN_LIMIT_S
        while time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=queue,
                MaxNumberOfMessages=self.batch_size,
                VisibilityTimeout=RETRY_AFTER_S,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                counts = sqs.get_queue_attributes(
                    QueueUrl=queue,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                if not any(int(n) for n in counts.values()):
                    return answers
                time.sleep(0.5)
                continue
            answer = self.runtime.invoke("worker", json.dumps(sqs_event(messages, queue_arn)).encode())
            answers.append(answer)
            if "errorType" in answer:  # a failed invocation retries the whole batch
                continue
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] not in failed:
                    try:
                        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
                    except ClientError as e:
                        # As Lambda's event source: the message comes back
                        # and ends in the DLQ; moto's log keeps the refusal.
                        answers.append({"deleteError": str(e)})
        raise AssertionError(f"the work queue did not drain in {DRAIN_LIMIT_S} s; worker answers: {answers}")

    def unshipped(self) -> list[str]:
        """Every fleet file not in S3 byte for byte under the key its state
        record names (read as the admin)."""
        dynamodb, s3 = self.moto.client("dynamodb"), self.moto.client("s3")
        table = self.stack.physical["StateTable"]
        bucket = self.stack.physical["LogBucket"]
        problems = []
        for instance, file in sorted(fleet_files(self.fleet)):
            item = dynamodb.get_item(TableName=table, Key={"instance": {"S": instance}, "file": {"S": file}})
            key = item.get("Item", {}).get("shipped_key", {}).get("S")
            if not key:
                problems.append(f"{instance}/{file}: not recorded as shipped")
                continue
            shipped = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            if shipped != (self.fleet / instance / file).read_bytes():
                problems.append(f"{instance}/{file}: {key} differs from the source")
        return problems

    def dead_letters(self) -> int:
        attributes = self.moto.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.physical["DeadLetterQueue"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(n) for n in attributes.values())

    def sim_denials(self) -> int:
        return sim_request(f"{self.sim_url}/_sim/counters", "GET").get("Denied", 0)

    def log_lines(self, function: str, text: str) -> list[str]:
        return [line for line in self.logs[function].read_text(errors="replace").splitlines() if text in line]


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """The event Lambda's SQS event source gives the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class LeastPrivilegeTest:
    """Run for each template; subclasses name it. The run with the roles as
    deployed happens once, in setUpClass; each case that takes an action away
    deploys a stack of its own into the same moto."""

    template_name = ""

    @classmethod
    def setUpClass(cls):
        require_binaries("lister", "worker", "rds-sim", "rdslogs")
        tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(tmp.cleanup)
        cls.folder = Path(tmp.name)
        cls.processes = Processes(cls.folder)
        cls.addClassCleanup(cls.processes.stop_all)
        cls.moto = IamMoto(cls.processes)
        cls.fleet = generate_fleet(cls.folder / "fleet", "--large-mib", str(LARGE_MIB))
        # Last written two days ago, so the second cycle closes those days
        # and writes their daily manifests under the lister's role.
        cls.two_days_ago = time.time() - 2 * 86_400
        for instance, file in fleet_files(cls.fleet):
            os.utime(cls.fleet / instance / file, (cls.two_days_ago, cls.two_days_ago))

        cls.pipeline = Pipeline(cls)
        cls.listed = cls.pipeline.list_once()
        cls.answers = cls.pipeline.drain()
        cls.listed_again = cls.pipeline.list_once()
        # Taken now: later cases share this moto and are refused on purpose.
        cls.refused_by_moto = cls.moto.refusals()
        cls.dead_letters = cls.pipeline.dead_letters()

    def test_lister_and_worker_ship_every_file_under_their_own_roles(self):
        self.assertNotIn("errorType", self.listed, self.listed)
        self.assertEqual(self.pipeline.unshipped(), [])
        self.assertEqual(self.dead_letters, 0)
        # The download faults happened (two 503s, two cuts), so the retry
        # and abort paths ran under the role too.
        downloads = sim_request(f"{self.pipeline.sim_url}/_sim/counters", "GET")["Download"]
        self.assertGreaterEqual(downloads, len(fleet_files(self.fleet)) + 4)

    def test_the_lister_writes_the_daily_manifests_under_its_role(self):
        self.assertNotIn("errorType", self.listed_again, self.listed_again)
        prefix = self.pipeline.worker_env["RDSLOGS_PREFIX"]
        with self.moto.unenforced():
            listed = self.moto.client("s3").list_objects_v2(
                Bucket=self.pipeline.stack.physical["LogBucket"], Prefix=f"{prefix}/_manifests/"
            )
        keys = {o["Key"] for o in listed.get("Contents", [])}
        # Each instance's manifest of the day its files were last written.
        day = time.strftime("%Y-%m-%d", time.gmtime(self.two_days_ago))
        for instance in {instance for instance, _ in fleet_files(self.fleet)}:
            self.assertIn(f"{prefix}/_manifests/{instance}/{day}.json", keys)

    def test_no_request_was_refused_even_where_the_code_carries_on(self):
        # Some calls are best effort (listing stale multipart uploads,
        # aborting one): a missing action there shows only as a refusal.
        self.assertEqual(self.refused_by_moto, [])
        self.assertEqual(self.pipeline.sim_denials(), 0)
        for function in FUNCTIONS:
            self.assertEqual(self.pipeline.log_lines(function, "AccessDenied"), [], function)

    def test_a_worker_role_without_dynamodb_update_item_ships_nothing_for_good(self):
        # GIVEN the worker's role without one action moto enforces
        run = Pipeline(self, take_away=("worker", "dynamodb:UpdateItem"))
        # WHEN a cycle runs and the queue drains
        self.assertNotIn("errorType", run.list_once())
        run.drain()
        # THEN objects may reach S3, but no file is recorded as shipped,
        # every message ends in the DLQ, and the worker names the permission.
        # (moto's denial carries no code the SDK can read, so the worker
        # sees "HTTP 403"; DynamoDB itself answers AccessDeniedException.)
        self.assertEqual(len(run.unshipped()), len(fleet_files(self.fleet)))
        self.assertEqual(run.dead_letters(), len(fleet_files(self.fleet)))
        self.assertNotEqual(run.log_lines("worker", "dynamodb:UpdateItem"), [])

    def test_a_lister_role_without_rds_describe_db_log_files_enqueues_nothing(self):
        # GIVEN the lister's role without one action the simulated RDS enforces
        run = Pipeline(self, take_away=("lister", "rds:DescribeDBLogFiles"))
        # WHEN a cycle runs
        listed = run.list_once()
        run.drain()
        # THEN the cycle fails naming the refusal and nothing ships
        self.assertIn("errorType", listed)
        self.assertGreater(run.sim_denials(), 0)
        refusals = run.log_lines("lister", "AccessDenied")
        self.assertTrue(any("rds:DescribeDBLogFiles" in line for line in refusals), listed)
        self.assertEqual(len(run.unshipped()), len(fleet_files(self.fleet)))

    def test_operator_policy_runs_status_dlq_backfill_and_doctor(self):
        stack = self.pipeline.stack
        key, secret = self.pipeline.keys["operator"]
        # GIVEN a dead letter for a shipped file, so `dlq list` joins it with
        # its state record
        body = {
            "schema": 1,
            "instance": "pg-orders",
            "file": "error/postgresql.log.2026-11-20-13",
            "size": 1,
            "last_written_ms": 1,
        }
        self.moto.client("sqs").send_message(QueueUrl=stack.physical["DeadLetterQueue"], MessageBody=json.dumps(body))
        env = {
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_S3": self.moto.url,
            "AWS_ENDPOINT_URL_SQS": self.moto.url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto.url,
            "AWS_ENDPOINT_URL_CLOUDFORMATION": self.moto.url,
            "AWS_ENDPOINT_URL_RDS": self.pipeline.sim_url,
            "RDSLOGS_INSTANCES": PARAMETERS["Instances"],
        }
        # The stack's outputs give every other setting (rdslogs --stack).
        by_stack = {**env, "RDSLOGS_STACK": stack.name}
        # doctor with a stack also asks IAM's policy simulator, which moto
        # lacks (docs/operations.md): it runs with the variables instead.
        by_variables = {
            **env,
            "RDSLOGS_STATE_TABLE": stack.physical["StateTable"],
            "RDSLOGS_QUEUE_URL": stack.physical["WorkQueue"],
            "RDSLOGS_DLQ_URL": stack.physical["DeadLetterQueue"],
            "RDSLOGS_BUCKET": stack.physical["LogBucket"],
            "RDSLOGS_PREFIX": self.pipeline.worker_env["RDSLOGS_PREFIX"],
        }
        # CloudFormation enables the table's TTL; moto's ignores
        # TimeToLiveSpecification, and doctor would rightly fail on it.
        self.moto.client("dynamodb").update_time_to_live(
            TableName=stack.physical["StateTable"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
        commands = (
            (["status", "--json"], by_stack),
            (["dlq", "list", "--json"], by_stack),
            (["backfill", "--instance", "pg-orders", "--since", "2000-01-01", "--json"], by_stack),
            (["verify", "--deep", "--json"], by_stack),
            (["doctor", "--json"], by_variables),
        )
        for command, command_env in commands:
            with self.subTest(command=" ".join(command)):
                done = subprocess.run(
                    [BIN / "rdslogs", *command], env=command_env, capture_output=True, text=True, timeout=INVOKE_LIMIT_S
                )
                self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
                self.assertNotIn("AccessDenied", done.stderr)
                json.loads(done.stdout)


class SamLeastPrivilegeTest(LeastPrivilegeTest, unittest.TestCase):
    template_name = "sam"


class CdkLeastPrivilegeTest(LeastPrivilegeTest, unittest.TestCase):
    template_name = "cdk"


if __name__ == "__main__":
    unittest.main()
