"""The Athena table over the shipped logs (LogDatabase, LogTable) reads the
key layout the worker writes: its partition projection and location template
match RDSLOGS_KEY_TEMPLATE's default (shipper/src/layout.rs), the table exists
only with that layout, and Glue's API takes the table as both templates
define it.

moto's CloudFormation does not create Glue resources (stacks.MOTO_IGNORED_TYPES),
so the table is created here through moto's Glue API from the template's own
properties, resolved as CloudFormation would. What only Athena decides
(reading sub-folders, .gz/.zst by suffix, hidden files) is in
docs/aws-fidelity.md.
"""

import re
import unittest
from datetime import date

from stacks import ACCOUNT, REGION, ROOT, TEMPLATES, DeployedStack, client
from test_templates import NO_VALUE, conditions, resolved

LAYOUT_RS = (ROOT / "shipper" / "src" / "layout.rs").read_text(encoding="utf-8")
[DEFAULT_TEMPLATE] = re.findall(r'pub const DEFAULT_TEMPLATE: &str = "([^"]+)";', LAYOUT_RS)


def evaluate(value, parameters: dict[str, str], truth: dict[str, bool]):
    """A template value with parameters, pseudo parameters, Fn::If, Fn::Sub,
    Fn::Join and Fn::Split worked out as CloudFormation does. `LogBucket`
    stands for the bucket the stack creates, named after BucketName's value."""

    def ref(name):
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        return parameters["LogBucket" if name == "LogBucket" else name]

    def go(v):
        if isinstance(v, list):
            return [go(x) for x in v]
        if not isinstance(v, dict):
            return v
        if set(v) == {"Ref"}:
            return ref(v["Ref"])
        if set(v) == {"Fn::If"}:
            name, yes, no = v["Fn::If"]
            return go(yes if truth[name] else no)
        if set(v) == {"Fn::Join"}:
            sep, items = v["Fn::Join"]
            return sep.join(go(items))
        if set(v) == {"Fn::Split"}:
            sep, text = v["Fn::Split"]
            return go(text).split(sep)
        if set(v) == {"Fn::Sub"}:
            text, variables = (v["Fn::Sub"], {}) if isinstance(v["Fn::Sub"], str) else v["Fn::Sub"]
            variables = {k: go(x) for k, x in variables.items()}

            def one(m):
                name = m.group(1)
                if name.startswith("!"):  # ${!x} is the literal ${x}
                    return "${" + name[1:] + "}"
                return variables[name] if name in variables else ref(name)

            return re.sub(r"\$\{([^}]+)\}", one, text)
        return {k: go(x) for k, x in v.items()}

    return go(resolved(value, truth))


def render_key(template: str, **values: str) -> str:
    """A key as shipper/src/layout.rs renders it, for the placeholders the
    default layout has (empty segments dropped)."""
    key = template
    for name, value in values.items():
        key = key.replace("{" + name + "}", value)
    assert "{" not in key, key
    return "/".join(s for s in key.split("/") if s)


