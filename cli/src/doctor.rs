//! `rdslogs doctor`: checks the configured deployment against the account it
//! runs in and prints a checklist, each line ok, FAILED with its fix, or skipped.

use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::RawSettings;
use shipper::operator::doctor::{self, AwsAccount, Deployment, FleetScope, Report, Verdict};

use crate::exit::Outcome;
use crate::output;

/// With `--stack`, the stack's ListerRole and WorkerRole are also checked
/// for the actions each function needs (IAM's policy simulator).
#[derive(Args)]
pub struct DoctorArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub scope: crate::settings::ScopeArgs,
}

pub async fn run(
    clients: &AwsClients,
    account: &AwsAccount,
    settings: &RawSettings,
    region: Option<String>,
    stack: Option<String>,
    args: &DoctorArgs,
) -> anyhow::Result<Outcome> {
    let catalogs = match (settings.regions(), settings.rds_rate()) {
        (Ok(regions), Ok((rate, burst))) => clients.region_catalogs(&regions, rate, burst),
        // The instances line reports the bad setting.
        _ => Vec::new(),
    };
    let deployment = Deployment {
        state_table: settings.state_table(),
        queue_url: settings.queue_url(),
        dlq_url: settings.dlq_url.as_ref().map(|_| settings.dlq_url()),
        bucket: settings.bucket(),
        prefix: settings.prefix(),
        fleet: fleet_scope(settings),
        stack,
        region,
    };
    let spinner = output::waiting("checking the deployment", args.json);
    let report = doctor::examine(account, &catalogs, &clients.log_source, &deployment).await;
    spinner.finish_and_clear();
    if args.json {
        output::json(&serde_json::json!({
            "checks": report.checks,
            "passed": report.passed(),
        }))?;
    } else {
        print(&report);
    }
    anyhow::ensure!(
        report.passed(),
        "{} of {} failed",
        report.failed(),
        output::count(report.checks.len(), "check")
    );
    Ok(Outcome::Done)
}

/// The lister's selection and file patterns, with the settings that pace
/// and place its listings checked too.
fn fleet_scope(settings: &RawSettings) -> Result<FleetScope, shipper::Error> {
    settings.regions()?;
    settings.rds_rate()?;
    Ok(FleetScope {
        selection: settings.selection()?,
        filter: settings.file_filter()?,
    })
}

fn print(report: &Report) {
    let mut table = output::table(&["check", "result", "detail", "fix"], &[]);
    for check in &report.checks {
        table.add_row(vec![
            check.check.clone(),
            check.result.label().to_owned(),
            check.detail.clone(),
            check.fix.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    println!("{table}");
    let count = |verdict| report.checks.iter().filter(|c| c.result == verdict).count();
    println!(
        "{} ok, {} failed, {} skipped",
        count(Verdict::Ok),
        count(Verdict::Failed),
        count(Verdict::Skipped)
    );
}
