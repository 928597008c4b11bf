"""The source reading behind the policy test, on small pieces of Rust."""

import tempfile
import unittest
from pathlib import Path

from code_actions import (
    SourceFile,
    action_key,
    direct_actions,
    files_under,
    module_units,
    port_calls,
    reached_actions,
    strip_comments_and_tests,
)

ADAPTER = '''
use aws_sdk_dynamodb::Client;
/// Calls .delete_item() in a doc comment only.
pub struct Table { client: Client }
fn key(id: &str) -> String { format!("{{{id}}}") }
impl Table {
    async fn write(&self) { self.client.put_item().item(key("a")).send().await; }
}
impl FileStates for Table {
    async fn get(&self, id: &str) { let c = '{'; self.client.get_item().key(id).send().await; }
    async fn save(&self) {
        // self.client.scan() is not called
        self.write().await
    }
    async fn all(&self) { self.client.scan().send().await; }
}
#[cfg(test)]
mod tests {
    fn t() { let s = r#"{"a": 1}"#; client.delete_table().send(); }
}
'''
OPERATIONS = {"dynamodb": {"put_item", "get_item", "scan", "delete_item", "delete_table"}}


def actions(handler: str) -> set[str]:
    adapter = SourceFile("adapter.rs", strip_comments_and_tests(ADAPTER), {"dynamodb"})
    return set(reached_actions(port_calls(handler), [adapter], OPERATIONS))


class CodeActionsTest(unittest.TestCase):
    def test_follows_port_calls_into_helpers_across_line_breaks(self):
        self.assertEqual(actions("self.state\n    .save().await"), {"dynamodb:putitem"})
        self.assertEqual(
            actions("self.state.get(id); self.state.save()"), {"dynamodb:getitem", "dynamodb:putitem"}
        )

    def test_ignores_comments_tests_and_calls_on_other_receivers(self):
        self.assertEqual(actions("map.get(id); self.other.all()"), set())

    def test_test_modules_in_their_own_files_are_not_code(self):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "lister"
            (folder / "tests").mkdir(parents=True)
            (folder / "mod.rs").write_text("#[cfg(test)]\nmod tests;\nmod diff;\n")
            for name in ("diff.rs", "tests/mod.rs", "tests/helpers.rs"):
                (folder / name).write_text("")
            self.assertEqual([p.name for p in files_under([folder])], ["diff.rs", "mod.rs"])

    def test_a_types_methods_split_across_a_modules_files_are_followed(self):
        # The S3 sink's store() reaches abort_stale_uploads in sink/s3/stale.rs.
        units = {u.path: u for u in module_units([SourceFile.read(p) for p in files_under(["shipper/src/sink"])])}
        s3 = units["shipper/src/sink/s3"]
        operations = {"s3": {"list_multipart_uploads", "abort_multipart_upload", "put_object", "head_object"}}
        reached = reached_actions(port_calls("self.sink.store(&key)"), [s3], operations)
        self.assertLessEqual({"s3:listbucketmultipartuploads", "s3:abortmultipartupload"}, set(reached))
        self.assertNotIn("fn abort_stale_uploads", units["shipper/src/sink"].code)

    def test_an_operation_may_need_several_actions(self):
        # GIVEN a sink whose existence check is a HeadObject
        sink = SourceFile(
            "sink.rs",
            strip_comments_and_tests(
                "use aws_sdk_s3::Client;\n"
                "impl ObjectSink for S3 { async fn current(&self) { self.client.head_object().send().await; } }"
            ),
            {"s3"},
        )
        # WHEN the handler asks whether an object exists
        found = reached_actions(port_calls("self.sink.current()"), [sink], {"s3": {"head_object"}})
        # THEN a 404 for a missing key needs s3:ListBucket besides s3:GetObject
        self.assertEqual(set(found), {"s3:getobject", "s3:listbucket"})

    def test_an_entry_files_own_sdk_calls_count_for_the_crates_it_names(self):
        entry = SourceFile(
            "doctor.rs",
            strip_comments_and_tests(
                "use aws_sdk_dynamodb::Client;\n"
                "async fn check(c: &Client) { c.describe_table().send().await; s3.head_object(); }"
            ),
            {"dynamodb"},
        )
        found = direct_actions([entry], {"dynamodb": {"describe_table"}, "s3": {"head_object"}})
        self.assertEqual(set(found), {"dynamodb:describetable"})

    def test_action_names_compare_like_iam(self):
        self.assertEqual(action_key("rds:describe_db_log_files"), action_key("rds:DescribeDBLogFiles"))


if __name__ == "__main__":
    unittest.main()
