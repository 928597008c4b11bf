//! IAM identity policies as AWS evaluates them for one request: an explicit
//! Deny wins, then any Allow; nothing matching is an implicit deny.
//!
//! `Condition` blocks are not evaluated, and the simulator fails closed: an
//! Allow with a condition never allows, a Deny with a condition always
//! denies. So the simulator can refuse what AWS would allow, never the reverse.

use serde_json::Value;

/// A parsed policy document (`{"Version": ..., "Statement": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    /// `Action` patterns, or `NotAction` patterns when `not_action`.
    actions: Vec<String>,
    not_action: bool,
    /// `Resource` patterns, or `NotResource` patterns when `not_resource`.
    resources: Vec<String>,
    not_resource: bool,
    conditioned: bool,
}

/// The outcome of evaluating a request against a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows the request.
    ImplicitDeny,
    /// A Deny statement matches the request.
    ExplicitDeny,
}

/// Why a document is not a policy the simulator understands.
#[derive(Debug, thiserror::Error)]
#[error("invalid IAM policy: {0}")]
pub struct PolicyError(String);

fn invalid(message: impl Into<String>) -> PolicyError {
    PolicyError(message.into())
}

/// A string or a list of strings, as IAM accepts for most elements.
fn strings(value: &Value, element: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{element} must hold strings")))
            })
            .collect(),
        _ => Err(invalid(format!("{element} must be a string or a list"))),
    }
}

/// One of `name` or `Not<name>`, exactly one present.
fn element(statement: &Value, name: &str) -> Result<(Vec<String>, bool), PolicyError> {
    let not_name = format!("Not{name}");
    match (statement.get(name), statement.get(&not_name)) {
        (Some(v), None) => Ok((strings(v, name)?, false)),
        (None, Some(v)) => Ok((strings(v, &not_name)?, true)),
        _ => Err(invalid(format!(
            "a statement needs exactly one of {name} and {not_name}"
        ))),
    }
}

impl Statement {
    fn parse(value: &Value) -> Result<Self, PolicyError> {
        let allow = match value.get("Effect").and_then(Value::as_str) {
            Some("Allow") => true,
            Some("Deny") => false,
            other => {
                return Err(invalid(format!(
                    "Effect must be Allow or Deny, not {other:?}"
                )));
            }
        };
        let (actions, not_action) = element(value, "Action")?;
        let (resources, not_resource) = element(value, "Resource")?;
        Ok(Self {
            allow,
            actions,
            not_action,
            resources,
            not_resource,
            conditioned: value.get("Condition").is_some(),
        })
    }

    fn matches(&self, action: &str, resource: &str) -> bool {
        let action_listed = self
            .actions
            .iter()
            .any(|p| wildcard_match(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()));
        let resource_listed = self.resources.iter().any(|p| wildcard_match(p, resource));
        action_listed != self.not_action && resource_listed != self.not_resource
    }
}

