//! `rdslogs doctor`: checks a configured deployment against the account it
//! runs in and says, line by line, what passed and how to fix what did not.
//!
//! The checks are plain logic over small traits (one per AWS service they
//! look at); `aws` holds the adapters. Every check runs whatever the others
//! found: a missing setting or a failed call is a failed line, not an error.

mod aws;
mod fleet;
#[cfg(test)]
mod memory;
mod needs;
mod roles;
mod storage;
#[cfg(test)]
mod tests;

use std::future::Future;

use serde::Serialize;

pub use aws::AwsAccount;
pub use needs::{LISTER_NEEDS, Need, Resource, WORKER_NEEDS};

use crate::error::{AwsError, Error};
use crate::fleet::{FileFilter, InstanceSelection};
use crate::lister::RegionCatalog;
use crate::rds::{LogCatalog, LogSource};

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Failed,
    /// Not run, and not a fault: nothing to check it with (no `--stack`, or
    /// an earlier check already failed on what this one needs).
    Skipped,
}

impl Verdict {
    /// As the table shows it: failures stand out.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed => "FAILED",
            Verdict::Skipped => "skipped",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub result: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it (failed lines always have one).
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            result: Verdict::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn failed(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            check: check.into(),
            result: Verdict::Failed,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn skipped(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            result: Verdict::Skipped,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// The whole checklist, in the order the checks ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.result == Verdict::Failed)
            .count()
    }

    pub fn passed(&self) -> bool {
        self.failed() == 0
    }
}

/// The deployment as configured: each setting checked on its own, so one
/// missing setting fails only the checks that need it.
#[derive(Debug)]
pub struct Deployment {
    pub state_table: Result<String, Error>,
    pub queue_url: Result<String, Error>,
    /// `None`: RDSLOGS_DLQ_URL is not set (the redrive target is then
    /// taken on trust).
    pub dlq_url: Option<Result<String, Error>>,
    pub bucket: Result<String, Error>,
    pub prefix: String,
    pub fleet: Result<FleetScope, Error>,
    /// The CloudFormation stack whose function roles are checked.
    pub stack: Option<String>,
    /// The SDK's region, for ARNs; `None` when the SDK has none.
    pub region: Option<String>,
}

/// Which instances and files the lister covers.
#[derive(Debug, Clone)]
pub struct FleetScope {
    pub selection: InstanceSelection,
    pub filter: FileFilter,
}

/// A DynamoDB table as `DescribeTable` and `DescribeTimeToLive` tell it.
#[derive(Debug, Clone)]
pub struct TableFacts {
    pub status: String,
    pub keys: Vec<KeyFact>,
    /// `Ok(None)`: the answer carried no TTL description.
    pub ttl: Result<Option<TtlFacts>, AwsError>,
}

/// One key attribute: name, `HASH` or `RANGE`, and its type (`S`, `N`, `B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFact {
    pub name: String,
    pub key_type: String,
    pub attribute_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlFacts {
    pub attribute: Option<String>,
    /// `ENABLED`, `ENABLING`, `DISABLED`, `DISABLING`.
    pub status: String,
}

pub trait TableInfo: Send + Sync {
    /// The table, or `None` when it does not exist.
    fn table(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<TableFacts>, AwsError>> + Send;
}

/// A queue's ARN and its redrive policy as SQS returns it (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFacts {
    pub arn: Option<String>,
    pub redrive_policy: Option<String>,
}

pub trait QueueInfo: Send + Sync {
    /// The queue, or `None` when it does not exist.
    fn queue(&self, url: &str)
    -> impl Future<Output = Result<Option<QueueFacts>, AwsError>> + Send;
}

/// What S3 answered to a `HeadBucket` or `HeadObject`.
#[derive(Debug, Clone)]
pub enum Probe {
    /// 200.
    Found,
    /// 404.
    Missing,
    /// 403.
    Denied,
    /// Anything else: another status, or no answer.
    Failed(AwsError),
}

pub trait BucketProbe: Send + Sync {
    fn head_bucket(&self, bucket: &str) -> impl Future<Output = Probe> + Send;
    fn head_object(&self, bucket: &str, key: &str) -> impl Future<Output = Probe> + Send;
}

/// One resource of a CloudFormation stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: String,
}

/// IAM's answer for one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

/// One `SimulatePrincipalPolicy` question: may the role do these actions on
/// this resource, with these condition keys?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub role_arn: String,
    pub actions: Vec<String>,
    pub resource: String,
    /// Condition keys and their (string) values, such as `s3:prefix`.
    pub context: Vec<(String, String)>,
}

pub trait RoleSimulator: Send + Sync {
    /// The stack's resources, or `None` when there is no such stack.
    fn stack_resources(
        &self,
        stack: &str,
    ) -> impl Future<Output = Result<Option<Vec<StackResource>>, AwsError>> + Send;

    /// The ARN of a role, by name.
    fn role_arn(&self, role_name: &str) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// IAM's decision for each action of the simulation.
    fn simulate(
        &self,
        simulation: &Simulation,
    ) -> impl Future<Output = Result<Vec<(String, Decision)>, AwsError>> + Send;
}

/// Runs every check and returns the checklist. Never fails: whatever goes
/// wrong is a failed line with its fix.
pub async fn examine<A, C, S>(
    account: &A,
    catalogs: &[RegionCatalog<C>],
    source: &S,
    deployment: &Deployment,
) -> Report
where
    A: TableInfo + QueueInfo + BucketProbe + RoleSimulator,
    C: LogCatalog,
    S: LogSource,
{
    let mut checks = vec![storage::state_table(account, &deployment.state_table).await];
    checks
        .extend(storage::queues(account, &deployment.queue_url, deployment.dlq_url.as_ref()).await);
    let probe_key = storage::probe_key(&deployment.prefix, fastrand::u64(..));
    checks
        .extend(storage::bucket(account, &deployment.bucket, &deployment.prefix, &probe_key).await);
    let found = fleet::instances(catalogs, &deployment.fleet).await;
    checks.extend(found.checks);
    checks.push(fleet::download(source, found.smallest.as_ref()).await);
    checks.extend(roles::roles(account, deployment).await);
    Report { checks }
}

/// The fix for a failed AWS call: a denial names the permission the
/// identity running doctor needs; anything else, what to look at.
fn call_fix(code: Option<&str>, action: &str, resource: &str) -> String {
    match code {
        Some(code) if is_denial(code) => format!(
            "allow {action} on {resource} to the identity running doctor \
             (docs/operations.md, permissions)"
        ),
        Some(
            "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "SignatureDoesNotMatch"
            | "InvalidSignatureException",
        ) => "check the AWS credentials doctor runs with (and the clock)".to_owned(),
        _ => format!(
            "{action} failed; check the region and endpoint settings (AWS_REGION, \
             AWS_ENDPOINT_URL*), then run doctor again"
        ),
    }
}

fn is_denial(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "Forbidden"
    )
}

/// The fix for a setting that is missing or invalid: set it, from the
/// stack output that holds it.
fn setting_fix(error: &Error) -> String {
    let Error::Config { name, .. } = error else {
        return error.to_string();
    };
    match crate::config::output_of(name) {
        Some(output) => format!(
            "set {name} (or its flag) to the stack's {output} output, or name the stack \
             with --stack"
        ),
        None => format!("set {name} correctly (README, configuration)"),
    }
}
