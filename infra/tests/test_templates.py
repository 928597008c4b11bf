"""The SAM template (after its transform) and the CDK app's template are the
same stack; and what moto's CloudFormation cannot build (table TTL and
point-in-time recovery, bucket lifecycle, public access block and TLS-only
policy, alarms, the arm64 architecture, the stack without a KMS key) is right
in both templates.
"""

import json
import re
import unittest

from stacks import ROOT, cdk_template, sam_template

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


NO_VALUE = {"Ref": "AWS::NoValue"}


def conditions(template: dict, parameters: dict[str, str]) -> dict[str, bool]:
    """Each condition's value for these parameters (the others at their default)."""
    values = {k: str(p.get("Default", "")) for k, p in template["Parameters"].items()}
    values.update(parameters)

    def evaluate(e):
        if isinstance(e, dict):
            [(fn, args)] = e.items()
            if fn == "Ref":
                return values[args]
            if fn == "Condition":
                return evaluate(template["Conditions"][args])
            if fn == "Fn::Equals":
                return str(evaluate(args[0])) == str(evaluate(args[1]))
            if fn == "Fn::Not":
                return not evaluate(args[0])
            if fn == "Fn::And":
                return all(evaluate(a) for a in args)
            if fn == "Fn::Or":
                return any(evaluate(a) for a in args)
            raise ValueError(fn)
        return e

    return {name: evaluate(e) for name, e in template["Conditions"].items()}


def resolved(value, truth: dict[str, bool]):
    """The value with each Fn::If decided and AWS::NoValue left out, as
    CloudFormation does (moto keeps a NoValue list element as null)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, yes, no = value["Fn::If"]
            return resolved(yes if truth[name] else no, truth)
        out = {k: resolved(v, truth) for k, v in value.items()}
        return {k: v for k, v in out.items() if v != NO_VALUE}
    if isinstance(value, list):
        return [resolved(v, truth) for v in value if resolved(v, truth) != NO_VALUE]
    return value


def policy_statements(template: dict) -> dict[str, list[dict]]:
    """Every IAM policy of the stack: logical ID -> its statements."""
    found = {}
    for logical_id, r in template["Resources"].items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::Role":
            found[logical_id] = [s for p in props.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        elif r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            found[logical_id] = props["PolicyDocument"]["Statement"]
    return found


def kms_statements(statements: list[dict]) -> list[dict]:
    return [s for s in statements if "kms:" in json.dumps(s.get("Action"))]


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
        abort, archive, _superseded = props["LifecycleConfiguration"]["Rules"]
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

    def test_a_listing_age_alarm_watches_the_metric_the_lister_emits(self):
        alarm = self.resource("ListingAgeAlarm")["Properties"]
        metrics_rs = (ROOT / "shipper/src/metrics.rs").read_text()
        self.assertIn(f'OLDEST_LISTING_AGE_SECONDS: &str = "{alarm["MetricName"]}"', metrics_rs)
        self.assertEqual(alarm["Namespace"], {"Ref": "MetricsNamespace"})
        self.assertEqual(alarm["Statistic"], "Maximum")
        self.assertEqual(alarm["Threshold"], {"Ref": "ListingAgeAlarmSeconds"})
        # Before the shortest retention in scope runs out: 24 h (MySQL, MariaDB).
        default = int(self.template()["Parameters"]["ListingAgeAlarmSeconds"]["Default"])
        self.assertLessEqual(default, 24 * 3600 * 3 // 4)

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


    def test_kms_key_parameter_takes_a_key_arn_or_nothing(self):
        template = self.template()
        parameter = template["Parameters"]["BucketKmsKeyArn"]
        self.assertEqual((parameter["Type"], parameter["Default"]), ("String", ""))
        # CloudFormation matches AllowedPattern against the whole value.
        pattern = re.compile(parameter["AllowedPattern"])
        for value in (
            "",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        ):
            self.assertTrue(pattern.fullmatch(value), value)
        for value in (
            "arn:aws:kms:eu-west-1:123456789012:alias/logs",  # IAM grants on keys, not aliases
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:s3:::bucket",
        ):
            self.assertFalse(pattern.fullmatch(value), value)
        groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        [where] = [g for g in groups if g["Label"]["default"] == "Where the logs go"]
        self.assertIn("BucketKmsKeyArn", where["Parameters"])

    def test_without_a_kms_key_nothing_may_use_kms_and_a_created_bucket_uses_sse_s3(self):
        template = self.template()
        truth = conditions(template, {"BucketKmsKeyArn": ""})
        self.assertFalse(truth["UseBucketKmsKey"])
        stack = resolved(template, truth)
        for logical_id, statements in policy_statements(stack).items():
            self.assertEqual(kms_statements(statements), [], logical_id)
        self.assertEqual(
            stack["Resources"]["LogBucket"]["Properties"]["BucketEncryption"],
            {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        )

    def test_with_a_kms_key_only_the_functions_may_use_that_key_and_a_created_bucket_defaults_to_it(self):
        template = self.template()
        key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        truth = conditions(template, {"BucketKmsKeyArn": key})
        self.assertTrue(truth["UseBucketKmsKey"])
        stack = resolved(template, truth)
        policies = policy_statements(stack)
        # The worker writes the logs, the lister the daily manifests.
        for role in ("WorkerRole", "ListerRole"):
            [statement] = kms_statements(policies.pop(role))
            self.assertEqual(sorted(statement["Action"]), ["kms:Decrypt", "kms:GenerateDataKey"])
            self.assertEqual(statement["Resource"], {"Ref": "BucketKmsKeyArn"})
            self.assertNotIn("Condition", statement)
        for logical_id, statements in policies.items():
            self.assertEqual(kms_statements(statements), [], logical_id)
        self.assertEqual(
            stack["Resources"]["LogBucket"]["Properties"]["BucketEncryption"],
            {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {"Ref": "BucketKmsKeyArn"},
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )

    def test_operator_policy_is_left_to_attach_and_named_in_the_outputs(self):
        template = self.template()
        policy = self.resource("OperatorPolicy")
        self.assertEqual(policy["Type"], "AWS::IAM::ManagedPolicy")
        for attached in ("Roles", "Users", "Groups"):
            self.assertNotIn(attached, policy["Properties"])
        output = template["Outputs"]["OperatorPolicyArn"]
        self.assertEqual(output["Value"], {"Ref": "OperatorPolicy"})
        self.assertIn("Attach", output["Description"])


class SamTemplateTest(WhatMotoCannotBuild, unittest.TestCase):
    def template(self):
        return sam_template()


class CdkTemplateTest(WhatMotoCannotBuild, unittest.TestCase):
    def template(self):
        return cdk_template()


if __name__ == "__main__":
    unittest.main()
