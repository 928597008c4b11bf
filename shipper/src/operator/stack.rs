//! The settings a deployed stack gives (`rdslogs --stack NAME`): its
//! outputs, read with CloudFormation's DescribeStacks, fill the deployment
//! settings (config::STACK_OUTPUTS says which).

use std::collections::HashMap;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::{RawSettings, STACK, STACK_OUTPUTS};
use crate::error::{AwsCall, AwsError, Error, ErrorClass, PermanentCause};

/// Fills `settings` from the outputs of `stack` in the client's region.
pub async fn apply_stack(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
    settings: &mut RawSettings,
) -> Result<(), Error> {
    let outputs = stack_outputs(cloudformation, stack).await?;
    if settings.apply_stack_outputs(&outputs) == 0 {
        let known: Vec<&str> = STACK_OUTPUTS.iter().map(|o| o.output).collect();
        return Err(Error::Config {
            name: STACK,
            reason: format!(
                "stack {stack} has none of the outputs rdslogs reads ({}): name the stack \
                 deployed from infra/template.yaml or infra/cdk",
                known.join(", ")
            ),
        });
    }
    Ok(())
}

/// A stack's outputs by key.
async fn stack_outputs(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<HashMap<String, String>, Error> {
    let described = cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await;
    let failed = |source| Error::Stack {
        stack: stack.to_owned(),
        source,
    };
    let out = match described {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(is_missing_stack) => {
            let region = cloudformation
                .config()
                .region()
                .map_or_else(|| "this region".to_owned(), ToString::to_string);
            let fix = format!(
                "no stack {stack} in {region}: check --stack (or {STACK}) and AWS_REGION \
                 (a stack's outputs are read in the region it was deployed to)"
            );
            return Err(failed(AwsError::from_sdk(e).with_fix(
                ErrorClass::Permanent(PermanentCause::MissingResource),
                fix,
            )));
        }
        Err(e) => {
            let resource = format!("stack {stack}");
            return Err(failed(AwsError::from_sdk(e).in_call(AwsCall {
                action: "cloudformation:DescribeStacks",
                resource: &resource,
            })));
        }
    };
    let Some(found) = out.stacks().first() else {
        return Err(failed(AwsError::other("DescribeStacks returned no stack")));
    };
    Ok(found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}

/// CloudFormation answers a stack that does not exist with a validation
/// error, not a code of its own.
pub fn is_missing_stack(error: &impl ProvideErrorMetadata) -> bool {
    error.code() == Some("ValidationError")
        && error
            .message()
            .is_some_and(|m| m.contains("does not exist"))
}

#[cfg(test)]
mod tests;
