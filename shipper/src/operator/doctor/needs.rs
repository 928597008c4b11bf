//! What each function's role must allow, one list per function, and the
//! ARNs of the resources it acts on, built from the configured names.

/// What a needed action is done on; doctor turns it into an ARN from the
/// configured names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The state table (RDSLOGS_STATE_TABLE).
    StateTable,
    /// The work queue (RDSLOGS_QUEUE_URL).
    WorkQueue,
    /// The bucket itself (RDSLOGS_BUCKET).
    Bucket,
    /// The bucket, listed under the prefix: `s3:prefix` is `<prefix>/`.
    BucketUnderPrefix,
    /// An object key under the prefix (RDSLOGS_PREFIX).
    ObjectUnderPrefix,
    /// A daily manifest's key (under `<prefix>/_manifests/`).
    Manifest,
    /// The DB instances (the first of RDSLOGS_INSTANCES, else any).
    DbInstances,
    /// Actions IAM scopes to no resource.
    Any,
}

/// One action a function's role must allow, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub action: &'static str,
    pub on: Resource,
    pub why: &'static str,
}

const fn need(action: &'static str, on: Resource, why: &'static str) -> Need {
    Need { action, on, why }
}

/// What the lister's role must allow: the calls of its code (the policy
/// test in infra/tests derives the same list from the source). The logs
/// actions Lambda needs are left out: their resource is the function's log
/// group, which doctor does not look up.
pub const LISTER_NEEDS: &[Need] = &[
    need(
        "rds:DescribeDBInstances",
        Resource::DbInstances,
        "finds the selected instances",
    ),
    need(
        "rds:DescribeDBLogFiles",
        Resource::DbInstances,
        "lists each instance's log files",
    ),
    need(
        "dynamodb:Query",
        Resource::StateTable,
        "reads what was shipped",
    ),
    need(
        "dynamodb:PutItem",
        Resource::StateTable,
        "records each cycle",
    ),
    need(
        "dynamodb:UpdateItem",
        Resource::StateTable,
        "records versions as enqueued",
    ),
    need(
        "sqs:SendMessage",
        Resource::WorkQueue,
        "enqueues new and changed versions",
    ),
    need(
        "s3:GetObject",
        Resource::ObjectUnderPrefix,
        "HeadObject of each object a daily manifest lists",
    ),
    need(
        "s3:PutObject",
        Resource::Manifest,
        "writes the daily manifests",
    ),
    need(
        "s3:ListBucket",
        Resource::BucketUnderPrefix,
        "without it S3 answers 403, not 404, for a missing key",
    ),
];

/// What the worker's role must allow: its code's calls, and what Lambda's
/// SQS event source does as the function's role.
pub const WORKER_NEEDS: &[Need] = &[
    need(
        "sqs:ReceiveMessage",
        Resource::WorkQueue,
        "the event source polls as the function",
    ),
    need(
        "sqs:DeleteMessage",
        Resource::WorkQueue,
        "the event source deletes handled messages",
    ),
    need(
        "sqs:GetQueueAttributes",
        Resource::WorkQueue,
        "the event source reads the queue",
    ),
    need(
        "rds:DownloadCompleteDBLogFile",
        Resource::Any,
        "downloads the log files",
    ),
    need(
        "rds:DescribeDBInstances",
        Resource::DbInstances,
        "checks each download came from the incarnation the lister listed",
    ),
    need(
        "dynamodb:GetItem",
        Resource::StateTable,
        "reads a file's state",
    ),
    need(
        "dynamodb:UpdateItem",
        Resource::StateTable,
        "records shipped versions and failures",
    ),
    need(
        "s3:PutObject",
        Resource::ObjectUnderPrefix,
        "uploads the files",
    ),
    need(
        "s3:GetObject",
        Resource::ObjectUnderPrefix,
        "HeadObject before a key's first write",
    ),
    need(
        "s3:AbortMultipartUpload",
        Resource::ObjectUnderPrefix,
        "cleans up failed uploads",
    ),
    need(
        "s3:ListBucket",
        Resource::BucketUnderPrefix,
        "without it S3 answers 403, not 404, for a missing key",
    ),
    need(
        "s3:ListBucketMultipartUploads",
        Resource::Bucket,
        "finds stale uploads",
    ),
];

/// Where the roles' actions apply, from the configured names; a missing
/// name leaves the actions on that resource unchecked.
#[derive(Debug, Clone)]
pub struct Arns<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub table: Option<&'a str>,
    pub queue_url: Option<&'a str>,
    pub bucket: Option<&'a str>,
    pub prefix: &'a str,
    pub instance: Option<&'a str>,
}

/// Condition keys and their values, such as `s3:prefix`.
pub type Conditions = Vec<(String, String)>;

/// A resource ARN and its condition keys, or the setting that is missing.
pub fn resource_arn(on: Resource, arns: &Arns) -> Result<(String, Conditions), &'static str> {
    let Arns {
        partition: p,
        account,
        region,
        ..
    } = arns;
    let prefix = arns.prefix.trim_matches('/');
    let under = |bucket: &str| {
        if prefix.is_empty() {
            bucket.to_owned()
        } else {
            format!("{bucket}/{prefix}")
        }
    };
    let bucket = arns.bucket.ok_or(crate::config::BUCKET);
    Ok(match on {
        Resource::StateTable => {
            let table = arns.table.ok_or(crate::config::STATE_TABLE)?;
            (
                format!("arn:{p}:dynamodb:{region}:{account}:table/{table}"),
                vec![],
            )
        }
        Resource::WorkQueue => {
            let url = arns.queue_url.ok_or(crate::config::QUEUE_URL)?;
            (
                queue_arn(url, p, region, account).ok_or(crate::config::QUEUE_URL)?,
                vec![],
            )
        }
        Resource::Bucket => (format!("arn:{p}:s3:::{}", bucket?), vec![]),
        Resource::BucketUnderPrefix => {
            let value = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            (
                format!("arn:{p}:s3:::{}", bucket?),
                vec![("s3:prefix".to_owned(), value)],
            )
        }
        Resource::ObjectUnderPrefix => (
            format!("arn:{p}:s3:::{}/.rdslogs-doctor/probe", under(bucket?)),
            vec![],
        ),
        Resource::Manifest => (
            format!(
                "arn:{p}:s3:::{}/{}",
                bucket?,
                crate::manifest::manifest_key(
                    prefix,
                    "rdslogs-doctor",
                    jiff::civil::date(2000, 1, 1)
                )
            ),
            vec![],
        ),
        Resource::DbInstances => {
            let instance = arns.instance.unwrap_or("*");
            (
                format!("arn:{p}:rds:{region}:{account}:db:{instance}"),
                vec![],
            )
        }
        Resource::Any => ("*".to_owned(), vec![]),
    })
}

/// `https://sqs.<region>.amazonaws.com/<account>/<name>` as an ARN; a URL of
/// another shape (a local emulator) takes the given region and account.
pub fn queue_arn(url: &str, partition: &str, region: &str, account: &str) -> Option<String> {
    let name = crate::provision::queue_name(url).ok()?;
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let labels: Vec<&str> = host.split('.').collect();
    let region = match labels.as_slice() {
        ["sqs", r, _, _, ..] | [r, "queue", ..] => *r,
        _ => region,
    };
    let account = path
        .split('/')
        .find(|s| s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or(account);
    Some(format!("arn:{partition}:sqs:{region}:{account}:{name}"))
}

/// The partition and account of an IAM ARN.
pub fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", _, account, _] => Some((partition, account)),
        _ => None,
    }
}
