//! The state table's record of one file as the operator commands show it
//! (`rdslogs dlq show`, `rdslogs status --file`), in a stable JSON shape.

use serde::Serialize;

use crate::version::{FailureRecord, FileState, FileVersion};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shipped {
    pub version: FileVersion,
    pub at_ms: i64,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    pub version: FileVersion,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lost {
    pub version: FileVersion,
    pub detected_ms: i64,
}

/// The state table's record of a file, in the CLI's stable JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRecord {
    pub shipped: Option<Shipped>,
    pub enqueued: Option<Enqueued>,
    /// The version that failed last (attempts count every version since
    /// the file last shipped), as the state table keeps it.
    pub failure: Option<FailureRecord>,
    pub lost: Option<Lost>,
    /// The `DbiResourceId` the file was last enqueued or shipped for.
    pub incarnation: Option<String>,
    /// Every S3 key the file has shipped to: a rewritten or reused name
    /// keeps its earlier contents under their own keys.
    pub keys: Vec<String>,
}

impl From<&FileState> for FileRecord {
    fn from(state: &FileState) -> Self {
        Self {
            shipped: state.shipped.as_ref().map(|s| Shipped {
                version: s.version,
                at_ms: s.at_ms,
                key: s.key.clone(),
            }),
            enqueued: state
                .enqueued
                .map(|(version, at_ms)| Enqueued { version, at_ms }),
            failure: state.failure.clone(),
            lost: state.lost.as_ref().map(|l| Lost {
                version: l.version,
                detected_ms: l.detected_ms,
            }),
            incarnation: state.incarnation.clone(),
            keys: state.keys.clone(),
        }
    }
}