class TableMatchesTheKeyLayout:
    """Run for each template; subclasses name it."""

    template_name = ""

    def setUp(self):
        self.template = TEMPLATES[self.template_name]()
        self.table = self.template["Resources"]["LogTable"]
        self.database = self.template["Resources"]["LogDatabase"]

    def test_the_key_template_default_is_the_layouts_default(self):
        self.assertEqual(self.template["Parameters"]["KeyTemplate"]["Default"], DEFAULT_TEMPLATE)

    def test_database_and_table_exist_exactly_with_the_default_key_template(self):
        self.assertEqual(self.table["Condition"], "DefaultKeyLayout")
        self.assertEqual(self.database["Condition"], "DefaultKeyLayout")
        self.assertEqual(
            self.template["Conditions"]["DefaultKeyLayout"],
            {"Fn::Equals": [{"Ref": "KeyTemplate"}, DEFAULT_TEMPLATE]},
        )
        self.assertTrue(conditions(self.template, {})["DefaultKeyLayout"])
        mine = "{prefix}/{instance}/{date}/{file}"
        self.assertFalse(conditions(self.template, {"KeyTemplate": mine})["DefaultKeyLayout"])
        for output in ("AthenaDatabase", "AthenaTable"):
            self.assertEqual(self.template["Outputs"][output]["Condition"], "DefaultKeyLayout")

    def test_projection_finds_each_partition_where_the_worker_writes(self):
        # GIVEN the table of a stack shipping into its own bucket
        parameters = {"Prefix": "logs/rds", "BucketName": "", "LogBucket": "archive-bucket"}
        truth = conditions(self.template, parameters)
        table = evaluate(self.table["Properties"]["TableInput"], parameters, truth)
        props = table["Parameters"]
        self.assertEqual(props["projection.enabled"], "true")
        self.assertEqual([k["Name"] for k in table["PartitionKeys"]], ["instance", "date"])
        self.assertEqual(props["projection.instance.type"], "injected")
        self.assertEqual(props["projection.date.type"], "date")
        # Java's yyyy-MM-dd is the ISO day the layout writes (docs/layout.md)
        self.assertEqual(props["projection.date.format"], "yyyy-MM-dd")
        self.assertEqual(props["projection.date.interval.unit"], "DAYS")
        low, high = props["projection.date.range"].split(",")
        self.assertEqual(date.fromisoformat(low), date(2000, 1, 1))
        self.assertRegex(high, r"^NOW(\+1DAY)?$")
        # Every partition column has its placeholder, the template ends with /.
        location_template = props["storage.location.template"]
        self.assertTrue(location_template.endswith("/"), location_template)
        for column in ("instance", "date"):
            self.assertEqual(location_template.count("${" + column + "}"), 1, column)

        # WHEN the worker ships a file whose name has folders, compressed
        file = "error/postgresql.log.2026-11-20-13"
        for suffix in ("", ".gz", ".zst", "~20261121T093000.000Z-9.gz"):
            key = render_key(
                DEFAULT_TEMPLATE, prefix="logs/rds", instance="pg-orders", date="2026-11-20", file=file + suffix
            )
            # THEN the object is below its partition's location, and below the
            # table's location, with the file name (and its folders) after it
            partition = location_template.replace("${instance}", "pg-orders").replace("${date}", "2026-11-20")
            self.assertEqual(f"s3://archive-bucket/{key}", partition + file + suffix)
            self.assertTrue(partition.startswith(table["StorageDescriptor"]["Location"]))
            # and no segment after the partition is hidden from Athena
            for segment in (file + suffix).split("/"):
                self.assertFalse(segment.startswith(("_", ".")), segment)

    def test_table_reads_each_line_whole_as_one_string_column(self):
        descriptor = self.table["Properties"]["TableInput"]["StorageDescriptor"]
        self.assertEqual([(c["Name"], c["Type"]) for c in descriptor["Columns"]], [("line", "string")])
        serde = descriptor["SerdeInfo"]
        self.assertEqual(serde["SerializationLibrary"], "org.apache.hadoop.hive.serde2.RegexSerDe")
        regex = re.compile(serde["Parameters"]["input.regex"])
        for line in ("2026-11-20 13:00:01 UTC:10.0.0.1(5432):app@orders:[42]:ERROR:  x", "", "a\tb\x01c\rd"):
            self.assertEqual(regex.fullmatch(line).groups(), (line,))
        self.assertEqual(descriptor["InputFormat"], "org.apache.hadoop.mapred.TextInputFormat")

    def test_database_is_named_after_the_stack_unless_named(self):
        name = self.database["Properties"]["DatabaseInput"]["Name"]
        for parameters, stack, expected in (
            ({"GlueDatabaseName": ""}, "rds-log-shipper", "rds_log_shipper"),
            ({"GlueDatabaseName": "audit_logs"}, "rds-log-shipper", "audit_logs"),
        ):
            truth = conditions(self.template, parameters)
            value = evaluate(name, {**parameters, "AWS::StackName": stack}, truth)
            self.assertEqual(value, expected)
            # Glue and Athena names: lowercase letters, digits, underscore
            self.assertRegex(value, r"^[a-z0-9_]{1,255}$")
        # The output names what the stack created.
        self.assertEqual(self.template["Outputs"]["AthenaDatabase"]["Value"], name)
        self.assertEqual(
            self.template["Outputs"]["AthenaTable"]["Value"], self.table["Properties"]["TableInput"]["Name"]
        )
        pattern = re.compile(self.template["Parameters"]["GlueDatabaseName"]["AllowedPattern"])
        for ok in ("", "rds_logs", "prod_2"):
            self.assertTrue(pattern.fullmatch(ok), ok)
        for bad in ("RdsLogs", "rds-logs", "rds logs"):
            self.assertFalse(pattern.fullmatch(bad), bad)

    def test_glue_takes_the_database_and_table_as_the_template_defines_them(self):
        # GIVEN the template's Glue resources, resolved for a deployed stack
        stack = "rdslogs-query-" + self.template_name
        parameters = {"Prefix": "rds-logs", "BucketName": "", "LogBucket": "archive-bucket", "GlueDatabaseName": ""}
        truth = conditions(self.template, parameters)
        values = {**parameters, "AWS::StackName": stack}
        database = evaluate(self.database["Properties"], values, truth)
        table = evaluate(self.table["Properties"], {**values, "LogDatabase": database["DatabaseInput"]["Name"]}, truth)
        self.assertEqual(database["CatalogId"], ACCOUNT)
        glue = client("glue")

        # WHEN they are created through Glue's API (botocore checks every field)
        glue.create_database(CatalogId=database["CatalogId"], DatabaseInput=database["DatabaseInput"])
        self.addCleanup(glue.delete_database, Name=database["DatabaseInput"]["Name"])
        glue.create_table(
            CatalogId=table["CatalogId"], DatabaseName=table["DatabaseName"], TableInput=table["TableInput"]
        )

        # THEN Glue holds the table with its projection and location
        found = glue.get_table(DatabaseName=stack.replace("-", "_"), Name="logs")["Table"]
        self.assertEqual(found["StorageDescriptor"]["Location"], "s3://archive-bucket/rds-logs/")
        self.assertEqual(
            found["Parameters"]["storage.location.template"],
            "s3://archive-bucket/rds-logs/instance=${instance}/date=${date}/",
        )
        self.assertEqual([k["Name"] for k in found["PartitionKeys"]], ["instance", "date"])
        self.assertNotIn(NO_VALUE, found.values())


