//! The work message the lister puts on the queue and the worker reads: one
//! file version, as versioned JSON, validated before anything touches it.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::version::{FileVersion, LogFileVersion};

/// The only message schema this build understands.
pub const SCHEMA: u32 = 1;

/// Body of one SQS work message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipRequest {
    pub schema: u32,
    pub instance: String,
    pub file: String,
    pub size: u64,
    pub last_written_ms: i64,
    /// Absent: the worker's own region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The instance's `DbiResourceId` when listed; absent in messages from
    /// builds that did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

impl ShipRequest {
    pub fn new(v: &LogFileVersion) -> Self {
        Self {
            schema: SCHEMA,
            instance: v.instance.clone(),
            file: v.file.clone(),
            size: v.version.size,
            last_written_ms: v.version.last_written_ms,
            region: v.region.clone(),
            resource_id: v.incarnation.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a ShipRequest always serialises")
    }

    /// Parses and validates a message body. Any failure is permanent: the
    /// same bytes will never parse on a later delivery.
    pub fn parse(body: &str) -> Result<LogFileVersion, Error> {
        let request: ShipRequest =
            serde_json::from_str(body).map_err(|e| Error::MalformedMessage {
                reason: format!("not a ship request: {e}"),
            })?;
        if request.schema != SCHEMA {
            return Err(Error::MalformedMessage {
                reason: format!(
                    "schema {} is not supported (expected {SCHEMA})",
                    request.schema
                ),
            });
        }
        validate_instance(&request.instance)
            .map_err(|reason| Error::MalformedMessage { reason })?;
        validate_file_name(&request.file).map_err(|reason| Error::UnsafeFileName {
            instance: request.instance.clone(),
            file: request.file.clone(),
            reason,
        })?;
        if request.last_written_ms < 0 {
            return Err(Error::MalformedMessage {
                reason: "last_written_ms is negative".into(),
            });
        }
        if let Some(region) = &request.region {
            validate_region(region).map_err(|reason| Error::MalformedMessage { reason })?;
        }
        if let Some(id) = &request.resource_id {
            validate_resource_id(id).map_err(|reason| Error::MalformedMessage { reason })?;
        }
        Ok(LogFileVersion {
            instance: request.instance,
            file: request.file,
            version: FileVersion::new(request.size, request.last_written_ms),
            region: request.region,
            incarnation: request.resource_id,
        })
    }
}

/// AWS region names: lowercase letters, digits and hyphens (`eu-west-1`).
pub fn validate_region(region: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&region.len())
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("{region:?} is not an AWS region name"))
    }
}

/// `DbiResourceId`s: `db-` and letters and digits (`db-ABCDEFGHIJKLMNOPQRSTU1234`).
pub fn validate_resource_id(id: &str) -> Result<(), String> {
    let ok = (4..=64).contains(&id.len())
        && id.starts_with("db-")
        && id[3..].chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("{id:?} is not a DbiResourceId"))
    }
}

/// RDS instance identifiers: 1 to 63 letters, digits and hyphens, starting
/// with a letter.
pub fn validate_instance(id: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("{id:?} is not a valid DB instance identifier"))
    }
}

/// A log file name becomes part of an S3 key and a URL path, so it must be a
/// plain relative path: no empty, `.` or `..` segments, no leading slash, no
/// backslashes or control characters, and short enough for an S3 key.
pub fn validate_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("file name is empty".into());
    }
    if name.len() > 900 {
        return Err(format!(
            "file name is {} bytes long (at most 900)",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_control() || c == '\\') {
        return Err("file name contains control characters or backslashes".into());
    }
    if name
        .split('/')
        .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Err("file name has an empty, '.' or '..' path segment".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(instance: &str, file: &str) -> String {
        ShipRequest {
            schema: SCHEMA,
            instance: instance.into(),
            file: file.into(),
            size: 5,
            last_written_ms: 7,
            region: None,
            resource_id: None,
        }
        .to_json()
    }

    #[test]
    fn the_region_is_optional_and_checked() {
        let mut request: serde_json::Value = serde_json::from_str(&body("pg-1", "a.log")).unwrap();
        assert!(request.get("region").is_none(), "absent when not set");
        assert_eq!(
            ShipRequest::parse(&request.to_string()).unwrap().region,
            None
        );
        request["region"] = "eu-west-1".into();
        let v = ShipRequest::parse(&request.to_string()).unwrap();
        assert_eq!(v.region.as_deref(), Some("eu-west-1"));
        request["region"] = "../evil".into();
        let err = ShipRequest::parse(&request.to_string()).unwrap_err();
        assert!(err.to_string().contains("not an AWS region"), "{err}");
    }

    #[test]
    fn round_trips_a_version_with_an_awkward_name() {
        let v = ShipRequest::parse(&body("pg-1", "error/ログ 100%+#.log")).unwrap();
        assert_eq!(v.file, "error/ログ 100%+#.log");
        assert_eq!(v.version, FileVersion::new(5, 7));
    }

    #[test]
    fn the_wire_format_is_stable() {
        assert_eq!(
            body("db", "a.log"),
            r#"{"schema":1,"instance":"db","file":"a.log","size":5,"last_written_ms":7}"#
        );
    }

    #[test]
    fn rejects_garbage_wrong_schema_and_bad_instances() {
        for bad in [
            "not json",
            "{}",
            r#"{"schema":2,"instance":"db","file":"a","size":1,"last_written_ms":1}"#,
        ] {
            assert!(
                matches!(ShipRequest::parse(bad), Err(Error::MalformedMessage { .. })),
                "{bad}"
            );
        }
        for instance in ["", "1db", "db/../x", "db_1", &"a".repeat(64)] {
            assert!(
                ShipRequest::parse(&body(instance, "a.log")).is_err(),
                "{instance}"
            );
        }
    }

    #[test]
    fn rejects_names_that_would_escape_the_prefix() {
        for file in [
            "../../etc/passwd",
            "/abs.log",
            "a//b",
            "a/./b",
            "a\\b",
            "a\nb",
            "x/..",
        ] {
            assert!(
                matches!(
                    ShipRequest::parse(&body("db", file)),
                    Err(Error::UnsafeFileName { .. })
                ),
                "{file:?}"
            );
        }
    }
}
