//! Doctor's view of the account through the SDK: DescribeTable and
//! DescribeTimeToLive, GetQueueAttributes, HeadBucket and HeadObject,
//! DescribeStackResources, GetRole and SimulatePrincipalPolicy.

use aws_sdk_dynamodb::types::TimeToLiveDescription;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;

use super::{
    BucketProbe, Decision, KeyFact, Probe, QueueFacts, QueueInfo, RoleSimulator, Simulation,
    StackResource, TableFacts, TableInfo, TtlFacts,
};
use crate::aws::AwsClients;
use crate::error::AwsError;
use crate::operator::stack::is_missing_stack;

/// The clients doctor asks; S3, SQS and DynamoDB are the pipeline's own.
#[derive(Debug, Clone)]
pub struct AwsAccount {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    cloudformation: aws_sdk_cloudformation::Client,
    iam: aws_sdk_iam::Client,
}

impl AwsAccount {
    /// The pipeline's clients, and CloudFormation and IAM from `config`.
    pub fn new(clients: &AwsClients, config: &SdkConfig) -> Self {
        Self {
            dynamodb: clients.dynamodb.clone(),
            sqs: clients.sqs.clone(),
            s3: clients.s3.clone(),
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
        }
    }
}

impl TableInfo for AwsAccount {
    async fn table(&self, name: &str) -> Result<Option<TableFacts>, AwsError> {
        let described = self.dynamodb.describe_table().table_name(name).send().await;
        let out = match described {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::from_sdk(e)),
        };
        let Some(table) = out.table() else {
            return Ok(None);
        };
        let keys = table
            .key_schema()
            .iter()
            .map(|k| KeyFact {
                name: k.attribute_name().to_owned(),
                key_type: k.key_type().as_str().to_owned(),
                attribute_type: table
                    .attribute_definitions()
                    .iter()
                    .find(|a| a.attribute_name() == k.attribute_name())
                    .map(|a| a.attribute_type().as_str().to_owned()),
            })
            .collect();
        let ttl = self
            .dynamodb
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map(|out| out.time_to_live_description().map(ttl_facts))
            .map_err(AwsError::from_sdk);
        Ok(Some(TableFacts {
            status: table
                .table_status()
                .map_or("UNKNOWN", |s| s.as_str())
                .to_owned(),
            keys,
            ttl,
        }))
    }
}

fn ttl_facts(ttl: &TimeToLiveDescription) -> TtlFacts {
    TtlFacts {
        attribute: ttl.attribute_name().map(str::to_owned),
        status: ttl
            .time_to_live_status()
            .map_or("DISABLED", |s| s.as_str())
            .to_owned(),
    }
}

impl QueueInfo for AwsAccount {
    async fn queue(&self, url: &str) -> Result<Option<QueueFacts>, AwsError> {
        let asked = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await;
        match asked {
            Ok(out) => {
                let attribute =
                    |name: QueueAttributeName| out.attributes().and_then(|a| a.get(&name)).cloned();
                Ok(Some(QueueFacts {
                    arn: attribute(QueueAttributeName::QueueArn),
                    redrive_policy: attribute(QueueAttributeName::RedrivePolicy),
                }))
            }
            Err(e) if is_missing_queue(&e) => Ok(None),
            Err(e) => Err(AwsError::from_sdk(e)),
        }
    }
}

/// SQS's JSON protocol says `QueueDoesNotExist`; its query-compatible code
/// (and older endpoints) `AWS.SimpleQueueService.NonExistentQueue`.
fn is_missing_queue<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| {
            code.ends_with("QueueDoesNotExist") || code.ends_with("NonExistentQueue")
        })
}

/// S3's HEAD answers carry no body: the status is the answer.
fn probe<E>(result: Result<(), SdkError<E, Response>>) -> Probe
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let Err(e) = result else {
        return Probe::Found;
    };
    match e.raw_response().map(|r| r.status().as_u16()) {
        Some(404) => Probe::Missing,
        Some(403) => Probe::Denied,
        _ => Probe::Failed(AwsError::from_sdk(e)),
    }
}

