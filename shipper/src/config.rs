//! Configuration shared by the Lambdas and the CLI: `RDSLOGS_*` environment
//! variables (CLI flags override them), checked once at start.

use std::time::Duration;

use crate::error::Error;
use crate::message::validate_instance;

pub const INSTANCES: &str = "RDSLOGS_INSTANCES";
pub const BUCKET: &str = "RDSLOGS_BUCKET";
pub const PREFIX: &str = "RDSLOGS_PREFIX";
pub const STATE_TABLE: &str = "RDSLOGS_STATE_TABLE";
pub const QUEUE_URL: &str = "RDSLOGS_QUEUE_URL";
pub const DLQ_URL: &str = "RDSLOGS_DLQ_URL";
pub const PART_SIZE_MIB: &str = "RDSLOGS_PART_SIZE_MIB";
pub const PARTS_IN_FLIGHT: &str = "RDSLOGS_PARTS_IN_FLIGHT";
pub const IN_FLIGHT_TIMEOUT_SECS: &str = "RDSLOGS_IN_FLIGHT_TIMEOUT_SECS";
pub const STALE_UPLOAD_SECS: &str = "RDSLOGS_STALE_UPLOAD_SECS";

/// S3's smallest part size for every part but the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The settings as given, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub instances: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub state_table: Option<String>,
    pub queue_url: Option<String>,
    pub dlq_url: Option<String>,
    pub part_size_mib: Option<String>,
    pub parts_in_flight: Option<String>,
    pub in_flight_timeout_secs: Option<String>,
    pub stale_upload_secs: Option<String>,
}

impl RawSettings {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Self {
            instances: get(INSTANCES),
            bucket: get(BUCKET),
            prefix: get(PREFIX),
            state_table: get(STATE_TABLE),
            queue_url: get(QUEUE_URL),
            dlq_url: get(DLQ_URL),
            part_size_mib: get(PART_SIZE_MIB),
            parts_in_flight: get(PARTS_IN_FLIGHT),
            in_flight_timeout_secs: get(IN_FLIGHT_TIMEOUT_SECS),
            stale_upload_secs: get(STALE_UPLOAD_SECS),
        }
    }

    pub fn lister(&self) -> Result<ListerConfig, Error> {
        let instances: Vec<String> = required(INSTANCES, &self.instances)?
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if instances.is_empty() {
            return Err(invalid(INSTANCES, "lists no instance"));
        }
        for id in &instances {
            validate_instance(id).map_err(|reason| invalid(INSTANCES, &reason))?;
        }
        Ok(ListerConfig {
            instances,
            state_table: self.state_table()?,
            queue_url: self.queue_url()?,
            in_flight_timeout: Duration::from_secs(number(
                IN_FLIGHT_TIMEOUT_SECS,
                &self.in_flight_timeout_secs,
                3600,
                1..=7 * 24 * 3600,
            )?),
        })
    }

    pub fn worker(&self) -> Result<WorkerConfig, Error> {
        let bucket = required(BUCKET, &self.bucket)?;
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket {
            return Err(invalid(
                BUCKET,
                &format!("{bucket:?} is not a valid S3 bucket name"),
            ));
        }
        let part_mib = number(PART_SIZE_MIB, &self.part_size_mib, 8, 5..=512)?;
        Ok(WorkerConfig {
            bucket,
            prefix: self.prefix.clone().unwrap_or_else(|| "rds-logs".to_owned()),
            state_table: self.state_table()?,
            part_size: part_mib as usize * 1024 * 1024,
            parts_in_flight: number(PARTS_IN_FLIGHT, &self.parts_in_flight, 2, 1..=16)? as usize,
            // Lambda's longest timeout: no live upload is older.
            stale_upload_after: Duration::from_secs(number(
                STALE_UPLOAD_SECS,
                &self.stale_upload_secs,
                900,
                0..=7 * 24 * 3600,
            )?),
        })
    }

    pub fn state_table(&self) -> Result<String, Error> {
        required(STATE_TABLE, &self.state_table)
    }

    pub fn queue_url(&self) -> Result<String, Error> {
        url(QUEUE_URL, required(QUEUE_URL, &self.queue_url)?)
    }

    pub fn dlq_url(&self) -> Result<String, Error> {
        url(DLQ_URL, required(DLQ_URL, &self.dlq_url)?)
    }
}

