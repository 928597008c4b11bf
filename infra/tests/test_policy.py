"""Each function's role allows exactly the AWS actions its code calls (read
from the Rust source by code_actions.py) plus what Lambda itself needs, and
scopes them to this stack's resources."""

import unittest
from functools import cache

from code_actions import PLATFORM, WITHOUT_RESOURCE_SCOPE, action_key, code_actions
from stacks import TEMPLATES

ROLES = {"lister": "ListerRole", "worker": "WorkerRole"}


@cache
def derived():
    return code_actions()


def allowed_statements(template: dict, role: str) -> list[dict]:
    [policy] = template["Resources"][role]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    return statements


def actions_of(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


class PolicyTest:
    """Run for each template; subclasses name it."""

    template_name = ""

    def test_roles_allow_what_the_code_calls_and_nothing_more(self):
        template = TEMPLATES[self.template_name]()
        for function, role in ROLES.items():
            with self.subTest(function=function):
                granted = {
                    action_key(a): a for s in allowed_statements(template, role) for a in actions_of(s)
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
                    f"{role}: actions the code calls but the role lacks (first list) or the role "
                    "grants but no code calls (second); update the template and the CDK app, or "
                    "infra/tests/code_actions.py if the code changed shape",
                )

    def test_only_actions_without_resource_scope_use_a_wildcard_resource(self):
        template = TEMPLATES[self.template_name]()
        unscoped = {action_key(a) for a in WITHOUT_RESOURCE_SCOPE}
        for role in ROLES.values():
            for statement in allowed_statements(template, role):
                with self.subTest(role=role, sid=statement["Sid"]):
                    if statement["Resource"] == "*":
                        self.assertLessEqual({action_key(a) for a in actions_of(statement)}, unscoped)
                    self.assertNotIn("*", str(statement["Action"]))


class CodeReadingTest(unittest.TestCase):
    def test_both_functions_reach_every_port_they_use(self):
        services = {f: {a.split(":")[0] for a in actions} for f, actions in derived().items()}
        self.assertEqual(services["lister"], {"rds", "dynamodb", "sqs"})
        self.assertEqual(services["worker"], {"rds", "dynamodb", "s3"})


class SamPolicyTest(PolicyTest, unittest.TestCase):
    template_name = "sam"


class CdkPolicyTest(PolicyTest, unittest.TestCase):
    template_name = "cdk"


if __name__ == "__main__":
    unittest.main()
