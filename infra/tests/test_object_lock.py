"""Write-once storage (ObjectLockMode, ObjectLockDays): a bucket the stack
creates gets S3 Object Lock with a default retention and versioning, and
superseded versions expire once their lock has run out; the worker needs no
Object Lock permission because it sends no retention headers.

moto's CloudFormation creates the bucket without its Object Lock, versioning
and lifecycle settings (docs/aws-fidelity.md), so the templates are checked
here, and the bucket settings they resolve to are applied through moto's S3
API as CloudFormation would, then read back and written to.
"""

import base64
import hashlib
import json
import unittest
import uuid
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config

from stacks import REGION, TEMPLATES, TEST_KEYS, DeployedStack, client, moto_url
from test_templates import conditions, policy_statements, resolved
from test_query import evaluate

LOCK_PROPERTIES = ("ObjectLockEnabled", "ObjectLockConfiguration", "VersioningConfiguration")


class ObjectLockTemplate:
    """Run for each template; subclasses name it."""

    template_name = ""

    def setUp(self):
        self.template = TEMPLATES[self.template_name]()

    def bucket(self, **parameters) -> dict:
        truth = conditions(self.template, parameters)
        return resolved(self.template["Resources"]["LogBucket"], truth)["Properties"]

    def rule_holds(self, name: str, **parameters) -> bool:
        [assertion] = self.template["Rules"][name]["Assertions"]
        check = {"Parameters": self.template["Parameters"], "Conditions": {"rule": assertion["Assert"]}}
        return conditions(check, parameters)["rule"]

    def test_no_lock_by_default(self):
        parameter = self.template["Parameters"]["ObjectLockMode"]
        self.assertEqual(parameter["Default"], "none")
        self.assertEqual(parameter["AllowedValues"], ["none", "GOVERNANCE", "COMPLIANCE"])
        self.assertGreaterEqual(int(self.template["Parameters"]["ObjectLockDays"]["MinValue"]), 1)
        props = self.bucket()
        for name in LOCK_PROPERTIES:
            self.assertNotIn(name, props)
        ids = [r["Id"] for r in props["LifecycleConfiguration"]["Rules"]]
        self.assertNotIn("expire-superseded-versions", ids)

    def test_a_lock_mode_locks_every_version_of_a_created_bucket_for_the_days_given(self):
        for mode in ("GOVERNANCE", "COMPLIANCE"):
            props = self.bucket(ObjectLockMode=mode)
            self.assertIs(props["ObjectLockEnabled"], True)
            self.assertEqual(props["VersioningConfiguration"], {"Status": "Enabled"})
            self.assertEqual(
                props["ObjectLockConfiguration"],
                {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": {"Ref": "ObjectLockMode"}, "Days": {"Ref": "ObjectLockDays"}}},
                },
            )

    def test_superseded_versions_expire_no_sooner_than_their_lock(self):
        [rule] = [
            r for r in self.bucket(ObjectLockMode="COMPLIANCE")["LifecycleConfiguration"]["Rules"]
            if r["Id"] == "expire-superseded-versions"
        ]
        self.assertEqual(rule["Status"], "Enabled")
        self.assertEqual(rule["Prefix"], {"Fn::Sub": "${Prefix}/"})
        # counted from when a version was superseded, i.e. after it was written
        self.assertEqual(rule["NoncurrentVersionExpiration"], {"NoncurrentDays": {"Ref": "ObjectLockDays"}})
        self.assertNotIn("ExpirationInDays", rule)  # current versions stay

    def test_a_lock_mode_with_an_existing_bucket_is_refused(self):
        rule = "ObjectLockNeedsACreatedBucket"
        self.assertTrue(self.rule_holds(rule))
        self.assertTrue(self.rule_holds(rule, ObjectLockMode="COMPLIANCE"))
        self.assertTrue(self.rule_holds(rule, BucketName="mine"))
        self.assertFalse(self.rule_holds(rule, ObjectLockMode="GOVERNANCE", BucketName="mine"))
        self.assertFalse(conditions(self.template, {"ObjectLockMode": "COMPLIANCE", "BucketName": "mine"})["LockObjects"])

    def test_no_role_may_set_or_bypass_a_lock(self):
        # The bucket's default retention applies to writes without retention
        # headers; s3:PutObjectRetention is for setting one per object.
        truth = conditions(self.template, {"ObjectLockMode": "GOVERNANCE"})
        for logical_id, statements in policy_statements(resolved(self.template, truth)).items():
            text = json.dumps(statements)
            for action in ("s3:PutObjectRetention", "s3:BypassGovernanceRetention", "s3:PutObjectLegalHold", "s3:*"):
                self.assertNotIn(f'"{action}"', text, logical_id)

    def test_lock_parameters_are_grouped_for_the_console(self):
        groups = self.template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        [group] = [g for g in groups if "ObjectLockMode" in g["Parameters"]]
        self.assertEqual(group["Parameters"], ["ObjectLockMode", "ObjectLockDays"])
        listed = [p for g in groups for p in g["Parameters"]]
        self.assertEqual(sorted(listed), sorted(self.template["Parameters"].keys() - {"BootstrapVersion"}))


