//! One dead-letter message joined with the state table's record of its
//! file, and the selections `rdslogs dlq` accepts (all, an instance, an id).

use serde::Serialize;

use super::DeadLetter;
use crate::error::Error;
use crate::message::ShipRequest;
use crate::operator::record::FileRecord;
use crate::version::FailureRecord;
use crate::version::{FileState, FileVersion, LogFileVersion};

/// What the state table says about a dead-lettered version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// The body is not a valid work message; redriving it fails again.
    Malformed,
    /// S3 holds this version or a newer one (shipped since, perhaps by a
    /// later cycle); redriving it does no harm and ships nothing.
    ShippedSince,
    /// RDS deleted this version before it shipped; a redrive ends as gone.
    Lost,
    /// The state table has a failure record for the file.
    Failing,
    /// The state table records no failure for the file.
    Unrecorded,
}

impl EntryState {
    /// The name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            EntryState::Malformed => "malformed",
            EntryState::ShippedSince => "shipped_since",
            EntryState::Lost => "lost",
            EntryState::Failing => "failing",
            EntryState::Unrecorded => "unrecorded",
        }
    }
}

/// A dead-lettered message with what is known about its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DlqEntry {
    pub id: String,
    pub instance: Option<String>,
    pub file: Option<String>,
    pub version: Option<FileVersion>,
    /// Why the body is not a valid work message, when it is not.
    pub malformed: Option<String>,
    /// When the message was first sent to the work queue.
    pub sent_ms: Option<i64>,
    pub age_ms: Option<i64>,
    pub receive_count: Option<u64>,
    pub state: EntryState,
    pub record: Option<FileRecord>,
    pub body: String,
}

/// The message's work request, and the file it names even when the
/// request is refused for its file name.
pub(super) fn parse(body: &str) -> (Option<(String, String)>, Result<LogFileVersion, Error>) {
    let parsed = ShipRequest::parse(body);
    let key = match &parsed {
        Ok(v) => Some((v.instance.clone(), v.file.clone())),
        Err(Error::UnsafeFileName { instance, file, .. }) => Some((instance.clone(), file.clone())),
        Err(_) => None,
    };
    (key, parsed)
}

impl DlqEntry {
    /// Joins a message with its file's state (`None`: the table has none).
    pub fn new(letter: &DeadLetter, state: Option<&FileState>, now_ms: i64) -> Self {
        let (key, parsed) = parse(&letter.body);
        let (instance, file) = key.unzip();
        let version = parsed.as_ref().ok().map(|v| v.version);
        let entry_state = match (&parsed, version) {
            (Err(_), _) | (_, None) => EntryState::Malformed,
            (Ok(_), Some(v)) => match state {
                Some(s) if s.has_shipped(v) => EntryState::ShippedSince,
                Some(s) if s.is_lost(v) => EntryState::Lost,
                Some(s) if s.failure.is_some() => EntryState::Failing,
                _ => EntryState::Unrecorded,
            },
        };
        Self {
            id: letter.id.clone(),
            instance,
            file,
            version,
            malformed: parsed.err().map(|e| e.to_string()),
            sent_ms: letter.sent_ms,
            age_ms: letter.sent_ms.map(|sent| (now_ms - sent).max(0)),
            receive_count: letter.receive_count,
            state: entry_state,
            record: state.map(FileRecord::from),
            body: letter.body.clone(),
        }
    }

    /// The failure record, when the table has one.
    pub fn failure(&self) -> Option<&FailureRecord> {
        self.record.as_ref().and_then(|r| r.failure.as_ref())
    }
}

/// Which dead-lettered messages an operation applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    All,
    /// Messages whose work request names this instance.
    Instance(String),
    /// One message, by its full id.
    Id(String),
}

impl Selector {
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Selector::All => true,
            Selector::Instance(instance) => {
                parse(&letter.body).0.is_some_and(|(i, _)| &i == instance)
            }
            Selector::Id(id) => &letter.id == id,
        }
    }
}

/// The outcome of looking a message up by id or id prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdMatch<'a> {
    One(&'a DeadLetter),
    None,
    /// The prefix fits several messages: their ids.
    Ambiguous(Vec<String>),
}

