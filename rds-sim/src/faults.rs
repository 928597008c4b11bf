//! Fault injection and request counters, shared by the server and the tests
//! that drive it (in process or over `/_sim/...`).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultTarget {
    /// A Query API action such as `DescribeDBLogFiles`, optionally for one instance.
    Action {
        action: String,
        #[serde(default)]
        instance: Option<String>,
    },
    /// The REST download, optionally narrowed to one instance and/or file.
    Download {
        #[serde(default)]
        instance: Option<String>,
        #[serde(default)]
        file: Option<String>,
    },
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fault {
    /// An AWS-shaped error response.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// RDS's `Throttling` error (HTTP 400).
    Throttle,
    /// The response body stops after this many bytes and the connection closes.
    CutAfter { bytes: u64 },
    /// The body stops after this many bytes and the connection hangs open,
    /// as a stuck server would (the client must time out or be killed).
    StallAfter { bytes: u64 },
    /// Each body chunk is delayed by this long.
    SlowBody { chunk_delay_ms: u64 },
    /// The file is reported missing (`DBLogFileNotFoundFault`).
    Vanish,
    /// This many bytes are appended to the file after the first chunk is sent.
    GrowWhileRead { bytes: u64 },
}

/// One rule: a fault for matching requests, a limited number of times or forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub target: FaultTarget,
    pub fault: Fault,
    /// How many matching requests get the fault; `None` means every one.
    #[serde(default)]
    pub times: Option<u32>,
}

/// A request as fault matching sees it.
#[derive(Debug, Clone, Copy)]
pub enum RequestKind<'a> {
    Action {
        action: &'a str,
        instance: Option<&'a str>,
    },
    Download {
        instance: &'a str,
        file: &'a str,
    },
}

impl FaultTarget {
    fn matches(&self, request: RequestKind<'_>) -> bool {
        match (self, request) {
            (
                FaultTarget::Action { action, instance },
                RequestKind::Action {
                    action: a,
                    instance: i,
                },
            ) => action == a && instance.as_deref().is_none_or(|want| Some(want) == i),
            (
                FaultTarget::Download { instance, file },
                RequestKind::Download {
                    instance: i,
                    file: f,
                },
            ) => {
                instance.as_deref().is_none_or(|want| want == i)
                    && file.as_deref().is_none_or(|want| want == f)
            }
            _ => false,
        }
    }
}

/// The account's API request limit, as RDS applies it: a token bucket of
/// `burst` requests refilled at `per_second` (RDS's default is 12 and 300).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRateLimit {
    pub per_second: u32,
    pub burst: u32,
}

type Bucket = governor::DefaultDirectRateLimiter;

/// The live fault and counter state of one simulator.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    counters: Mutex<BTreeMap<String, u64>>,
    clock_offset_secs: AtomicI64,
    latency_ms: AtomicU64,
    content_length: AtomicBool,
    api_limit: Mutex<Option<std::sync::Arc<Bucket>>>,
}

impl Faults {
    /// Adds a rule; one for zero times never applies, so it is not kept.
    pub fn add(&self, rule: FaultRule) {
        if rule.times != Some(0) {
            self.rules.lock().expect("fault rules lock").push(rule);
        }
    }

    pub fn clear(&self) {
        self.rules.lock().expect("fault rules lock").clear();
    }

    /// The first matching fault, counting one use of it.
    pub fn take(&self, request: RequestKind<'_>) -> Option<Fault> {
        let mut rules = self.rules.lock().expect("fault rules lock");
        let index = rules.iter().position(|r| r.target.matches(request))?;
        let fault = rules[index].fault.clone();
        if let Some(times) = rules[index].times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }

    /// Seconds the simulator's clock is ahead of the machine's (negative: behind).
    pub fn set_clock_offset_secs(&self, secs: i64) {
        self.clock_offset_secs.store(secs, Ordering::Relaxed);
    }

    pub fn clock_offset_secs(&self) -> i64 {
        self.clock_offset_secs.load(Ordering::Relaxed)
    }

    /// Throttles Query API calls beyond `limit` (`None`: no limit).
    pub fn set_api_rate_limit(&self, limit: Option<ApiRateLimit>) {
        let bucket = limit.and_then(|l| {
            let quota = governor::Quota::per_second(NonZeroU32::new(l.per_second)?)
                .allow_burst(NonZeroU32::new(l.burst)?);
            Some(std::sync::Arc::new(governor::RateLimiter::direct(quota)))
        });
        *self.api_limit.lock().expect("api limit lock") = bucket;
    }

    /// True when the account's request bucket is empty for this call.
    pub fn api_call_throttled(&self) -> bool {
        let bucket = self.api_limit.lock().expect("api limit lock").clone();
        bucket.is_some_and(|b| b.check().is_err())
    }

    /// Extra latency added to every API call and download.
    pub fn set_latency_ms(&self, ms: u64) {
        self.latency_ms.store(ms, Ordering::Relaxed);
    }

    pub fn latency_ms(&self) -> u64 {
        self.latency_ms.load(Ordering::Relaxed)
    }

    /// Whether downloads announce `Content-Length` (default: chunked).
    pub fn set_content_length(&self, on: bool) {
        self.content_length.store(on, Ordering::Relaxed);
    }

    pub fn content_length(&self) -> bool {
        self.content_length.load(Ordering::Relaxed)
    }

    pub fn count(&self, name: &str) {
        *self
            .counters
            .lock()
            .expect("counters lock")
            .entry(name.to_owned())
            .or_default() += 1;
    }

    /// Requests served so far, by action (`Download` for the REST endpoint,
    /// `Rejected` for requests that failed authentication).
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().expect("counters lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_rule_is_used_up_and_narrow_targets_only_match_their_file() {
        let faults = Faults::default();
        faults.add(FaultRule {
            target: FaultTarget::Download {
                instance: None,
                file: Some("a.log".into()),
            },
            fault: Fault::Throttle,
            times: Some(2),
        });
        let a = RequestKind::Download {
            instance: "db",
            file: "a.log",
        };
        let b = RequestKind::Download {
            instance: "db",
            file: "b.log",
        };
        assert_eq!(faults.take(b), None);
        assert_eq!(faults.take(a), Some(Fault::Throttle));
        assert_eq!(faults.take(a), Some(Fault::Throttle));
        assert_eq!(faults.take(a), None);
    }

    #[test]
    fn a_rule_for_zero_times_never_applies() {
        let faults = Faults::default();
        let rule: FaultRule = serde_json::from_str(
            r#"{"target":{"type":"action","action":"DescribeDBLogFiles"},"fault":{"type":"throttle"},"times":0}"#,
        )
        .unwrap();
        faults.add(rule);
        let listing = RequestKind::Action {
            action: "DescribeDBLogFiles",
            instance: Some("db"),
        };
        assert_eq!(faults.take(listing), None);
        // The rules stay usable (no poisoned lock).
        faults.clear();
    }

    #[test]
    fn rules_round_trip_as_json() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"target":{"type":"action","action":"DescribeDBLogFiles"},"fault":{"type":"cut_after","bytes":10},"times":1}"#,
        )
        .unwrap();
        assert_eq!(rule.fault, Fault::CutAfter { bytes: 10 });
    }
}
