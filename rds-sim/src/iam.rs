//! Who may call the simulator: the accepted identities, each optionally held
//! to an IAM policy, and the authorization of every request as RDS does it.

use percent_encoding::percent_decode_str;

use crate::policy::{Decision, Policy};
pub use crate::query::ACCOUNT as DEFAULT_ACCOUNT;
use crate::query::{ApiError, Params, Scope};
use crate::sigv4::AcceptedCredentials;

/// One IAM user the simulator accepts.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user name, as denials name it: `arn:aws:iam::<account>:user/<name>`.
    pub name: String,
    pub credentials: AcceptedCredentials,
    /// When set, every request of this identity is authorized against it;
    /// without one the identity may do anything.
    pub policy: Option<Policy>,
}

/// The account and the identities beyond `SimConfig::credentials`.
#[derive(Debug, Clone)]
pub struct Iam {
    /// The account in every ARN the simulator answers or authorizes.
    pub account_id: String,
    /// Looked up before `SimConfig::credentials`, so an identity with the
    /// same access key id takes its place.
    pub identities: Vec<Identity>,
}

impl Default for Iam {
    fn default() -> Self {
        Self {
            account_id: DEFAULT_ACCOUNT.into(),
            identities: Vec::new(),
        }
    }
}

impl Identity {
    /// `NAME:ACCESS_KEY_ID:SECRET[:POLICY_FILE]`, as `rds-sim serve
    /// --identity` takes it; the policy file holds an IAM policy document.
    pub fn from_spec(spec: &str) -> Result<Self, String> {
        let parts: Vec<&str> = spec.splitn(4, ':').collect();
        let [name, key, secret, rest @ ..] = parts.as_slice() else {
            return Err(format!(
                "identity {spec:?} is not NAME:ACCESS_KEY_ID:SECRET[:POLICY_FILE]"
            ));
        };
        if name.is_empty() || key.is_empty() || secret.is_empty() {
            return Err(format!("identity {spec:?} has an empty field"));
        }
        let policy = match rest.first() {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read policy file {path}: {e}"))?;
                Some(Policy::from_json(&text).map_err(|e| format!("{path}: {e}"))?)
            }
        };
        Ok(Self {
            name: (*name).into(),
            credentials: AcceptedCredentials {
                access_key_id: (*key).into(),
                secret_access_key: (*secret).into(),
                session_token: None,
            },
            policy,
        })
    }
}

/// What a request asks for, in IAM's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `rds:<Action>`.
    pub action: String,
    /// The ARN the action is authorized on.
    pub resource: String,
}

impl Target {
    /// A Query API action: on the instance (or cluster, or tagged resource)
    /// the request names; RDS authorizes a call naming none on `db:*`.
    pub fn query(params: &Params, scope: Scope<'_>) -> Self {
        let action = params.get("Action").map(String::as_str).unwrap_or("");
        let resource = if let Some(id) = params.get("DBInstanceIdentifier") {
            scope.arn("db", id)
        } else if let Some(id) = params.get("DBClusterIdentifier") {
            scope.arn("cluster", id)
        } else if let Some(arn) = params.get("ResourceName") {
            arn.clone()
        } else if action.contains("DBCluster") {
            scope.arn("cluster", "*")
        } else {
            scope.arn("db", "*")
        };
        Self {
            action: format!("rds:{action}"),
            resource,
        }
    }

    /// The REST download, `<prefix><instance>/<file>`: authorized as
    /// `rds:DownloadCompleteDBLogFile` on the instance.
    pub fn download(rest_of_path: &str, scope: Scope<'_>) -> Self {
        let encoded = rest_of_path.split('/').next().unwrap_or_default();
        let instance = percent_decode_str(encoded).decode_utf8_lossy();
        Self {
            action: "rds:DownloadCompleteDBLogFile".into(),
            resource: scope.arn("db", &instance),
        }
    }
}