impl Policy {
    /// Parses a policy document from JSON text.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let document: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        Self::from_value(&document)
    }

    pub fn from_value(document: &Value) -> Result<Self, PolicyError> {
        let statements = match document.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(Statement::parse).collect(),
            Some(single @ Value::Object(_)) => Statement::parse(single).map(|s| vec![s]),
            _ => Err(invalid("Statement must be an object or a list")),
        }?;
        Ok(Self { statements })
    }

    /// Whether `action` (`service:Name`) on `resource` (an ARN) is allowed.
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        let mut allowed = false;
        for statement in &self.statements {
            if !statement.matches(action, resource) {
                continue;
            }
            match (statement.allow, statement.conditioned) {
                (false, _) => return Decision::ExplicitDeny,
                (true, false) => allowed = true,
                (true, true) => {}
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

/// IAM's wildcards: `*` any run of characters (also none), `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it has consumed up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "arn:aws:rds:eu-west-1:123456789012:db:pg-orders";

    fn policy(statements: &str) -> Policy {
        Policy::from_json(&format!(
            r#"{{"Version": "2012-10-17", "Statement": {statements}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn allows_a_listed_action_on_a_matching_resource_in_any_case() {
        let p = policy(
            r#"[{"Effect": "Allow", "Action": ["rds:DescribeDBInstances", "rds:describedblogfiles"],
                 "Resource": "arn:aws:rds:*:123456789012:db:*"}]"#,
        );
        assert_eq!(p.evaluate("rds:DescribeDBLogFiles", DB), Decision::Allow);
        assert_eq!(p.evaluate("RDS:DescribeDBInstances", DB), Decision::Allow);
    }

    #[test]
    fn denies_an_action_no_statement_lists() {
        let p =
            policy(r#"{"Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": "*"}"#);
        assert_eq!(
            p.evaluate("rds:DownloadCompleteDBLogFile", DB),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn denies_a_listed_action_on_another_resource() {
        let p = policy(
            r#"[{"Effect": "Allow", "Action": "rds:DescribeDBLogFiles",
                 "Resource": ["arn:aws:rds:eu-west-1:123456789012:db:mysql-*"]}]"#,
        );
        assert_eq!(
            p.evaluate("rds:DescribeDBLogFiles", DB),
            Decision::ImplicitDeny
        );
        let other_account = "arn:aws:rds:eu-west-1:210987654321:db:mysql-billing";
        assert_eq!(
            p.evaluate("rds:DescribeDBLogFiles", other_account),
            Decision::ImplicitDeny
        );
        let mysql = "arn:aws:rds:eu-west-1:123456789012:db:mysql-billing";
        assert_eq!(p.evaluate("rds:DescribeDBLogFiles", mysql), Decision::Allow);
    }

    #[test]
    fn wildcards_in_actions_and_resources() {
        let p = policy(
            r#"[{"Effect": "Allow", "Action": "rds:Describe*", "Resource": "arn:aws:rds:?u-west-1:*:db:*"}]"#,
        );
        assert_eq!(p.evaluate("rds:DescribeDBLogFiles", DB), Decision::Allow);
        assert_eq!(
            p.evaluate("rds:CreateDBSnapshot", DB),
            Decision::ImplicitDeny
        );
        let star = policy(r#"[{"Effect": "Allow", "Action": "*", "Resource": "*"}]"#);
        assert_eq!(star.evaluate("rds:CreateDBSnapshot", DB), Decision::Allow);
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let p = policy(
            r#"[{"Effect": "Allow", "Action": "rds:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "rds:DownloadCompleteDBLogFile", "Resource": "*"}]"#,
        );
        assert_eq!(
            p.evaluate("rds:DownloadCompleteDBLogFile", DB),
            Decision::ExplicitDeny
        );
        assert_eq!(p.evaluate("rds:DescribeDBLogFiles", DB), Decision::Allow);
    }

    #[test]
    fn not_action_and_not_resource_invert_the_match() {
        let p = policy(
            r#"[{"Effect": "Allow", "NotAction": "rds:Delete*", "NotResource": "arn:aws:rds:*:*:db:prod-*"}]"#,
        );
        assert_eq!(p.evaluate("rds:DescribeDBLogFiles", DB), Decision::Allow);
        assert_eq!(
            p.evaluate("rds:DeleteDBInstance", DB),
            Decision::ImplicitDeny
        );
        let prod = "arn:aws:rds:eu-west-1:123456789012:db:prod-1";
        assert_eq!(
            p.evaluate("rds:DescribeDBLogFiles", prod),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn conditions_fail_closed() {
        let p = policy(
            r#"[{"Effect": "Allow", "Action": "rds:*", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]"#,
        );
        assert_eq!(
            p.evaluate("rds:DescribeDBLogFiles", DB),
            Decision::ImplicitDeny
        );
        let p = policy(
            r#"[{"Effect": "Allow", "Action": "rds:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "rds:*", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]"#,
        );
        assert_eq!(
            p.evaluate("rds:DescribeDBLogFiles", DB),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn refuses_documents_it_cannot_read() {
        for bad in [
            r#"{"Statement": "x"}"#,
            r#"{"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Resource": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]}"#,
            "not json",
        ] {
            assert!(Policy::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcard_matching_backtracks() {
        assert!(wildcard_match("a*b*c", "axxbyybc"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(!wildcard_match("a*d", "abc"));
        assert!(wildcard_match("arn:aws:s3:::b/p/*", "arn:aws:s3:::b/p/x/y"));
    }
}
