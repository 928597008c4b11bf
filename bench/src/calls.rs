//! What a fleet-bench cycle cost: the SDK calls each operation made, the
//! cycle's figures, and the steady cycle read against issue 5's targets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shipper::lister::CycleReport;

/// Counts the attempts each SDK operation makes (retries included).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub(crate) fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.calls.lock().expect("counter lock"))
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map_or("unknown", |m| m.name())
            .to_owned();
        *self
            .calls
            .lock()
            .expect("counter lock")
            .entry(name)
            .or_default() += 1;
        Ok(())
    }
}

/// What one cycle cost.
pub(crate) struct CycleFigures {
    pub(crate) name: &'static str,
    pub(crate) secs: f64,
    pub(crate) rds: BTreeMap<String, u64>,
    pub(crate) dynamodb: BTreeMap<String, u64>,
    pub(crate) sqs: BTreeMap<String, u64>,
    pub(crate) report: CycleReport,
}

impl CycleFigures {
    pub(crate) fn print(&self) {
        let join = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        println!("{}:", self.name);
        println!("  wall time        {:.1} s", self.secs);
        println!("  RDS calls        {}", join(&self.rds));
        println!("  DynamoDB calls   {}", join(&self.dynamodb));
        println!("  SQS calls        {}", join(&self.sqs));
        println!(
            "  instances        {} listed, {} skipped; {} versions enqueued; {} throttled answers; {} problems",
            self.report.instances.len(),
            self.report.skipped.len(),
            self.report.enqueued(),
            self.report.throttled,
            self.report.problems().len()
        );
    }
}

pub(crate) fn counters_diff(
    after: BTreeMap<String, u64>,
    before: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .into_iter()
        .map(|(k, v)| {
            let was = before.get(&k).copied().unwrap_or(0);
            (k, v - was)
        })
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Issue 5's targets for the steady cycle.
pub(crate) fn read_targets(steady: &CycleFigures, instances: usize) {
    let pages = steady.rds.get("DescribeDBLogFiles").copied().unwrap_or(0);
    let queries = steady.dynamodb.get("Query").copied().unwrap_or(0);
    let sends: u64 = steady.sqs.values().sum();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("targets for the steady cycle:");
    println!(
        "  <= 1 DescribeDBLogFiles page per instance: {pages} for {instances} ({})",
        verdict(pages as usize <= instances)
    );
    println!(
        "  <= 1 DynamoDB query per instance: {queries} for {instances}, one of them the lister's own records ({})",
        verdict(queries as usize <= instances + 1)
    );
    println!("  0 SQS sends: {sends} ({})", verdict(sends == 0));
    println!(
        "  wall time < 30 s: {:.1} s ({})",
        steady.secs,
        verdict(steady.secs < 30.0)
    );
}