/// Refuses the request as RDS does when the identity's policy does not
/// allow it: 403 `AccessDenied` naming the user, the action and the resource.
pub(crate) fn authorize(
    identity: &Identity,
    account: &str,
    target: &Target,
) -> Result<(), ApiError> {
    let Some(policy) = &identity.policy else {
        return Ok(());
    };
    let Target { action, resource } = target;
    let because = match policy.evaluate(action, resource) {
        Decision::Allow => return Ok(()),
        Decision::ImplicitDeny => {
            format!("because no identity-based policy allows the {action} action")
        }
        Decision::ExplicitDeny => "with an explicit deny in an identity-based policy".into(),
    };
    Err(ApiError::new(
        403,
        "AccessDenied",
        format!(
            "User: arn:aws:iam::{account}:user/{} is not authorized to perform: {action} on resource: {resource} {because}",
            identity.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Scope<'static> = Scope {
        region: "eu-west-1",
        account: "123456789012",
    };

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn lister() -> Identity {
        let policy = Policy::from_json(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["rds:DescribeDBInstances", "rds:DescribeDBLogFiles"],
                 "Resource": "arn:aws:rds:*:123456789012:db:*"},
                {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}"#,
        )
        .unwrap();
        Identity {
            name: "lister".into(),
            credentials: AcceptedCredentials {
                access_key_id: "AKIDLISTER".into(),
                secret_access_key: "s".into(),
                session_token: None,
            },
            policy: Some(policy),
        }
    }

    #[test]
    fn query_actions_are_authorized_on_the_named_instance_or_db_star() {
        let named = params(&[
            ("Action", "DescribeDBLogFiles"),
            ("DBInstanceIdentifier", "pg-orders"),
        ]);
        assert_eq!(
            Target::query(&named, SCOPE).resource,
            "arn:aws:rds:eu-west-1:123456789012:db:pg-orders"
        );
        let fleet = Target::query(&params(&[("Action", "DescribeDBInstances")]), SCOPE);
        assert_eq!(fleet.action, "rds:DescribeDBInstances");
        assert_eq!(fleet.resource, "arn:aws:rds:eu-west-1:123456789012:db:*");
        let clusters = Target::query(&params(&[("Action", "DescribeDBClusters")]), SCOPE);
        assert_eq!(
            clusters.resource,
            "arn:aws:rds:eu-west-1:123456789012:cluster:*"
        );
        let download = Target::download("pg%2Dorders/error/postgresql.log", SCOPE);
        assert_eq!(download.action, "rds:DownloadCompleteDBLogFile");
        assert_eq!(
            download.resource,
            "arn:aws:rds:eu-west-1:123456789012:db:pg-orders"
        );
    }

    #[test]
    fn allows_what_the_policy_allows() {
        let target = Target::query(
            &params(&[
                ("Action", "DescribeDBLogFiles"),
                ("DBInstanceIdentifier", "pg-orders"),
            ]),
            SCOPE,
        );
        assert!(authorize(&lister(), "123456789012", &target).is_ok());
    }

    #[test]
    fn refuses_an_action_the_policy_lacks_with_the_message_rds_gives() {
        let target = Target::download("pg-orders/error/postgresql.log", SCOPE);
        let err = authorize(&lister(), "123456789012", &target).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (403, "AccessDenied"));
        assert_eq!(
            err.message,
            "User: arn:aws:iam::123456789012:user/lister is not authorized to perform: \
             rds:DownloadCompleteDBLogFile on resource: arn:aws:rds:eu-west-1:123456789012:db:pg-orders \
             because no identity-based policy allows the rds:DownloadCompleteDBLogFile action"
        );
    }

    #[test]
    fn refuses_an_allowed_action_on_a_resource_of_another_account() {
        let other = Scope {
            region: "eu-west-1",
            account: "210987654321",
        };
        let target = Target::query(&params(&[("Action", "DescribeDBInstances")]), other);
        let err = authorize(&lister(), "210987654321", &target).unwrap_err();
        assert!(
            err.message
                .contains("on resource: arn:aws:rds:eu-west-1:210987654321:db:*"),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_identity_without_a_policy_may_do_anything() {
        let admin = Identity {
            policy: None,
            ..lister()
        };
        let target = Target::download("pg-orders/a.log", SCOPE);
        assert!(authorize(&admin, "123456789012", &target).is_ok());
    }

    #[test]
    fn reads_identities_from_the_command_line_form() {
        let dir = std::env::temp_dir().join(format!("rds-sim-iam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("policy.json");
        std::fs::write(
            &file,
            r#"{"Statement": {"Effect": "Allow", "Action": "rds:*", "Resource": "*"}}"#,
        )
        .unwrap();
        let spec = format!("worker:AKIDW:se:cret/x:{}", file.display());
        let err = Identity::from_spec(&spec).unwrap_err();
        assert!(err.contains("cannot read policy file"), "{err}");
        let identity =
            Identity::from_spec(&format!("worker:AKIDW:secret/x:{}", file.display())).unwrap();
        assert_eq!(identity.name, "worker");
        assert_eq!(identity.credentials.secret_access_key, "secret/x");
        assert!(identity.policy.is_some());
        assert!(
            Identity::from_spec("admin:AKIDA:secret")
                .unwrap()
                .policy
                .is_none()
        );
        assert!(Identity::from_spec("admin:AKIDA").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
