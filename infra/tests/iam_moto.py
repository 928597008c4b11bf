"""A moto server of its own with IAM enforcement on, and IAM users that hold
exactly a deployed role's (or managed policy's) permissions.

The shared moto of the suite answers every request unauthenticated; moto's
switch (`INITIAL_NO_AUTH_ACTION_COUNT`, reset at run time through
`POST /moto-api/reset-auth`) is global to a server, so this module starts a
dedicated one. Once enforced, moto verifies each request's SigV4 signature
against the IAM access keys it issued and evaluates the user's policies
(moto/iam/access_control.py).
"""

import copy
import json
import urllib.request
from contextlib import contextmanager

from local_lambda import Processes, free_port, wait_for_line
from stacks import ROOT, client, policy_document

MOTO_SERVER = ROOT / ".venv" / "bin" / "moto_server"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def statements(document: dict) -> list[dict]:
    """The document's statements. moto's CloudFormation leaves a `null` where
    `Fn::If` gave `AWS::NoValue` (CloudFormation drops the element), so nulls
    are dropped here."""
    found = document["Statement"]
    return [s for s in (found if isinstance(found, list) else [found]) if s is not None]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def merged(documents: list[dict]) -> dict:
    """One document with every statement of `documents`: what IAM evaluates
    for a principal holding them all."""
    return {"Version": "2012-10-17", "Statement": [s for d in documents for s in statements(d)]}


# Calls AWS authorizes as one action and moto as another of its own naming:
# SQS's batch calls need the single-message permission ("You cannot set
# permissions explicitly for SendMessageBatch..."), S3's HeadBucket needs
# s3:ListBucket; moto checks sqs:SendMessageBatch and s3:HeadBucket.
MOTO_ACTION_TWINS = {
    "sqs:sendmessage": "sqs:SendMessageBatch",
    "sqs:deletemessage": "sqs:DeleteMessageBatch",
    "sqs:changemessagevisibility": "sqs:ChangeMessageVisibilityBatch",
    "s3:listbucket": "s3:HeadBucket",
}


# Services whose calls moto 5.2.5 authorizes against resource "*" only.
MOTO_ANY_RESOURCE = ("dynamodb:", "cloudformation:")


def for_moto(document: dict) -> dict:
    """The same permissions as moto 5.2.5 needs them written:

    * moto authorizes DynamoDB and CloudFormation calls against resource "*"
      only (neither moto/dynamodb nor moto/cloudformation has a
      `_determine_resource`), so a statement scoped to the table's or the
      stack's ARN never matches there: their actions move to a statement of
      their own on "*". The scopes are pinned by test_deploy.py and
      test_policy.py.
    * an action also grants moto's name for the calls AWS authorizes with it
      (`MOTO_ACTION_TWINS`: SQS batch calls, S3 HeadBucket).

    Nothing else is added: every other action is exactly the role's."""
    out = []
    for statement in statements(document):
        actions = as_list(statement.get("Action", []))
        actions += [MOTO_ACTION_TWINS[a.lower()] for a in actions if a.lower() in MOTO_ACTION_TWINS]
        table = [a for a in actions if a.lower().startswith(MOTO_ANY_RESOURCE)]
        rest = [a for a in actions if a not in table]
        if rest or "Action" not in statement:
            out.append({**statement, "Action": rest} if "Action" in statement else statement)
        if table:
            widened = {**statement, "Action": table, "Resource": "*"}
            if "Sid" in statement:
                widened["Sid"] = statement["Sid"] + "AnyResource"
            out.append(widened)
    return {**document, "Statement": out}


def without_action(documents: list[dict], action: str) -> list[dict]:
    """`documents` with `action` taken out of every statement that lists it."""
    documents = copy.deepcopy(documents)
    found = False
    for document in documents:
        kept = []
        for statement in statements(document):
            actions = as_list(statement.get("Action", []))
            left = [a for a in actions if a.lower() != action.lower()]
            found |= len(left) < len(actions)
            if left or "NotAction" in statement:
                kept.append({**statement, "Action": left} if "Action" in statement else statement)
        document["Statement"] = kept
    if not found:
        raise AssertionError(f"no statement grants {action}; the case proves nothing")
    return documents


class IamMoto:
    """A dedicated moto server: an admin user (Allow *) is created while
    requests are still unauthenticated, then enforcement is switched on and
    everything after it, the tests' own set-up included, signs as a user."""

    def __init__(self, processes: Processes, name: str = "moto-iam"):
        if not MOTO_SERVER.exists():
            raise AssertionError(f"{MOTO_SERVER} is missing: scripts/moto.sh install provides it")
        port = free_port()
        log = processes.start(name, [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], {})
        wait_for_line(*log, r"Running on http")
        self.log = log[0]
        self.url = f"http://127.0.0.1:{port}"
        self.admin = self._user("admin", [ALLOW_ALL], client("iam", url=self.url))
        self._reset_auth(0)

    def _reset_auth(self, free_requests: int | str) -> None:
        # moto reads the raw body; a form content type would hide it.
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=str(free_requests).encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"

    @contextmanager
    def unenforced(self):
        """Enforcement off for a moment. moto 5.2.5 fails the SigV4 check of
        every Lambda API request (SignatureDoesNotMatch, whoever signs), so
        the test's own Lambda calls run here; no code under test calls Lambda."""
        self._reset_auth("inf")
        try:
            yield
        finally:
            self._reset_auth(0)

    def client(self, service: str, keys: tuple[str, str] | None = None):
        """A client signing as `keys`, by default the admin's."""
        return client(service, url=self.url, keys=keys or self.admin)

    def _user(self, name: str, documents: list[dict], iam) -> tuple[str, str]:
        iam.create_user(UserName=name)
        for n, document in enumerate(documents):
            iam.put_user_policy(UserName=name, PolicyName=f"policy-{n}", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def user(self, name: str, documents: list[dict]) -> tuple[str, str]:
        """An IAM user holding exactly `documents` as inline policies, written
        as moto needs them (`for_moto`); returns its access key."""
        return self._user(name, [for_moto(d) for d in documents], self.client("iam"))

    def role_documents(self, role_name: str) -> list[dict]:
        """Every policy document of a role, inline and attached, as IAM holds it."""
        iam = self.client("iam")
        documents = [
            policy_document(iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"])
            for n in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        ]
        for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            documents.append(self.managed_document(attached["PolicyArn"]))
        return documents

    def managed_document(self, policy_arn: str) -> dict:
        iam = self.client("iam")
        version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        return policy_document(
            iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
        )

    def refusals(self) -> list[str]:
        """The requests moto answered 403, from its request log."""
        return [line for line in self.log.read_text(errors="replace").splitlines() if '" 403 ' in line]
