"""The SAM template (after its transform) and the CDK app's template are the
same stack; and what moto's CloudFormation cannot build (table TTL and
point-in-time recovery, bucket lifecycle, public access block and TLS-only
policy, alarms, the arm64 architecture) is right in both templates.
"""

import json
import unittest

from stacks import cdk_template, sam_template

# Only CDK's deploy tooling adds these.
CDK_ONLY = {"BootstrapVersion", "CheckBootstrapVersion"}
# Per function, what differs by tool: where the zip is and who made it.
TOOL_PROPERTIES = {"Code", "Tags"}


def normalized(value):
    """Numbers and numeric strings compare equal, as CloudFormation treats them."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def comparable(resource: dict) -> dict:
    out = {k: v for k, v in resource.items() if k != "Metadata"}
    props = {k: v for k, v in out.get("Properties", {}).items() if k not in TOOL_PROPERTIES}
    if "DashboardBody" in props:  # an Fn::Sub string: compare the JSON inside
        body, *variables = props["DashboardBody"]["Fn::Sub"]
        props["DashboardBody"] = [json.loads(body), *variables]
    out["Properties"] = props
    return normalized(out)


def section(template: dict, name: str) -> dict:
    return {k: v for k, v in template.get(name, {}).items() if k not in CDK_ONLY}


class SameStackTest(unittest.TestCase):
    def setUp(self):
        self.sam, self.cdk = sam_template(), cdk_template()

    def test_same_parameters_rules_mappings_conditions_and_outputs(self):
        for name in ("Parameters", "Rules", "Mappings", "Conditions", "Outputs", "Metadata"):
            with self.subTest(section=name):
                self.assertEqual(normalized(section(self.cdk, name)), normalized(section(self.sam, name)))

    def test_same_resources_with_the_same_properties(self):
        sam, cdk = self.sam["Resources"], self.cdk["Resources"]
        self.assertEqual(
            {k: r["Type"] for k, r in cdk.items()}, {k: r["Type"] for k, r in sam.items()}
        )
        for logical_id in sam:
            with self.subTest(resource=logical_id):
                self.assertEqual(comparable(cdk[logical_id]), comparable(sam[logical_id]))


class WhatMotoCannotBuild:
    """Run for each template; subclasses name it."""

    def template(self) -> dict:
        raise NotImplementedError

    def resource(self, logical_id):
        return self.template()["Resources"][logical_id]

    def test_state_table_expires_gone_files_and_keeps_backups(self):
        props = self.resource("StateTable")["Properties"]
        self.assertEqual(props["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertEqual(props["PointInTimeRecoverySpecification"], {"PointInTimeRecoveryEnabled": True})
        self.assertEqual(props["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(self.resource("StateTable")["DeletionPolicy"], "Retain")

    def test_bucket_is_private_and_cleans_up_incomplete_uploads(self):
        bucket = self.resource("LogBucket")
        props = bucket["Properties"]
        self.assertEqual(bucket["Condition"], "CreateBucket")
        self.assertEqual(bucket["DeletionPolicy"], "Retain")
        self.assertTrue(all(props["PublicAccessBlockConfiguration"].values()))
        self.assertEqual(len(props["PublicAccessBlockConfiguration"]), 4)
        abort, archive = props["LifecycleConfiguration"]["Rules"]
        self.assertEqual(abort["AbortIncompleteMultipartUpload"], {"DaysAfterInitiation": 1})
        self.assertEqual(abort["Status"], "Enabled")
        self.assertNotIn("Prefix", abort)
        condition, rule, otherwise = archive["Fn::If"]
        self.assertEqual(condition, "ArchiveLogs")
        self.assertEqual(otherwise, {"Ref": "AWS::NoValue"})
        self.assertEqual(
            rule["Transitions"],
            [{"StorageClass": {"Ref": "ArchiveStorageClass"}, "TransitionInDays": {"Ref": "ArchiveAfterDays"}}],
        )
        self.assertEqual(rule["Prefix"], {"Fn::Sub": "${Prefix}/"})
        self.assertEqual(
            self.template()["Conditions"]["ArchiveLogs"],
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ArchiveAfterDays"}, "0"]}]},
        )

    def test_bucket_refuses_requests_without_tls(self):
        policy = self.resource("LogBucketPolicy")
        self.assertEqual(policy["Condition"], "CreateBucket")
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual(statement["Effect"], "Deny")
        self.assertEqual(statement["Action"], "s3:*")
        self.assertEqual(statement["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        self.assertEqual(len(statement["Resource"]), 2)

    def test_alarms_watch_the_dlq_and_lister_errors_and_notify_the_optional_topic(self):
        dlq = self.resource("DeadLetterAlarm")["Properties"]
        self.assertEqual(dlq["MetricName"], "ApproximateNumberOfMessagesVisible")
        self.assertEqual(
            dlq["Dimensions"], [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
        )
        errors = self.resource("ListerErrorAlarm")["Properties"]
        self.assertEqual((errors["Namespace"], errors["MetricName"]), ("AWS/Lambda", "Errors"))
        self.assertEqual(errors["Dimensions"], [{"Name": "FunctionName", "Value": {"Ref": "ListerFunction"}}])
        for alarm in (dlq, errors, self.resource("LostFileAlarm")["Properties"]):
            self.assertEqual(alarm["Threshold"], 1)
            self.assertEqual(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
            self.assertEqual(
                alarm["AlarmActions"],
                {"Fn::If": ["NotifyAlarms", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]},
            )

    def test_functions_default_to_arm64(self):
        self.assertEqual(self.template()["Parameters"]["Architecture"]["Default"], "arm64")
        for fn in ("ListerFunction", "WorkerFunction"):
            self.assertEqual(self.resource(fn)["Properties"]["Architectures"], [{"Ref": "Architecture"}])

    def test_visibility_timeout_is_six_worker_timeouts_for_every_allowed_timeout(self):
        template = self.template()
        allowed = template["Parameters"]["WorkerTimeout"]["AllowedValues"]
        mapping = template["Mappings"]["WorkerTimeouts"]
        self.assertEqual(sorted(mapping), sorted(allowed))
        for timeout, row in mapping.items():
            self.assertEqual(int(row["VisibilityTimeout"]), 6 * int(timeout))
        self.assertEqual(
            self.resource("WorkQueue")["Properties"]["VisibilityTimeout"],
            {"Fn::FindInMap": ["WorkerTimeouts", {"Ref": "WorkerTimeout"}, "VisibilityTimeout"]},
        )
        self.assertEqual(self.resource("WorkerFunction")["Properties"]["Timeout"], {"Ref": "WorkerTimeout"})


class SamTemplateTest(WhatMotoCannotBuild, unittest.TestCase):
    def template(self):
        return sam_template()


class CdkTemplateTest(WhatMotoCannotBuild, unittest.TestCase):
    def template(self):
        return cdk_template()


if __name__ == "__main__":
    unittest.main()
