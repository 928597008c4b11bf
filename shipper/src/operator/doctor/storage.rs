//! The storage checks: the state table's key schema and TTL, the work
//! queue's redrive policy to the dead-letter queue, and the bucket's answer
//! for a key that does not exist (404, not 403).

use super::{BucketProbe, Check, Probe, QueueFacts, QueueInfo, TableInfo, call_fix, setting_fix};
use crate::error::Error;
use crate::state::dynamodb_keys::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

pub const STATE_TABLE: &str = "state table";
pub const WORK_QUEUE: &str = "work queue";
pub const DEAD_LETTER_QUEUE: &str = "dead-letter queue";
pub const BUCKET: &str = "bucket";
pub const MISSING_KEY: &str = "missing key answers 404";

/// What creates the resources: the stack, or `rdslogs setup` locally.
const CREATE: &str = "deploy the stack (infra/template.yaml or infra/cdk), or run `rdslogs setup` \
                      for a local or dev account";

/// The table the pipeline expects: `instance` (S) as partition key, `file`
/// (S) as sort key, TTL on `expires_at` (infra/template.yaml, provision.rs).
pub async fn state_table(tables: &impl TableInfo, table: &Result<String, Error>) -> Check {
    let table = match table {
        Ok(table) => table,
        Err(e) => return Check::failed(STATE_TABLE, e.to_string(), setting_fix(e)),
    };
    let facts = match tables.table(table).await {
        Ok(Some(facts)) => facts,
        Ok(None) => {
            return Check::failed(STATE_TABLE, format!("table {table} does not exist"), CREATE);
        }
        Err(e) => {
            return Check::failed(
                STATE_TABLE,
                format!("DescribeTable {table}: {e}"),
                call_fix(
                    e.code(),
                    "dynamodb:DescribeTable",
                    &format!("table {table}"),
                ),
            );
        }
    };
    let key = |kind: &str| {
        facts
            .keys
            .iter()
            .find(|k| k.key_type == kind)
            .map(|k| format!("{} {}", k.name, k.attribute_type.as_deref().unwrap_or("?")))
    };
    let (hash, range) = (key("HASH"), key("RANGE"));
    let expected_hash = format!("{PARTITION_KEY} S");
    let expected_range = format!("{SORT_KEY} S");
    if hash.as_deref() != Some(expected_hash.as_str())
        || range.as_deref() != Some(expected_range.as_str())
    {
        return Check::failed(
            STATE_TABLE,
            format!(
                "{table} has key HASH {}, RANGE {}; expected HASH {expected_hash}, RANGE {expected_range}",
                hash.as_deref().unwrap_or("none"),
                range.as_deref().unwrap_or("none")
            ),
            "a table's key cannot change: point RDSLOGS_STATE_TABLE at the stack's table, \
             or create a new one with `rdslogs setup`",
        );
    }
    let ttl_fix = format!(
        "enable TTL on {TTL_ATTRIBUTE}: aws dynamodb update-time-to-live --table-name {table} \
         --time-to-live-specification Enabled=true,AttributeName={TTL_ATTRIBUTE}"
    );
    match &facts.ttl {
        Ok(Some(ttl))
            if ttl.attribute.as_deref() == Some(TTL_ATTRIBUTE)
                && matches!(ttl.status.as_str(), "ENABLED" | "ENABLING") =>
        {
            Check::ok(
                STATE_TABLE,
                format!(
                    "{table}: {}, key {expected_hash} / {expected_range}, TTL on {TTL_ATTRIBUTE} {}",
                    facts.status.to_lowercase(),
                    ttl.status.to_lowercase()
                ),
            )
        }
        Ok(ttl) => Check::failed(
            STATE_TABLE,
            format!(
                "{table}: TTL is {} (entries of deleted log files would never expire)",
                ttl.as_ref().map_or_else(
                    || "not described".to_owned(),
                    |t| match t.attribute.as_deref() {
                        Some(attribute) => format!("{} on {attribute}", t.status.to_lowercase()),
                        None => t.status.to_lowercase(),
                    }
                )
            ),
            ttl_fix,
        ),
        Err(e) => Check::failed(
            STATE_TABLE,
            format!("DescribeTimeToLive {table}: {e}"),
            call_fix(
                e.code(),
                "dynamodb:DescribeTimeToLive",
                &format!("table {table}"),
            ),
        ),
    }
}

/// The work queue with a redrive policy, and the dead-letter queue it names
/// when RDSLOGS_DLQ_URL is set: two lines.
pub async fn queues(
    sqs: &impl QueueInfo,
    queue_url: &Result<String, Error>,
    dlq_url: Option<&Result<String, Error>>,
) -> Vec<Check> {
    let dlq = match dlq_url {
        None => Err(Check::skipped(
            DEAD_LETTER_QUEUE,
            "RDSLOGS_DLQ_URL is not set; the redrive target is not compared",
        )),
        Some(Err(e)) => Err(Check::failed(
            DEAD_LETTER_QUEUE,
            e.to_string(),
            setting_fix(e),
        )),
        Some(Ok(url)) => match queue(sqs, DEAD_LETTER_QUEUE, url).await {
            Ok(facts) => Ok((url, facts)),
            Err(check) => Err(check),
        },
    };
    let work = match queue_url {
        Err(e) => Check::failed(WORK_QUEUE, e.to_string(), setting_fix(e)),
        Ok(url) => match queue(sqs, WORK_QUEUE, url).await {
            Err(check) => check,
            Ok(facts) => redrive(url, &facts, dlq.as_ref().ok().map(|(_, f)| f)),
        },
    };
    let dlq = match dlq {
        Err(check) => check,
        Ok((url, facts)) => Check::ok(
            DEAD_LETTER_QUEUE,
            format!("{url} ({})", facts.arn.as_deref().unwrap_or("no ARN")),
        ),
    };
    vec![work, dlq]
}

