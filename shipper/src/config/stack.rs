//! A deployed stack's outputs as settings: `rdslogs --stack NAME` fills
//! the deployment settings from them, so an operator sets nothing by hand
//! after a deploy. Both templates (infra/template.yaml and infra/cdk) name
//! their outputs as this table does.

use std::collections::HashMap;

use super::{
    BUCKET, COMPRESSION, DLQ_URL, KEY_TEMPLATE, PREFIX, QUEUE_URL, RawSettings, STATE_TABLE,
};

/// The variable naming the stack (`--stack` overrides it).
pub const STACK: &str = "RDSLOGS_STACK";

/// One stack output and the setting it fills.
pub struct StackOutput {
    pub output: &'static str,
    pub setting: &'static str,
    field: fn(&mut RawSettings) -> &mut Option<String>,
}

/// Every output the CLI reads, in the templates' order.
pub const STACK_OUTPUTS: &[StackOutput] = &[
    StackOutput {
        output: "LogBucketName",
        setting: BUCKET,
        field: |s| &mut s.bucket,
    },
    StackOutput {
        output: "KeyPrefix",
        setting: PREFIX,
        field: |s| &mut s.prefix,
    },
    StackOutput {
        output: "KeyLayout",
        setting: KEY_TEMPLATE,
        field: |s| &mut s.key_template,
    },
    StackOutput {
        output: "ObjectCompression",
        setting: COMPRESSION,
        field: |s| &mut s.compression,
    },
    StackOutput {
        output: "StateTableName",
        setting: STATE_TABLE,
        field: |s| &mut s.state_table,
    },
    StackOutput {
        output: "WorkQueueUrl",
        setting: QUEUE_URL,
        field: |s| &mut s.queue_url,
    },
    StackOutput {
        output: "DeadLetterQueueUrl",
        setting: DLQ_URL,
        field: |s| &mut s.dlq_url,
    },
];

/// The stack output that holds a setting, if one does.
pub fn output_of(setting: &str) -> Option<&'static str> {
    STACK_OUTPUTS
        .iter()
        .find(|o| o.setting == setting)
        .map(|o| o.output)
}

impl RawSettings {
    /// Each setting a stack output holds, taken from the outputs over what
    /// the environment said (flags are merged after, and win). Returns how
    /// many settings the outputs gave: none means the stack is not one of
    /// this project's.
    pub fn apply_stack_outputs(&mut self, outputs: &HashMap<String, String>) -> usize {
        let mut applied = 0;
        for known in STACK_OUTPUTS {
            if let Some(value) = outputs.get(known.output).filter(|v| !v.trim().is_empty()) {
                *(known.field)(self) = Some(value.clone());
                applied += 1;
            }
        }
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_fill_their_settings_over_the_environment() {
        let mut raw = RawSettings::from_lookup(|name| match name {
            BUCKET => Some("from-env".into()),
            QUEUE_URL => Some("http://env/queue".into()),
            _ => None,
        });
        let outputs = HashMap::from([
            ("LogBucketName".to_owned(), "from-stack".to_owned()),
            ("KeyPrefix".to_owned(), "archive".to_owned()),
            ("StateTableName".to_owned(), "table".to_owned()),
            (
                "DeadLetterQueueUrl".to_owned(),
                "http://stack/dlq".to_owned(),
            ),
            // Blank counts as unset, as in the environment.
            ("ObjectCompression".to_owned(), " ".to_owned()),
            ("DashboardName".to_owned(), "not a setting".to_owned()),
        ]);
        assert_eq!(raw.apply_stack_outputs(&outputs), 4);
        assert_eq!(raw.bucket.as_deref(), Some("from-stack"));
        assert_eq!(raw.prefix.as_deref(), Some("archive"));
        assert_eq!(raw.state_table.as_deref(), Some("table"));
        assert_eq!(raw.dlq_url.as_deref(), Some("http://stack/dlq"));
        // What the stack does not say stays as the environment set it.
        assert_eq!(raw.queue_url.as_deref(), Some("http://env/queue"));
        assert_eq!(raw.compression, None);
    }

    #[test]
    fn a_stack_of_another_project_gives_nothing() {
        let mut raw = RawSettings::default();
        let outputs = HashMap::from([("Endpoint".to_owned(), "x".to_owned())]);
        assert_eq!(raw.apply_stack_outputs(&outputs), 0);
        assert_eq!(output_of(STATE_TABLE), Some("StateTableName"));
        assert_eq!(output_of(super::super::INSTANCES), None);
    }
}
