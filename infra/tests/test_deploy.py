"""Both synthesized templates, created in moto's CloudFormation, build the
real resources with the settings given as parameters.

CREATE_COMPLETE alone proves nothing (moto reports it for resource types it
ignores), so every check reads the resource back through its own service API.
Parameters differ from the defaults so that an unwired one is noticed; the
stack without a KMS key is checked on the templates (test_templates.py).
"""

import json
import unittest

from stacks import MOTO_IGNORED_TYPES, TEMPLATES, DeployedStack, client, policy_document, queue_name

PARAMETERS = {
    "Instances": "pg-orders,mysql-billing",
    "Engines": "postgres,mysql",
    "Schedule": "cron(0/10 * * * ? *)",
    "BatchSize": "7",
    "MaxConcurrency": "3",
    "MaxReceiveCount": "4",
    "WorkerTimeout": "300",
    "Prefix": "logs/rds",
    "Compression": "gzip",
}


class DeployTest:
    """Run for each template; subclasses name it."""

    template_name = ""

    @classmethod
    def setUpClass(cls):
        cls.template = TEMPLATES[cls.template_name]()
        cls.kms_key = client("kms").create_key(Description="rds-log-shipper deploy test")["KeyMetadata"]["Arn"]
        cls.stack = DeployedStack(cls.template, {**PARAMETERS, "BucketKmsKeyArn": cls.kms_key})
        cls.ids = cls.stack.physical

    def queue_attributes(self, logical_id):
        return client("sqs").get_queue_attributes(
            QueueUrl=self.ids[logical_id], AttributeNames=["All"]
        )["Attributes"]

    def test_moto_created_every_resource_it_implements(self):
        expected = {
            logical_id
            for logical_id, r in self.template["Resources"].items()
            if r["Type"] not in MOTO_IGNORED_TYPES and r["Type"] != "AWS::CDK::Metadata"
        }
        self.assertEqual(set(self.ids), expected)
        ignored = [r for r in self.template["Resources"].values() if r["Type"] in MOTO_IGNORED_TYPES]
        self.assertEqual(self.stack.ignored_count, len(ignored))

    def test_work_queue_redrives_to_the_dlq_and_outlasts_the_worker(self):
        work = self.queue_attributes("WorkQueue")
        dlq = self.queue_attributes("DeadLetterQueue")
        self.assertEqual(
            json.loads(work["RedrivePolicy"]),
            {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 4},
        )
        worker = self.stack.function("WorkerFunction")
        self.assertEqual(worker["Timeout"], 300)
        self.assertEqual(int(work["VisibilityTimeout"]), 6 * worker["Timeout"])
        self.assertEqual(work["SqsManagedSseEnabled"], "true")
        self.assertEqual(dlq["SqsManagedSseEnabled"], "true")
        self.assertEqual(dlq["MessageRetentionPeriod"], "1209600")

    def test_worker_reads_the_queue_with_partial_batch_responses(self):
        work = self.queue_attributes("WorkQueue")
        worker = self.stack.function("WorkerFunction")
        [mapping] = client("lambda").list_event_source_mappings(
            FunctionName=worker["FunctionName"]
        )["EventSourceMappings"]
        self.assertEqual(mapping["EventSourceArn"], work["QueueArn"])
        self.assertEqual(mapping["FunctionArn"], worker["FunctionArn"])
        self.assertEqual(mapping["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(mapping["BatchSize"], 7)
        self.assertEqual(mapping["ScalingConfig"], {"MaximumConcurrency": 3})

    def test_lister_runs_on_the_schedule(self):
        events = client("events")
        lister = self.stack.function("ListerFunction")
        rule = events.describe_rule(Name=self.ids["ListerFunctionSchedule"])
        self.assertEqual(rule["ScheduleExpression"], "cron(0/10 * * * ? *)")
        self.assertEqual(rule["State"], "ENABLED")
        [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        self.assertEqual(target["Arn"], lister["FunctionArn"])
        policy = json.loads(client("lambda").get_policy(FunctionName=lister["FunctionName"])["Policy"])
        [grant] = policy["Statement"]
        self.assertEqual(grant["Principal"], {"Service": "events.amazonaws.com"})
        self.assertEqual(grant["Condition"]["ArnLike"]["AWS:SourceArn"], rule["Arn"])

    def test_functions_get_their_settings_from_the_parameters_and_resources(self):
        lister = self.stack.function("ListerFunction")
        worker = self.stack.function("WorkerFunction")
        table = self.ids["StateTable"]
        for fn in (lister, worker):
            self.assertEqual(fn["Runtime"], "provided.al2023")
            self.assertEqual(fn["Handler"], "bootstrap")
        self.assertEqual(lister["Role"].split("/")[-1], self.ids["ListerRole"])
        self.assertEqual(worker["Role"].split("/")[-1], self.ids["WorkerRole"])
        env = lister["Environment"]["Variables"]
        self.assertEqual(env["RDSLOGS_INSTANCES"], "pg-orders,mysql-billing")
        self.assertEqual(env["RDSLOGS_ENGINES"], "postgres,mysql")
        self.assertEqual(env["RDSLOGS_CLUSTERS"], "")
        self.assertEqual(env["RDSLOGS_ALL_INSTANCES"], "false")
        self.assertEqual(env["RDSLOGS_QUEUE_URL"], self.ids["WorkQueue"])
        self.assertEqual(env["RDSLOGS_STATE_TABLE"], table)
        self.assertEqual(env["RDSLOGS_METRICS_NAMESPACE"], "RdsLogShipper")
        env = worker["Environment"]["Variables"]
        self.assertEqual(env["RDSLOGS_BUCKET"], self.ids["LogBucket"])
        self.assertEqual(env["RDSLOGS_PREFIX"], "logs/rds")
        self.assertEqual(env["RDSLOGS_COMPRESSION"], "gzip")
        self.assertEqual(env["RDSLOGS_KEY_TEMPLATE"], "{prefix}/instance={instance}/date={date}/{file}")
        self.assertEqual(env["RDSLOGS_STATE_TABLE"], table)
        self.assertEqual(env["RDSLOGS_STALE_UPLOAD_SECS"], "300")

    def test_state_table_is_keyed_by_instance_and_file_on_demand(self):
        table = client("dynamodb").describe_table(TableName=self.ids["StateTable"])["Table"]
        self.assertEqual(
            table["KeySchema"],
            [{"AttributeName": "instance", "KeyType": "HASH"}, {"AttributeName": "file", "KeyType": "RANGE"}],
        )
        self.assertEqual(table["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")

    def test_bucket_encrypts_with_the_given_kms_key(self):
        [rule] = client("s3").get_bucket_encryption(Bucket=self.ids["LogBucket"])[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        # moto's CloudFormation drops BucketKeyEnabled; test_templates.py checks it.
        self.assertEqual(
            rule["ApplyServerSideEncryptionByDefault"],
            {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.kms_key},
        )

    def test_roles_grant_only_on_this_stacks_resources(self):
        work = self.queue_attributes("WorkQueue")["QueueArn"]
        table = client("dynamodb").describe_table(TableName=self.ids["StateTable"])["Table"]["TableArn"]
        bucket = self.ids["LogBucket"]
        lister = {s["Sid"]: s["Resource"] for s in self.stack.role_policy("ListerRole")["Statement"]}
        statements = {s["Sid"]: s for s in self.stack.role_policy("WorkerRole")["Statement"]}
        worker = {sid: s["Resource"] for sid, s in statements.items()}
        self.assertEqual(lister["Enqueue"], work)
        self.assertEqual(lister["StateTable"], table)
        self.assertEqual(lister["ListInstancesAndLogFiles"], "arn:aws:rds:*:123456789012:db:*")
        self.assertEqual(worker["ReceiveWork"], work)
        self.assertEqual(worker["StateTable"], table)
        self.assertEqual(worker["WriteUnderPrefix"], f"arn:aws:s3:::{bucket}/logs/rds/*")
        self.assertEqual(worker["ListUnderPrefix"], f"arn:aws:s3:::{bucket}")
        self.assertEqual(statements["ListUnderPrefix"]["Condition"], {"StringLike": {"s3:prefix": "logs/rds/*"}})
        self.assertEqual(worker["FindStaleUploads"], f"arn:aws:s3:::{bucket}")
        self.assertEqual(worker["DownloadLogFiles"], "*")
        self.assertEqual(worker["UseBucketKmsKey"], self.kms_key)

    def test_operator_policy_grants_only_on_this_stacks_table_queues_and_rds(self):
        iam = client("iam")
        arn = self.stack.outputs["OperatorPolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = policy_document(
            iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        )
        operator = {s["Sid"]: s["Resource"] for s in document["Statement"]}
        table = client("dynamodb").describe_table(TableName=self.ids["StateTable"])["Table"]["TableArn"]
        rds = "arn:aws:rds:*:123456789012"
        self.assertEqual(operator["StateTable"], table)
        self.assertEqual(operator["DeadLetters"], self.queue_attributes("DeadLetterQueue")["QueueArn"])
        self.assertEqual(operator["Enqueue"], self.queue_attributes("WorkQueue")["QueueArn"])
        self.assertEqual(operator["InstancesAndLogFiles"], f"{rds}:db:*")
        self.assertEqual(
            operator["Snapshots"],
            [f"{rds}:db:*", f"{rds}:snapshot:*", f"{rds}:cluster:*", f"{rds}:cluster-snapshot:*"],
        )
        self.assertEqual(operator["TagSnapshots"], [f"{rds}:snapshot:*", f"{rds}:cluster-snapshot:*"])

    def test_functions_log_to_their_own_groups(self):
        logs = client("logs")
        for group in ("ListerLogGroup", "WorkerLogGroup"):
            [found] = logs.describe_log_groups(logGroupNamePrefix=self.ids[group])["logGroups"]
            # moto keeps a parameter's default as the template wrote it.
            self.assertEqual(int(found["retentionInDays"]), 30)

    def test_dashboard_shows_the_pipeline_metrics_and_queues(self):
        body = json.loads(
            client("cloudwatch").get_dashboard(DashboardName=self.ids["Dashboard"])["DashboardBody"]
        )
        metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
        names = {m[1] for m in metrics}
        for name in ("LogFileShipped", "LogBytesShipped", "LogFileFailed", "ShipLagSeconds", "LogFileLost"):
            self.assertIn(name, names)
        queues = {m[3] for m in metrics if m[0] == "AWS/SQS"}
        self.assertEqual(queues, {queue_name(self.ids["WorkQueue"]), queue_name(self.ids["DeadLetterQueue"])})

    def test_outputs_name_what_an_operator_needs(self):
        self.assertEqual(self.stack.outputs["WorkQueueUrl"], self.ids["WorkQueue"])
        self.assertEqual(self.stack.outputs["DeadLetterQueueUrl"], self.ids["DeadLetterQueue"])
        self.assertEqual(self.stack.outputs["LogBucketName"], self.ids["LogBucket"])
        self.assertEqual(self.stack.outputs["StateTableName"], self.ids["StateTable"])
        self.assertEqual(self.stack.outputs["OperatorPolicyArn"], self.ids["OperatorPolicy"])


class SamDeployTest(DeployTest, unittest.TestCase):
    template_name = "sam"


class CdkDeployTest(DeployTest, unittest.TestCase):
    template_name = "cdk"


if __name__ == "__main__":
    unittest.main()