async fn queue(sqs: &impl QueueInfo, check: &str, url: &str) -> Result<QueueFacts, Check> {
    match sqs.queue(url).await {
        Ok(Some(facts)) => Ok(facts),
        Ok(None) => Err(Check::failed(
            check,
            format!("{url} does not exist"),
            CREATE,
        )),
        Err(e) => Err(Check::failed(
            check,
            format!("GetQueueAttributes {url}: {e}"),
            call_fix(e.code(), "sqs:GetQueueAttributes", url),
        )),
    }
}

/// The work queue passes when its redrive policy names a dead-letter
/// queue, and that queue is the configured one when it is known.
fn redrive(url: &str, work: &QueueFacts, dlq: Option<&QueueFacts>) -> Check {
    let fix = "give the work queue a redrive policy to the dead-letter queue \
               (the stack sets one; locally `rdslogs setup` does): without it a file that \
               keeps failing is retried until the message expires, and is then lost";
    let Some(policy) = &work.redrive_policy else {
        return Check::failed(WORK_QUEUE, format!("{url} has no redrive policy"), fix);
    };
    let parsed: Option<(String, Option<u64>)> = serde_json::from_str::<serde_json::Value>(policy)
        .ok()
        .and_then(|v| {
            let target = v["deadLetterTargetArn"].as_str()?.to_owned();
            // SQS returns maxReceiveCount as a number; some tools store text.
            let count = v["maxReceiveCount"]
                .as_u64()
                .or_else(|| v["maxReceiveCount"].as_str()?.parse().ok());
            Some((target, count))
        });
    let Some((target, count)) = parsed else {
        return Check::failed(
            WORK_QUEUE,
            format!("{url} has a redrive policy without a target: {policy}"),
            fix,
        );
    };
    if let Some(expected) = dlq.and_then(|d| d.arn.as_deref())
        && expected != target
    {
        return Check::failed(
            WORK_QUEUE,
            format!("{url} dead-letters to {target}, but RDSLOGS_DLQ_URL is {expected}"),
            "point RDSLOGS_DLQ_URL at the queue the redrive policy names (the stack's \
             DeadLetterQueueUrl output), or fix the redrive policy",
        );
    }
    let after = count.map_or_else(String::new, |c| format!(" after {c} receives"));
    Check::ok(
        WORK_QUEUE,
        format!("{url}: dead letters go to {target}{after}"),
    )
}

/// A key under the prefix that nothing writes: `<prefix>/.rdslogs-doctor/<hex>`.
pub fn probe_key(prefix: &str, random: u64) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!(".rdslogs-doctor/{random:016x}")
    } else {
        format!("{prefix}/.rdslogs-doctor/{random:016x}")
    }
}

/// The bucket exists, and a key that does not exist answers 404 rather than
/// 403: two lines.
pub async fn bucket(
    s3: &impl BucketProbe,
    bucket: &Result<String, Error>,
    prefix: &str,
    probe_key: &str,
) -> Vec<Check> {
    let bucket = match bucket {
        Ok(bucket) => bucket,
        Err(e) => {
            return vec![
                Check::failed(BUCKET, e.to_string(), setting_fix(e)),
                Check::skipped(MISSING_KEY, "no bucket to ask"),
            ];
        }
    };
    let exists = match s3.head_bucket(bucket).await {
        Probe::Found => Check::ok(BUCKET, format!("{bucket} exists")),
        Probe::Missing => {
            return vec![
                Check::failed(BUCKET, format!("{bucket} does not exist"), CREATE),
                Check::skipped(MISSING_KEY, "no bucket to ask"),
            ];
        }
        Probe::Denied => Check::failed(
            BUCKET,
            format!("HeadBucket {bucket} answered 403"),
            format!(
                "allow s3:ListBucket on arn:aws:s3:::{bucket} to the identity running doctor \
                 (HeadBucket needs it); if it is allowed, the bucket belongs to another account"
            ),
        ),
        Probe::Failed(e) => Check::failed(
            BUCKET,
            format!("HeadBucket {bucket}: {e}"),
            call_fix(e.code(), "s3:ListBucket", &format!("arn:aws:s3:::{bucket}")),
        ),
    };
    let prefix = prefix.trim_matches('/');
    let missing = match s3.head_object(bucket, probe_key).await {
        Probe::Missing => Check::ok(
            MISSING_KEY,
            format!("HeadObject s3://{bucket}/{probe_key} answered 404"),
        ),
        Probe::Found => Check::ok(
            MISSING_KEY,
            format!(
                "s3://{bucket}/{probe_key} exists (left by another doctor run?); S3 answers for keys under the prefix"
            ),
        ),
        Probe::Denied => Check::failed(
            MISSING_KEY,
            format!(
                "HeadObject of the missing key s3://{bucket}/{probe_key} answered 403, not 404"
            ),
            format!(
                "allow s3:ListBucket on arn:aws:s3:::{bucket} with the condition s3:prefix \
                 \"{prefix}/*\" (and s3:GetObject on {prefix}/*): without s3:ListBucket S3 \
                 answers 403 AccessDenied instead of 404 for a missing key. The worker role \
                 needs the same, or every first write of a key fails as denied; --stack NAME \
                 checks that role"
            ),
        ),
        Probe::Failed(e) => Check::failed(
            MISSING_KEY,
            format!("HeadObject s3://{bucket}/{probe_key}: {e}"),
            call_fix(
                e.code(),
                "s3:GetObject and s3:ListBucket",
                &format!("arn:aws:s3:::{bucket}/{prefix}/*"),
            ),
        ),
    };
    vec![exists, missing]
}