impl BucketProbe for AwsAccount {
    async fn head_bucket(&self, bucket: &str) -> Probe {
        probe(self.s3.head_bucket().bucket(bucket).send().await.map(drop))
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Probe {
        probe(
            self.s3
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map(drop),
        )
    }
}

impl RoleSimulator for AwsAccount {
    async fn stack_resources(&self, stack: &str) -> Result<Option<Vec<StackResource>>, AwsError> {
        let described = self
            .cloudformation
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await;
        match described {
            Ok(out) => Ok(Some(
                out.stack_resources()
                    .iter()
                    .map(|r| StackResource {
                        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                        physical_id: r.physical_resource_id().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            )),
            Err(e) if e.as_service_error().is_some_and(is_missing_stack) => Ok(None),
            Err(e) => Err(AwsError::from_sdk(e)),
        }
    }

    async fn role_arn(&self, role_name: &str) -> Result<String, AwsError> {
        let out = self
            .iam
            .get_role()
            .role_name(role_name)
            .send()
            .await
            .map_err(AwsError::from_sdk)?;
        out.role()
            .map(|r| r.arn().to_owned())
            .ok_or_else(|| AwsError::other(format!("GetRole {role_name} returned no role")))
    }

    async fn simulate(&self, simulation: &Simulation) -> Result<Vec<(String, Decision)>, AwsError> {
        let mut decisions = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut request = self
                .iam
                .simulate_principal_policy()
                .policy_source_arn(&simulation.role_arn)
                .set_action_names(Some(simulation.actions.clone()))
                .resource_arns(&simulation.resource)
                .set_marker(marker.take());
            for (key, value) in &simulation.context {
                request = request.context_entries(
                    ContextEntry::builder()
                        .context_key_name(key)
                        .context_key_type(ContextKeyTypeEnum::String)
                        .context_key_values(value)
                        .build(),
                );
            }
            let out = request.send().await.map_err(AwsError::from_sdk)?;
            decisions.extend(out.evaluation_results().iter().map(|r| {
                let decision = match r.eval_decision() {
                    PolicyEvaluationDecisionType::Allowed => Decision::Allowed,
                    PolicyEvaluationDecisionType::ExplicitDeny => Decision::ExplicitDeny,
                    _ => Decision::ImplicitDeny,
                };
                (r.eval_action_name().to_owned(), decision)
            }));
            match out.marker() {
                Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
                _ => return Ok(decisions),
            }
        }
    }
}

/// What the local stack cannot show: S3's bare 403 to a HEAD, CloudFormation's
/// answer for a missing stack, and the policy simulator (moto lacks it).
#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesError;
    use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
    use aws_sdk_iam::types::EvaluationResult;
    use aws_smithy_mocks::{Rule, mock};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::mocks::mocked;

    fn account(s3: &[&Rule], cloudformation: &[&Rule], iam: &[&Rule]) -> AwsAccount {
        let none: [&Rule; 0] = [];
        AwsAccount {
            dynamodb: mocked!(aws_sdk_dynamodb, none),
            sqs: mocked!(aws_sdk_sqs, none),
            s3: mocked!(aws_sdk_s3, s3),
            cloudformation: mocked!(aws_sdk_cloudformation, cloudformation),
            iam: mocked!(aws_sdk_iam, iam),
        }
    }

    fn status(code: u16) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            StatusCode::try_from(code).unwrap(),
            SdkBody::empty(),
        )
    }

    #[tokio::test]
    async fn a_head_answered_403_is_denied_and_404_missing() {
        // GIVEN S3 as it answers a role without s3:ListBucket
        let denied = mock!(aws_sdk_s3::Client::head_object)
            .match_requests(|r| r.key() == Some("p/missing"))
            .then_http_response(|| status(403));
        let missing = mock!(aws_sdk_s3::Client::head_object)
            .match_requests(|r| r.key() == Some("p/other"))
            .then_http_response(|| status(404));
        let account = account(&[&denied, &missing], &[], &[]);
        assert!(matches!(
            account.head_object("b", "p/missing").await,
            Probe::Denied
        ));
        assert!(matches!(
            account.head_object("b", "p/other").await,
            Probe::Missing
        ));
    }

    #[tokio::test]
    async fn a_stack_that_does_not_exist_is_none_not_an_error() {
        let missing =
            mock!(aws_sdk_cloudformation::Client::describe_stack_resources).then_error(|| {
                DescribeStackResourcesError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationError")
                        .message("Stack with id nope does not exist")
                        .build(),
                )
            });
        let account = account(&[], &[&missing], &[]);
        assert_eq!(account.stack_resources("nope").await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_simulation_reads_every_page_and_passes_the_condition_keys() {
        let result = |action: &str, decision| {
            EvaluationResult::builder()
                .eval_action_name(action)
                .eval_decision(decision)
                .build()
                .unwrap()
        };
        let first = mock!(aws_sdk_iam::Client::simulate_principal_policy)
            .match_requests(|r| {
                r.marker().is_none()
                    && r.context_entries()
                        .iter()
                        .any(|c| c.context_key_name() == Some("s3:prefix"))
            })
            .then_output(move || {
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(
                        "s3:GetObject",
                        PolicyEvaluationDecisionType::Allowed,
                    ))
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_iam::Client::simulate_principal_policy)
            .match_requests(|r| r.marker() == Some("page-2"))
            .then_output(move || {
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(
                        "s3:ListBucket",
                        PolicyEvaluationDecisionType::ImplicitDeny,
                    ))
                    .build()
            });
        let account = account(&[], &[], &[&first, &second]);
        let decisions = account
            .simulate(&Simulation {
                role_arn: "arn:aws:iam::123456789012:role/worker".into(),
                actions: vec!["s3:GetObject".into(), "s3:ListBucket".into()],
                resource: "arn:aws:s3:::b".into(),
                context: vec![("s3:prefix".into(), "rds-logs/".into())],
            })
            .await
            .unwrap();
        assert_eq!(
            decisions,
            [
                ("s3:GetObject".to_owned(), Decision::Allowed),
                ("s3:ListBucket".to_owned(), Decision::ImplicitDeny)
            ]
        );
    }
}
