//! A file's state record as text, the same in `dlq show` and
//! `status --file`: its failure, what shipped where, what is on its way,
//! what was lost, and every key it has had.

use shipper::operator::record::FileRecord;
use shipper::version::FileVersion;

use crate::output;

pub fn version(v: FileVersion) -> String {
    format!(
        "{} bytes, last written {}",
        v.size,
        output::time(v.last_written_ms)
    )
}

pub fn permanence(permanent: bool) -> &'static str {
    if permanent { "permanent" } else { "transient" }
}

/// Prints `record` as `name value` lines through `line`.
pub fn print(record: Option<&FileRecord>, line: &dyn Fn(&str, String)) {
    if let Some(f) = record.and_then(|r| r.failure.as_ref()) {
        line("attempts", f.attempts.to_string());
        line(
            "failure",
            format!("{}, {}", f.reason, permanence(f.permanent)),
        );
        line("failed version", version(f.version));
        line("first failed", output::time(f.first_failed_ms));
        line("last failed", output::time(f.last_failed_ms));
        line("last error", f.last_error.clone());
    } else {
        line("failure record", "none".into());
    }
    let Some(record) = record else {
        return;
    };
    if let Some(s) = &record.shipped {
        line(
            "shipped",
            format!(
                "{}, at {}, key {}",
                version(s.version),
                output::time(s.at_ms),
                s.key
            ),
        );
    }
    if let Some(q) = &record.enqueued {
        line(
            "last enqueued",
            format!("{}, at {}", version(q.version), output::time(q.at_ms)),
        );
    }
    if let Some(l) = &record.lost {
        line(
            "lost",
            format!(
                "{}, noticed {}",
                version(l.version),
                output::time(l.detected_ms)
            ),
        );
    }
    if let Some(id) = &record.incarnation {
        line("resource id", id.clone());
    }
    // One line per key; a name RDS reused has several.
    for (i, key) in record.keys.iter().enumerate() {
        line(if i == 0 { "keys" } else { "" }, key.clone());
    }
}
