//! Which incarnation (`DbiResourceId`) carries an instance identifier now,
//! for the worker's check at the end of each download.

use aws_types::region::Region;

use super::{IncarnationLookup, RestLogSource};
use crate::error::{AwsCall, AwsError, Error};

impl RestLogSource {
    /// `LogSource::incarnation`: `DescribeDBInstances` for the identifier.
    pub(super) fn describe_incarnation(
        &self,
        region: Option<&str>,
        instance: &str,
    ) -> IncarnationLookup {
        let request = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(instance);
        let request = match region.filter(|r| *r != self.region) {
            Some(region) => request.customize().config_override(
                aws_sdk_rds::config::Builder::default().region(Region::new(region.to_owned())),
            ),
            None => request.customize(),
        };
        let (instance, region) = (
            instance.to_owned(),
            region.unwrap_or(&self.region).to_owned(),
        );
        Box::pin(async move {
            match request.send().await {
                Ok(out) => Ok(out
                    .db_instances()
                    .first()
                    .and_then(|db| db.dbi_resource_id())
                    .map(str::to_owned)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(Error::Discovery {
                    region,
                    source: AwsError::from_sdk(e).in_call(AwsCall {
                        action: "rds:DescribeDBInstances",
                        resource: &format!("DB instance {instance}"),
                    }),
                }),
            }
        })
    }
}