class SamObjectLockTemplateTest(ObjectLockTemplate, unittest.TestCase):
    template_name = "sam"


class CdkObjectLockTemplateTest(ObjectLockTemplate, unittest.TestCase):
    template_name = "cdk"


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class ObjectLockOnS3:
    """The bucket settings the template resolves to, on moto's S3."""

    template_name = ""

    def test_the_stack_deploys_with_a_lock(self):
        stack = DeployedStack(
            TEMPLATES[self.template_name](),
            {"Instances": "pg-orders", "ObjectLockMode": "GOVERNANCE", "ObjectLockDays": "2"},
        )
        self.assertIn("LogBucket", stack.physical)

    def test_a_locked_bucket_keeps_every_version_of_a_growing_file(self):
        # GIVEN a bucket with the settings the template gives a created bucket
        # with ObjectLockMode=GOVERNANCE (bypassable, so the test can clean up)
        template = TEMPLATES[self.template_name]()
        parameters = {"ObjectLockMode": "GOVERNANCE", "ObjectLockDays": "2", "Prefix": "rds-logs"}
        truth = conditions(template, parameters)
        values = {k: str(p.get("Default", "")) for k, p in template["Parameters"].items()} | parameters
        props = evaluate(template["Resources"]["LogBucket"]["Properties"], values, truth)
        s3 = client("s3")
        bucket = "rdslogs-lock-" + uuid.uuid4().hex[:10]
        s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": REGION},
            ObjectLockEnabledForBucket=props["ObjectLockEnabled"],
        )
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=props["VersioningConfiguration"])
        lock = props["ObjectLockConfiguration"]
        retention = lock["Rule"]["DefaultRetention"]
        retention["Days"] = int(retention["Days"])  # a Number parameter, a number to S3
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock)
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle(props))
        self.addCleanup(empty_and_delete, s3, bucket)
        found = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        self.assertEqual(found["ObjectLockEnabled"], "Enabled")
        retention = found["Rule"]["DefaultRetention"]
        self.assertEqual((retention["Mode"], retention["Days"]), ("GOVERNANCE", 2))
        self.assertFalse(retention.get("Years"))  # moto adds "Years": 0
        self.assertEqual(s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")

        # WHEN a log file is shipped, then shipped again longer, with a
        # checksum and no retention headers, as the worker writes
        key = "rds-logs/instance=pg-orders/date=2026-11-20/error/postgresql.log.2026-11-20-13"
        first = s3.put_object(Bucket=bucket, Key=key, Body=b"line 1\n", ContentMD5=md5(b"line 1\n"))
        second = s3.put_object(
            Bucket=bucket, Key=key, Body=b"line 1\nline 2\n", ChecksumAlgorithm="CRC32C"
        )

        # THEN both versions are kept, each locked for the default retention
        versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
        self.assertEqual({v["VersionId"] for v in versions}, {first["VersionId"], second["VersionId"]})
        head = s3.head_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
        until = head["ObjectLockRetainUntilDate"]
        expected = datetime.now(timezone.utc) + timedelta(days=2)
        self.assertLess(abs(until - expected), timedelta(minutes=5))
        # and the superseded one cannot be deleted
        with self.assertRaises(s3.exceptions.ClientError) as refused:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])
        self.assertEqual(refused.exception.response["Error"]["Code"], "AccessDenied")
        # and a write without a checksum is refused, as S3 documents (S3's
        # code is InvalidRequest, moto's MissingUploadObjectWithObjectLockHeaders)
        with self.assertRaises(s3.exceptions.ClientError) as refused:
            without_checksum().put_object(Bucket=bucket, Key=key + ".x", Body=b"x")
        self.assertEqual(refused.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)


def without_checksum():
    """An S3 client that sends a checksum only where the API requires one
    (boto3 adds CRC32 to every upload otherwise)."""
    return boto3.client(
        "s3",
        endpoint_url=moto_url(),
        region_name=REGION,
        aws_access_key_id=TEST_KEYS[0],
        aws_secret_access_key=TEST_KEYS[1],
        config=Config(request_checksum_calculation="when_required"),
    )


def lifecycle(props: dict) -> dict:
    """AWS::S3::Bucket's LifecycleConfiguration in the S3 API's shape."""
    rules = []
    for rule in props["LifecycleConfiguration"]["Rules"]:
        api = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        if "NoncurrentVersionExpiration" in rule:
            days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
            api["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
        rules.append(api)
    return {"Rules": rules}


def empty_and_delete(s3, bucket: str) -> None:
    listing = s3.list_object_versions(Bucket=bucket)
    for v in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
    s3.delete_bucket(Bucket=bucket)


class SamObjectLockOnS3Test(ObjectLockOnS3, unittest.TestCase):
    template_name = "sam"


class CdkObjectLockOnS3Test(ObjectLockOnS3, unittest.TestCase):
    template_name = "cdk"


if __name__ == "__main__":
    unittest.main()
