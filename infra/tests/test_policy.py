"""Each function's role, and the operator policy, allow exactly the AWS actions
the code calls (read from the Rust source by code_actions.py) plus what Lambda
itself needs, and scope them to this stack's resources.

A grant that another service uses on a role's behalf only when a stack
setting asks for it (S3 calling KMS for a bucket's key) sits in a statement
present only under that template condition (CONDITIONAL in code_actions.py),
and nowhere else.
"""

import unittest
from functools import cache

from code_actions import CONDITIONAL, PLATFORM, WITHOUT_RESOURCE_SCOPE, action_key, code_actions
from stacks import TEMPLATES

# Who runs the code -> the template resource holding its permissions.
POLICIES = {"lister": "ListerRole", "worker": "WorkerRole", "operator": "OperatorPolicy"}
NO_VALUE = {"Ref": "AWS::NoValue"}


@cache
def derived():
    return code_actions()


def statements(template: dict, logical_id: str) -> list[tuple[str | None, dict]]:
    """(condition, statement) for each statement of a role's one inline policy
    or of a managed policy; the condition is None for a statement always there,
    else the name of the condition under which `Fn::If` keeps it."""
    props = template["Resources"][logical_id]["Properties"]
    if "Policies" in props:
        [policy] = props["Policies"]
        document = policy["PolicyDocument"]
    else:
        document = props["PolicyDocument"]
    found = []
    for statement in document["Statement"]:
        if "Fn::If" in statement:
            condition, kept, otherwise = statement["Fn::If"]
            assert otherwise == NO_VALUE, f"{logical_id}: a conditional statement must be absent otherwise"
            found.append((condition, kept))
        else:
            found.append((None, statement))
    assert all(s["Effect"] == "Allow" for _, s in found), logical_id
    return found


def actions_of(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


class PolicyTest:
    """Run for each template; subclasses name it."""

    template_name = ""

    def template(self) -> dict:
        return TEMPLATES[self.template_name]()

    def test_policies_allow_what_the_code_calls_and_nothing_more(self):
        template = self.template()
        for function, logical_id in POLICIES.items():
            with self.subTest(function=function):
                granted = {
                    action_key(a): a
                    for condition, s in statements(template, logical_id)
                    if condition is None
                    for a in actions_of(s)
                }
                calls = derived()[function]
                platform = {action_key(a): a for a in PLATFORM[function]}
                needed = set(calls) | set(platform)
                missing = sorted(f"{a}  (called by {', '.join(sorted(calls[a]))})" for a in needed - set(granted) if a in calls)
                missing += sorted(platform[a] for a in needed - set(granted) if a not in calls)
                extra = sorted(granted[a] for a in set(granted) - needed)
                self.assertEqual(
                    (missing, extra),
                    ([], []),
                    f"{logical_id}: actions the code calls but the policy lacks (first list) or the "
                    "policy grants but no code calls (second); update the template and the CDK app, or "
                    "infra/tests/code_actions.py if the code changed shape",
                )

    def test_conditional_grants_are_only_the_settings_platform_actions(self):
        template = self.template()
        for function, logical_id in POLICIES.items():
            with self.subTest(function=function):
                granted: dict[str, set[str]] = {}
                for condition, s in statements(template, logical_id):
                    if condition is not None:
                        granted.setdefault(condition, set()).update(action_key(a) for a in actions_of(s))
                expected = {
                    condition: {action_key(a) for a in actions}
                    for condition, actions in CONDITIONAL.get(function, {}).items()
                }
                self.assertEqual(granted, expected)
                self.assertEqual(
                    set(granted) - set(template["Conditions"]), set(), "conditions the template lacks"
                )

    def test_only_actions_without_resource_scope_use_a_wildcard_resource(self):
        template = self.template()
        unscoped = {action_key(a) for a in WITHOUT_RESOURCE_SCOPE}
        for logical_id in POLICIES.values():
            for _, statement in statements(template, logical_id):
                with self.subTest(policy=logical_id, sid=statement["Sid"]):
                    if statement["Resource"] == "*":
                        self.assertLessEqual({action_key(a) for a in actions_of(statement)}, unscoped)
                    self.assertNotIn("*", str(statement["Action"]))

    def test_listing_for_the_404_of_a_missing_key_is_limited_to_the_prefix(self):
        # A role that may read a key not yet written gets s3:ListBucket (so
        # that S3 answers 404, not 403), on the bucket and only for the prefix.
        # The operator's `rdslogs doctor` also calls HeadBucket, which S3
        # authorises as s3:ListBucket with no prefix: its grant cannot carry
        # the condition (checked by UNCONDITIONED_LISTING below).
        template = self.template()
        for function, logical_id in POLICIES.items():
            if "s3:listbucket" not in derived()[function] or function in UNCONDITIONED_LISTING:
                continue
            with self.subTest(function=function):
                [listing] = [
                    s for _, s in statements(template, logical_id) if "s3:listbucket" in map(action_key, actions_of(s))
                ]
                self.assertEqual(actions_of(listing), ["s3:ListBucket"])
                self.assertEqual(listing["Condition"], {"StringLike": {"s3:prefix": {"Fn::Sub": "${Prefix}/*"}}})
                bucket = listing["Resource"]["Fn::Sub"]
                self.assertEqual(bucket[0], "arn:${AWS::Partition}:s3:::${Bucket}")


    def test_the_operator_may_list_the_bucket_for_head_bucket(self):
        template = self.template()
        for function in UNCONDITIONED_LISTING:
            [listing] = [
                s for _, s in statements(template, POLICIES[function])
                if "s3:listbucket" in map(action_key, actions_of(s))
            ]
            self.assertNotIn("Condition", listing)
            self.assertEqual(listing["Resource"]["Fn::Sub"][0], "arn:${AWS::Partition}:s3:::${Bucket}")


# Who calls HeadBucket (authorised as s3:ListBucket without a prefix).
UNCONDITIONED_LISTING = {"operator"}


class CodeReadingTest(unittest.TestCase):
    def test_the_functions_and_the_operator_reach_every_port_they_use(self):
        services = {f: {a.split(":")[0] for a in actions} for f, actions in derived().items()}
        # s3: the daily manifests.
        self.assertEqual(services["lister"], {"rds", "dynamodb", "sqs", "s3"})
        # rds: the raw /v19/ download (RAW_CALLS).
        self.assertEqual(services["worker"], {"rds", "dynamodb", "s3"})
        # s3, cloudformation, iam: rdslogs doctor.
        self.assertEqual(services["operator"], {"rds", "dynamodb", "sqs", "s3", "cloudformation", "iam"})

    def test_reading_a_key_that_may_be_missing_needs_listing_too(self):
        self.assertLessEqual({"s3:getobject", "s3:listbucket"}, set(derived()["worker"]))


class SamPolicyTest(PolicyTest, unittest.TestCase):
    template_name = "sam"


class CdkPolicyTest(PolicyTest, unittest.TestCase):
    template_name = "cdk"


if __name__ == "__main__":
    unittest.main()
