//! The federated credential Halo signs in with (its "Method 3"), on the live application:
//! what `apply` adds and what `doctor` compares. The values are the profile's
//! ([`FederatedSpec`], from the core's `steps::federated`, which checked them as Halo gives
//! them).
//!
//! Graph (v1.0): list — `GET /applications/{id}/federatedIdentityCredentials`
//! (<https://learn.microsoft.com/graph/api/application-list-federatedidentitycredentials?view=graph-rest-1.0>);
//! create — `POST` to the same collection with `name`, `issuer`, `subject` and exactly one
//! `audiences` value
//! (<https://learn.microsoft.com/graph/api/application-post-federatedidentitycredentials?view=graph-rest-1.0>).
//! Both need Application.ReadWrite.All (or .OwnedBy) delegated, which `apply` asks for
//! anyway. Entra compares issuer, subject and audience exactly, and issuer + subject are
//! unique per app; at most 20 credentials per app
//! (<https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations>).

use serde_json::{Value, json};

pub use crate::steps::federated::FederatedSpec;
use crate::steps::federated::MAX_PER_APP;

/// Where the profile's credential stands on the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedState {
    /// Issuer, subject and audience all match (under this name).
    Present {
        /// The credential's name on the app.
        name: String,
    },
    /// Not there, and there is room to add it.
    Missing,
    /// A credential with the same issuer and subject, or the same name, trusts something
    /// else; adding ours would be refused (issuer + subject, and names, are unique).
    Differs {
        /// The credential's name on the app.
        name: String,
        /// What differs, in words.
        why: String,
    },
    /// Not there, and the app already holds the maximum of 20.
    Full,
}

fn audiences(v: &Value) -> Vec<&str> {
    v["audiences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Compares the app's federated credentials (`value` of the list) with `want`.
pub fn compare(existing: &[Value], want: &FederatedSpec) -> FederatedState {
    let name_of = |f: &Value| f["name"].as_str().unwrap_or("(unnamed)").to_string();
    if let Some(f) = existing.iter().find(|f| {
        f["issuer"].as_str() == Some(want.issuer.as_str())
            && f["subject"].as_str() == Some(want.subject.as_str())
    }) {
        let have = audiences(f);
        return if have == [want.audience.as_str()] {
            FederatedState::Present { name: name_of(f) }
        } else {
            FederatedState::Differs {
                name: name_of(f),
                why: format!(
                    "it trusts Halo's issuer and subject, but its audience is {} where Halo's \"Audience claim to validate\" is {}",
                    if have.is_empty() {
                        "empty".to_string()
                    } else {
                        have.join(", ")
                    },
                    want.audience
                ),
            }
        };
    }
    if let Some(f) = existing.iter().find(|f| {
        f["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(&want.name))
    }) {
        return FederatedState::Differs {
            name: name_of(f),
            why: format!(
                "a credential with this name trusts issuer {} and subject {}, not Halo's",
                f["issuer"].as_str().unwrap_or("(none)"),
                f["subject"].as_str().unwrap_or("(none)")
            ),
        };
    }
    if existing.len() >= MAX_PER_APP {
        return FederatedState::Full;
    }
    FederatedState::Missing
}

/// The list path for the application with object id `app_object_id`.
pub fn collection_path(app_object_id: &str) -> String {
    format!("/applications/{app_object_id}/federatedIdentityCredentials")
}

/// The create body: exactly one audience, as Graph requires.
pub fn create_body(want: &FederatedSpec) -> Value {
    json!({
        "name": want.name,
        "issuer": want.issuer,
        "subject": want.subject,
        "audiences": [want.audience],
        "description": "Halo service desk (Federated Credentials), added by Entra Onboard",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want() -> FederatedSpec {
        FederatedSpec {
            name: "halo-acme".into(),
            issuer: "https://acme.halopsa.com/auth".into(),
            subject: "agent-7".into(),
            audience: "api://AzureADTokenExchange".into(),
        }
    }

    fn fic(name: &str, issuer: &str, subject: &str, aud: &[&str]) -> Value {
        json!({"name": name, "issuer": issuer, "subject": subject, "audiences": aud})
    }

    #[test]
    fn present_missing_differs_full() {
        let w = want();
        assert_eq!(compare(&[], &w), FederatedState::Missing);
        let same = fic("other-name", &w.issuer, &w.subject, &[&w.audience]);
        assert_eq!(
            compare(&[same], &w),
            FederatedState::Present {
                name: "other-name".into()
            }
        );
        let aud = fic("halo", &w.issuer, &w.subject, &["api://x"]);
        assert!(
            matches!(compare(&[aud], &w), FederatedState::Differs { why, .. } if why.contains("api://x"))
        );
        // Exact comparison: a subject in another case is another subject.
        let case = fic("HALO-ACME", &w.issuer, "AGENT-7", &[&w.audience]);
        assert!(
            matches!(compare(&[case], &w), FederatedState::Differs { why, .. } if why.contains("AGENT-7"))
        );
        let others: Vec<Value> = (0..20)
            .map(|i| {
                fic(
                    &format!("c{i}"),
                    "https://i.example",
                    &format!("s{i}"),
                    &["a"],
                )
            })
            .collect();
        assert_eq!(compare(&others, &w), FederatedState::Full);
        assert_eq!(compare(&others[..19], &w), FederatedState::Missing);
    }

    #[test]
    fn the_body_has_exactly_one_audience() {
        let b = create_body(&want());
        assert_eq!(b["audiences"], json!(["api://AzureADTokenExchange"]));
        assert_eq!(b["name"], "halo-acme");
    }
}
