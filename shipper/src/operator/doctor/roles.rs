//! The function roles check: with `--stack NAME`, the lister's and the
//! worker's roles (found through CloudFormation) are asked, through IAM's
//! policy simulator, for each action their function needs, on its resource.

use super::needs::{Arns, LISTER_NEEDS, Need, WORKER_NEEDS, arn_parts, resource_arn};
use super::{Check, Decision, Deployment, RoleSimulator, Simulation, StackResource, call_fix};

pub const ROLES: &str = "function roles";

/// The roles, by their logical ids in both templates (SAM and CDK).
const FUNCTION_ROLES: [(&str, &str, &[Need]); 2] = [
    ("lister role", "ListerRole", LISTER_NEEDS),
    ("worker role", "WorkerRole", WORKER_NEEDS),
];

/// One line per function role, or one skipped line without `--stack`.
pub async fn roles(iam: &impl RoleSimulator, deployment: &Deployment) -> Vec<Check> {
    let Some(stack) = &deployment.stack else {
        return vec![Check::skipped(
            ROLES,
            "no --stack NAME given: the lister and worker roles are not checked",
        )];
    };
    let resources = match iam.stack_resources(stack).await {
        Ok(Some(resources)) => resources,
        Ok(None) => {
            return vec![Check::failed(
                ROLES,
                format!(
                    "stack {stack} not found in {}",
                    deployment.region.as_deref().unwrap_or("the SDK's region")
                ),
                "check --stack and AWS_REGION: doctor looks for the stack in the region it runs in",
            )];
        }
        Err(e) => {
            return vec![Check::failed(
                ROLES,
                format!("DescribeStackResources {stack}: {e}"),
                call_fix(
                    e.code(),
                    "cloudformation:DescribeStackResources",
                    &format!("stack {stack}"),
                ),
            )];
        }
    };
    let mut checks = Vec::new();
    for (check, logical_id, needs) in FUNCTION_ROLES {
        checks.push(
            role(
                iam,
                deployment,
                stack,
                &resources,
                (check, logical_id),
                needs,
            )
            .await,
        );
    }
    checks
}

async fn role(
    iam: &impl RoleSimulator,
    deployment: &Deployment,
    stack: &str,
    resources: &[StackResource],
    (check, logical_id): (&str, &str),
    needs: &[Need],
) -> Check {
    let Some(role) = resources.iter().find(|r| r.logical_id == logical_id) else {
        return Check::failed(
            check,
            format!("stack {stack} has no resource {logical_id}"),
            "deploy the stack from infra/template.yaml or infra/cdk (doctor finds the roles \
             by their logical ids ListerRole and WorkerRole)",
        );
    };
    let name = &role.physical_id;
    let role_arn = match iam.role_arn(name).await {
        Ok(arn) => arn,
        Err(e) => {
            return Check::failed(
                check,
                format!("GetRole {name}: {e}"),
                call_fix(e.code(), "iam:GetRole", &format!("role {name}")),
            );
        }
    };
    let Some((partition, account)) = arn_parts(&role_arn) else {
        return Check::failed(
            check,
            format!("{role_arn} is not a role ARN"),
            "check the stack's role resource",
        );
    };
    let arns = Arns {
        partition,
        account,
        region: deployment.region.as_deref().unwrap_or("*"),
        table: deployment.state_table.as_deref().ok(),
        queue_url: deployment.queue_url.as_deref().ok(),
        bucket: deployment.bucket.as_deref().ok(),
        prefix: &deployment.prefix,
        instance: deployment
            .fleet
            .as_ref()
            .ok()
            .and_then(|f| f.selection.instances.first())
            .map(String::as_str),
    };
    // One simulation per resource (IAM evaluates every action on every
    // resource of a call).
    let mut simulations: Vec<(Simulation, Vec<&Need>)> = Vec::new();
    let mut unchecked: Vec<String> = Vec::new();
    for need in needs {
        match resource_arn(need.on, &arns) {
            Err(setting) => unchecked.push(format!("{} ({setting} is not set)", need.action)),
            Ok((resource, context)) => {
                match simulations
                    .iter_mut()
                    .find(|(s, _)| s.resource == resource && s.context == context)
                {
                    Some((simulation, group)) => {
                        simulation.actions.push(need.action.to_owned());
                        group.push(need);
                    }
                    None => simulations.push((
                        Simulation {
                            role_arn: role_arn.clone(),
                            actions: vec![need.action.to_owned()],
                            resource,
                            context,
                        },
                        vec![need],
                    )),
                }
            }
        }
    }
    let mut denied: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    for (simulation, group) in &simulations {
        let decisions = match iam.simulate(simulation).await {
            Ok(decisions) => decisions,
            Err(e) => {
                return Check::failed(
                    check,
                    format!("SimulatePrincipalPolicy for {name}: {e}"),
                    format!(
                        "{} (a local emulator may not implement it: run without --stack there)",
                        call_fix(e.code(), "iam:SimulatePrincipalPolicy", &role_arn)
                    ),
                );
            }
        };
        for need in group {
            let decision = decisions
                .iter()
                .find(|(action, _)| action.eq_ignore_ascii_case(need.action))
                .map(|(_, d)| *d);
            if decision == Some(Decision::Allowed) {
                continue;
            }
            let how = match decision {
                Some(Decision::ExplicitDeny) => "explicitly denied",
                _ => "not allowed",
            };
            denied.push(format!("{} on {} {how}", need.action, simulation.resource));
            let condition = simulation
                .context
                .iter()
                .map(|(k, v)| format!(" with the condition {k} \"{v}*\""))
                .collect::<String>();
            fixes.push(format!(
                "{} on {}{condition} ({})",
                need.action, simulation.resource, need.why
            ));
        }
    }
    let not_checked = if unchecked.is_empty() {
        String::new()
    } else {
        format!("; not checked: {}", unchecked.join(", "))
    };
    if denied.is_empty() {
        let checked = needs.len() - unchecked.len();
        Check::ok(
            check,
            format!("{name} allows the {checked} actions it needs{not_checked}"),
        )
    } else {
        Check::failed(
            check,
            format!("{name}: {}{not_checked}", denied.join("; ")),
            format!(
                "allow in {name}'s policy (infra/template.yaml, infra/cdk): {}",
                fixes.join("; ")
            ),
        )
    }
}