/// Finds a message by its full id or a unique prefix of it (tables show
/// the first eight characters).
pub fn resolve_id<'a>(letters: &'a [DeadLetter], wanted: &str) -> IdMatch<'a> {
    if wanted.is_empty() {
        return IdMatch::None;
    }
    if let Some(exact) = letters.iter().find(|l| l.id == wanted) {
        return IdMatch::One(exact);
    }
    let matching: Vec<&DeadLetter> = letters
        .iter()
        .filter(|l| l.id.starts_with(wanted))
        .collect();
    match matching.as_slice() {
        [] => IdMatch::None,
        [one] => IdMatch::One(one),
        many => IdMatch::Ambiguous(many.iter().map(|l| l.id.clone()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::{FailureRecord, LostRecord, ShippedRecord};

    fn letter(id: &str, body: &str) -> DeadLetter {
        DeadLetter {
            id: id.into(),
            receipt: format!("r-{id}"),
            body: body.into(),
            sent_ms: Some(1_000),
            receive_count: Some(4),
        }
    }

    fn request(instance: &str, file: &str, size: u64, lw: i64) -> String {
        format!(
            r#"{{"schema":1,"instance":"{instance}","file":"{file}","size":{size},"last_written_ms":{lw}}}"#
        )
    }

    fn failing(version: FileVersion) -> FileState {
        FileState {
            instance: "db-1".into(),
            file: "a.log".into(),
            failure: Some(FailureRecord {
                version,
                attempts: 3,
                last_error: "RDS answered HTTP 403 AccessDenied".into(),
                reason: "download".into(),
                permanent: true,
                first_failed_ms: 2_000,
                last_failed_ms: 3_000,
            }),
            ..FileState::default()
        }
    }

    #[test]
    fn a_failing_version_joins_its_failure_record_and_age() {
        let v = FileVersion::new(10, 500);
        let state = failing(v);
        let entry = DlqEntry::new(
            &letter("m1", &request("db-1", "a.log", 10, 500)),
            Some(&state),
            61_000,
        );
        assert_eq!(entry.state, EntryState::Failing);
        assert_eq!(entry.instance.as_deref(), Some("db-1"));
        assert_eq!(entry.version, Some(v));
        assert_eq!(entry.age_ms, Some(60_000));
        let failure = entry.failure().unwrap();
        assert_eq!(failure.attempts, 3);
        assert_eq!(
            (failure.first_failed_ms, failure.last_failed_ms),
            (2_000, 3_000)
        );
        assert!(failure.permanent);
    }

    #[test]
    fn a_version_shipped_since_or_lost_says_so() {
        let body = request("db-1", "a.log", 10, 500);
        let mut state = failing(FileVersion::new(10, 500));
        state.lost = Some(LostRecord {
            version: FileVersion::new(10, 500),
            detected_ms: 9,
            incarnation: None,
        });
        assert_eq!(
            DlqEntry::new(&letter("m", &body), Some(&state), 0).state,
            EntryState::Lost
        );
        state.shipped = Some(ShippedRecord {
            version: FileVersion::new(20, 600),
            at_ms: 1,
            key: "k".into(),
            stored_bytes: 20,
            crc32c: String::new(),
            raw_crc32c: String::new(),
            listed_size: 20,
            incarnation: None,
        });
        assert_eq!(
            DlqEntry::new(&letter("m", &body), Some(&state), 0).state,
            EntryState::ShippedSince
        );
        assert_eq!(
            DlqEntry::new(&letter("m", &body), None, 0).state,
            EntryState::Unrecorded
        );
    }

    #[test]
    fn a_malformed_body_is_listed_with_its_reason_and_any_file_it_names() {
        let entry = DlqEntry::new(&letter("m", "not json"), None, 0);
        assert_eq!(entry.state, EntryState::Malformed);
        assert!(entry.malformed.unwrap().contains("not a ship request"));
        let unsafe_name = DlqEntry::new(&letter("m", &request("db-1", "../x", 1, 1)), None, 0);
        assert_eq!(unsafe_name.state, EntryState::Malformed);
        assert_eq!(unsafe_name.file.as_deref(), Some("../x"));
    }

    #[test]
    fn selectors_match_by_instance_and_exact_id() {
        let a = letter("aaaa-1", &request("db-1", "a.log", 1, 1));
        let b = letter("bbbb-2", "garbage");
        assert!(Selector::All.matches(&b));
        assert!(Selector::Instance("db-1".into()).matches(&a));
        assert!(!Selector::Instance("db-1".into()).matches(&b));
        assert!(!Selector::Instance("db".into()).matches(&a));
        assert!(Selector::Id("bbbb-2".into()).matches(&b));
        assert!(!Selector::Id("bbbb".into()).matches(&b));
    }

    #[test]
    fn ids_resolve_by_unique_prefix() {
        let letters = [
            letter("abc-1", "x"),
            letter("abc-2", "x"),
            letter("abd-3", "x"),
        ];
        assert_eq!(resolve_id(&letters, "abd"), IdMatch::One(&letters[2]));
        assert_eq!(resolve_id(&letters, "abc-1"), IdMatch::One(&letters[0]));
        assert_eq!(
            resolve_id(&letters, "abc"),
            IdMatch::Ambiguous(vec!["abc-1".into(), "abc-2".into()])
        );
        assert_eq!(resolve_id(&letters, "zzz"), IdMatch::None);
        assert_eq!(resolve_id(&letters, ""), IdMatch::None);
    }
}
