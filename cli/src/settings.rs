//! Where a command runs: the deployment's resources, each a flag that
//! overrides its `RDSLOGS_*` variable, or the outputs of the stack named by
//! `--stack`. Help lists them under their own heading, after what the
//! command itself does.

use clap::Args;
use shipper::config::{self, RawSettings};

/// The heading deployment settings appear under in every `--help`.
const HEADING: &str = "Deployment settings (flags override --stack, which overrides RDSLOGS_*)";

/// The resources every command may use.
#[derive(Args)]
#[command(next_help_heading = HEADING)]
pub struct SettingsArgs {
    /// CloudFormation stack of the deployment: its outputs give the bucket,
    /// prefix, key layout, table and queues; the flags below override them
    /// [env: RDSLOGS_STACK]
    #[arg(long, global = true, value_name = "NAME")]
    stack: Option<String>,
    /// Destination bucket [env: RDSLOGS_BUCKET]
    #[arg(long, global = true)]
    bucket: Option<String>,
    /// Key prefix in the bucket [env: RDSLOGS_PREFIX, default: rds-logs]
    #[arg(long, global = true)]
    prefix: Option<String>,
    /// DynamoDB state table [env: RDSLOGS_STATE_TABLE]
    #[arg(long, global = true)]
    state_table: Option<String>,
    /// Work queue URL [env: RDSLOGS_QUEUE_URL]
    #[arg(long, global = true)]
    queue_url: Option<String>,
    /// Dead-letter queue URL [env: RDSLOGS_DLQ_URL]
    #[arg(long, global = true)]
    dlq_url: Option<String>,
}

/// The lister's scope, for the commands that list the fleet (a command
/// about one instance takes `--instance` instead).
#[derive(Args)]
#[command(next_help_heading = HEADING)]
pub struct ScopeArgs {
    /// Comma-separated DB instance identifiers the lister covers
    /// [env: RDSLOGS_INSTANCES]
    #[arg(long)]
    instances: Option<String>,
}

fn pick(flag: Option<String>, setting: &mut Option<String>) {
    if flag.is_some() {
        *setting = flag;
    }
}

impl SettingsArgs {
    /// The stack named by `--stack`, else by `RDSLOGS_STACK`.
    pub fn stack(&self) -> Option<String> {
        self.stack
            .clone()
            .or_else(|| std::env::var(config::STACK).ok())
            .filter(|name| !name.trim().is_empty())
    }

    pub fn merge(self, mut raw: RawSettings) -> RawSettings {
        pick(self.bucket, &mut raw.bucket);
        pick(self.prefix, &mut raw.prefix);
        pick(self.state_table, &mut raw.state_table);
        pick(self.queue_url, &mut raw.queue_url);
        pick(self.dlq_url, &mut raw.dlq_url);
        raw
    }
}

impl ScopeArgs {
    pub fn merge(&self, mut raw: RawSettings) -> RawSettings {
        pick(self.instances.clone(), &mut raw.instances);
        raw
    }
}
