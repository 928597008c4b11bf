"""The two synthesized templates and deploying them into moto's CloudFormation.

The SAM template is translated offline (infra/tools/sam_translate.py); the CDK
template is read from infra/cdk/cdk.out, which scripts/infra-check.sh
synthesizes first. Every deploy uses a unique stack name on the moto that
scripts/test.sh started (RDSLOGS_TEST_MOTO_URL, else .local/moto.url).
"""

import ast
import io
import json
import os
import re
import sys
import time
import uuid
import zipfile
from functools import cache
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "tools"))

from sam_translate import translate  # noqa: E402
from samcli.yamlhelper import yaml_parse  # noqa: E402

CDK_TEMPLATE = ROOT / "infra" / "cdk" / "cdk.out" / "RdsLogShipper.template.json"
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
# cdk bootstrap writes this parameter; a CDK template checks it on deploy.
CDK_BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"

# Resource types moto 5.2.5's CloudFormation does not implement: it reports
# them CREATE_COMPLETE and creates nothing. Their properties are checked on
# the templates (test_templates.py) instead, the Glue table also through
# moto's Glue API (test_query.py).
MOTO_IGNORED_TYPES = {"AWS::CloudWatch::Alarm", "AWS::S3::BucketPolicy", "AWS::Glue::Database", "AWS::Glue::Table"}


@cache
def sam_template() -> dict:
    text = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    return translate(yaml_parse(text))


@cache
def cdk_template() -> dict:
    if not CDK_TEMPLATE.exists():
        raise AssertionError(f"{CDK_TEMPLATE} is missing: scripts/infra-check.sh synthesizes it")
    return json.loads(CDK_TEMPLATE.read_text(encoding="utf-8"))


TEMPLATES = {"sam": sam_template, "cdk": cdk_template}


def moto_url() -> str:
    url = os.environ.get("RDSLOGS_TEST_MOTO_URL")
    if url:
        return url
    recorded = ROOT / ".local" / "moto.url"
    if recorded.exists():
        return recorded.read_text().strip()
    raise AssertionError("these tests need moto: run scripts/test.sh, or scripts/moto.sh start")


TEST_KEYS = ("AKIDINFRATEST", "infra-test-secret")


def client(service: str, *, url: str | None = None, keys: tuple[str, str] = TEST_KEYS):
    """A boto3 client of the shared moto, or of `url` signing with `keys`."""
    return boto3.client(
        service,
        endpoint_url=url or moto_url(),
        region_name=REGION,
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
    )


def policy_document(raw) -> dict:
    """IAM answers a URL-encoded JSON document; moto answers a Python repr."""
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return ast.literal_eval(raw)


def sub_pseudo(value: str) -> str:
    return value.replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)


def upload_function_code(template: dict, connect=client) -> None:
    """Puts a zip wherever the template's functions expect their code.

    The deploy test checks the infrastructure; the binaries themselves run in
    test_runtime.py, so a small zip stands in for them here.
    """
    s3 = connect("s3")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        code = resource["Properties"]["Code"]
        bucket = code["S3Bucket"]
        if isinstance(bucket, dict):  # CDK: {"Fn::Sub": "cdk-...-${AWS::AccountId}-${AWS::Region}"}
            bucket = sub_pseudo(bucket["Fn::Sub"])
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(Bucket=bucket, Key=code["S3Key"], Body=archive.getvalue())


class DeployedStack:
    """A template created in moto, with its resources by logical ID.

    `connect(service)` makes the clients, by default of the shared moto.
    """

    def __init__(self, template: dict, parameters: dict[str, str], connect=client):
        self.name = "rdslogs-" + uuid.uuid4().hex[:10]
        self.connect = connect
        upload_function_code(template, connect)
        if "BootstrapVersion" in template.get("Parameters", {}):
            connect("ssm").put_parameter(
                Name=CDK_BOOTSTRAP_PARAMETER, Value="30", Type="String", Overwrite=True
            )
        cfn = connect("cloudformation")
        cfn.create_stack(
            StackName=self.name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        for _ in range(100):
            stack = cfn.describe_stacks(StackName=self.name)["Stacks"][0]
            if not stack["StackStatus"].endswith("IN_PROGRESS"):
                break
            time.sleep(0.1)
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise AssertionError(f"{self.name}: {stack['StackStatus']}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        summaries = cfn.list_stack_resources(StackName=self.name)["StackResourceSummaries"]
        # Resources moto ignored come back without a logical ID.
        self.physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in summaries
            if r["LogicalResourceId"]
        }
        self.ignored_count = sum(1 for r in summaries if not r["LogicalResourceId"])

    def role_policy(self, logical_id: str) -> dict:
        iam = self.connect("iam")
        role = self.physical[logical_id]
        names = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert len(names) == 1, names
        return policy_document(iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"])

    def function(self, logical_id: str) -> dict:
        return self.connect("lambda").get_function_configuration(FunctionName=self.physical[logical_id])


def queue_name(url: str) -> str:
    return re.sub(r".*/", "", url)