class SamTableTest(TableMatchesTheKeyLayout, unittest.TestCase):
    template_name = "sam"


class CdkTableTest(TableMatchesTheKeyLayout, unittest.TestCase):
    template_name = "cdk"


class StackOutputsTest:
    """What `rdslogs --stack NAME` reads: both templates, deployed into moto,
    answer the key layout and the Athena names among their outputs."""

    template_name = ""

    def deploy(self, **parameters) -> DeployedStack:
        return DeployedStack(TEMPLATES[self.template_name](), {"Instances": "pg-orders", **parameters})

    def test_outputs_give_the_key_layout_and_the_athena_table(self):
        stack = self.deploy(Prefix="logs/rds", Compression="zstd")
        outputs = stack.outputs
        self.assertEqual(outputs["KeyPrefix"], "logs/rds")
        self.assertEqual(outputs["KeyLayout"], DEFAULT_TEMPLATE)
        self.assertEqual(outputs["ObjectCompression"], "zstd")
        self.assertEqual(outputs["AthenaDatabase"], stack.name.replace("-", "_"))
        self.assertEqual(outputs["AthenaTable"], "logs")
        # the same values the functions run with
        env = stack.function("WorkerFunction")["Environment"]["Variables"]
        self.assertEqual(
            (env["RDSLOGS_PREFIX"], env["RDSLOGS_KEY_TEMPLATE"], env["RDSLOGS_COMPRESSION"]),
            (outputs["KeyPrefix"], outputs["KeyLayout"], outputs["ObjectCompression"]),
        )

    def test_a_key_template_of_ones_own_is_an_output_and_gets_no_table(self):
        mine = "{prefix}/{instance}/{year}/{month}/{day}/{file}"
        outputs = self.deploy(KeyTemplate=mine, GlueDatabaseName="ignored_here").outputs
        self.assertEqual(outputs["KeyLayout"], mine)
        self.assertEqual((outputs["KeyPrefix"], outputs["ObjectCompression"]), ("rds-logs", "none"))
        self.assertNotIn("AthenaDatabase", outputs)
        self.assertNotIn("AthenaTable", outputs)

    def test_every_output_rdslogs_reads_is_there_and_names_its_variable(self):
        outputs = TEMPLATES[self.template_name]()["Outputs"]
        for name, variable in rdslogs_stack_outputs():
            self.assertIn(name, outputs)
            self.assertIn(f"({variable}", outputs[name]["Description"])
            self.assertNotIn("Condition", outputs[name])


def rdslogs_stack_outputs() -> list[tuple[str, str]]:
    """The outputs `rdslogs --stack` reads and the variables they fill, from
    its one table (shipper/src/config/stack.rs STACK_OUTPUTS)."""
    config = (ROOT / "shipper" / "src" / "config.rs").read_text(encoding="utf-8")
    variables = dict(re.findall(r'pub const ([A-Z_]+): &str = "(RDSLOGS_[A-Z_]+)";', config))
    table = (ROOT / "shipper" / "src" / "config" / "stack.rs").read_text(encoding="utf-8")
    pairs = re.findall(r'output: "(\w+)",\s*setting: ([A-Z_]+),', table)
    assert len(pairs) >= 7, pairs
    return [(output, variables[setting]) for output, setting in pairs]


class SamOutputsTest(StackOutputsTest, unittest.TestCase):
    template_name = "sam"


class CdkOutputsTest(StackOutputsTest, unittest.TestCase):
    template_name = "cdk"


if __name__ == "__main__":
    unittest.main()