/// What one lister cycle needs.
#[derive(Debug, Clone)]
pub struct ListerConfig {
    pub instances: Vec<String>,
    pub state_table: String,
    pub queue_url: String,
    pub in_flight_timeout: Duration,
}

/// What the worker needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub bucket: String,
    pub prefix: String,
    pub state_table: String,
    pub part_size: usize,
    pub parts_in_flight: usize,
    /// Unfinished multipart uploads of a key older than this are aborted
    /// before a new upload of that key starts.
    pub stale_upload_after: Duration,
}

fn invalid(name: &'static str, reason: &str) -> Error {
    Error::Config {
        name,
        reason: reason.to_owned(),
    }
}

fn required(name: &'static str, value: &Option<String>) -> Result<String, Error> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| invalid(name, "is not set"))
}

fn url(name: &'static str, value: String) -> Result<String, Error> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value)
    } else {
        Err(invalid(name, &format!("{value:?} is not an http(s) URL")))
    }
}

fn number(
    name: &'static str,
    value: &Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, Error> {
    let Some(text) = value else {
        return Ok(default);
    };
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|_| invalid(name, &format!("{text:?} is not a whole number")))?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(invalid(
            name,
            &format!("{n} is outside {}..={}", range.start(), range.end()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawSettings {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RawSettings::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn a_missing_setting_is_named_in_the_error() {
        let err = raw(&[(INSTANCES, "db-1")]).lister().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: RDSLOGS_STATE_TABLE: is not set"
        );
        let err = raw(&[]).worker().unwrap_err();
        assert!(err.to_string().contains("RDSLOGS_BUCKET"), "{err}");
    }

    #[test]
    fn invalid_values_are_refused_with_the_variable_name() {
        let base = [(STATE_TABLE, "t"), (QUEUE_URL, "http://q")];
        let mut bad = base.to_vec();
        bad.push((INSTANCES, "db-1, not_valid"));
        assert!(
            raw(&bad)
                .lister()
                .unwrap_err()
                .to_string()
                .contains("RDSLOGS_INSTANCES")
        );
        let err = raw(&[(BUCKET, "b-1"), (STATE_TABLE, "t"), (PART_SIZE_MIB, "1")])
            .worker()
            .unwrap_err();
        assert!(err.to_string().contains("RDSLOGS_PART_SIZE_MIB"), "{err}");
        let err = raw(&[(BUCKET, "Bad_Bucket"), (STATE_TABLE, "t")])
            .worker()
            .unwrap_err();
        assert!(err.to_string().contains("RDSLOGS_BUCKET"), "{err}");
        let mut bad_url = vec![
            (INSTANCES, "db-1"),
            (STATE_TABLE, "t"),
            (QUEUE_URL, "queue"),
        ];
        bad_url.truncate(3);
        assert!(
            raw(&bad_url)
                .lister()
                .unwrap_err()
                .to_string()
                .contains("RDSLOGS_QUEUE_URL")
        );
    }

    #[test]
    fn defaults_fill_the_optional_settings() {
        let cfg = raw(&[(BUCKET, "logs"), (STATE_TABLE, "t")])
            .worker()
            .unwrap();
        assert_eq!(cfg.prefix, "rds-logs");
        assert_eq!(cfg.part_size, 8 * 1024 * 1024);
        let cfg = raw(&[
            (INSTANCES, " a-1 ,b-2,"),
            (STATE_TABLE, "t"),
            (QUEUE_URL, "https://q"),
        ])
        .lister()
        .unwrap();
        assert_eq!(cfg.instances, ["a-1", "b-2"]);
    }
}
