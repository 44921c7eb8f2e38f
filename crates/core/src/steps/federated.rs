//! Step 3, the federated credential: Halo issues the token itself (Halo's guide to
//! Microsoft authentication methods, "Method 3: Federated Credential Authentication";
//! `shared/reference/microsoft-auth-methods-guide.md`).
//!
//! The guide's order, which [`setup`] spells out for the screen and the settings sheet:
//! 1. In Halo, choose "Federated Credentials" as the "Credential Type" and choose an Agent;
//!    save. Halo then shows "Issuer URL", "Subject claim to validate" and "Audience claim
//!    to validate".
//! 2. In Entra, Certificates & secrets > Federated credentials > Add credential, scenario
//!    "Other issuer": Issuer = Halo's Issuer URL, Value = the subject claim, a Name, and
//!    Audience = the audience claim. Add.
//! 3. Back in Halo, enter the tenant and application IDs, save and click "Authorise
//!    Application".
//!
//! So all three values come from Halo, and they are checked as Halo gives them — the
//! audience included: Microsoft says it "has no fixed value across identity providers"
//! (federatedIdentityCredential resource), so Halo's value is not second-guessed against
//! `api://AzureADTokenExchange`.
//!
//! Microsoft's limits (sources beside each constant):
//! - issuer, subject and the one audience: at most 600 characters each;
//! - the issuer is a URL; leading or trailing whitespace blocks the exchange;
//! - no wildcard in any property;
//! - name: 3–120 characters, letters, digits, `-` and `_`, starting with a letter or digit;
//!   immutable once created;
//! - at most 20 federated credentials per application; issuer + subject unique per app;
//! - a new credential takes a few minutes to replicate (AADSTS70021 until then).

use serde::Serialize;
use ts_rs::TS;

use crate::profile::{CredentialKind, Profile};
use crate::steps::basics::Basics;
use crate::steps::sso::{CONNECTION_SCREEN, SettingRow};
use crate::validation::Issues;

const STEP: u8 = 3;

/// Longest issuer, subject and audience Entra accepts.
/// Source: <https://learn.microsoft.com/graph/api/resources/federatedidentitycredential?view=graph-rest-1.0>
/// ("It has a limit of 600 characters" for issuer, subject and audiences).
pub const MAX_CHARS: usize = 600;
/// Shortest and longest credential name.
/// Source: <https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations>
/// ("a character limit of 3-120 characters and must be URL friendly. Alphanumeric, dash, or
/// underscore characters are supported, the first character must be alphanumeric only").
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=120;
/// Federated credentials one application can hold (same considerations page: "A maximum of
/// 20 federated identity credentials can be added to an application").
pub const MAX_PER_APP: usize = 20;
/// Halo's "Credential Type" choice (Method 3 of Halo's guide).
pub const HALO_CREDENTIAL_TYPE: &str = "Federated Credentials";
/// Entra's "Federated credential scenario" for a Halo issuer (Method 3 of Halo's guide).
pub const ENTRA_SCENARIO: &str = "Other issuer";
/// Where the federated credential is added in Entra.
pub const ENTRA_SCREEN: &str = "Entra admin centre > App registrations > (the app) > Certificates & secrets > Federated credentials > Add credential";

/// The federated credential as Microsoft Graph takes it (`POST
/// /applications/{id}/federatedIdentityCredentials`): only made from a profile whose
/// federated fields have no error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedSpec {
    /// The credential's name on the app (the typed one, or [`default_name`]).
    pub name: String,
    /// Halo's "Issuer URL".
    pub issuer: String,
    /// Halo's "Subject claim to validate".
    pub subject: String,
    /// Halo's "Audience claim to validate".
    pub audience: String,
}

/// What step 3 shows for the federated path: what to pick in Halo, then what to paste
/// where in Entra, in the guide's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FederatedSetup {
    /// In Halo first: Credential Type and Agent, then save (Halo then shows the values).
    pub halo_first: Vec<SettingRow>,
    /// In Entra: the "Add a credential" form, "Other issuer", with the values as typed.
    pub entra: Vec<SettingRow>,
    /// Back in Halo: IDs, save, "Authorise Application".
    pub halo_then: Vec<SettingRow>,
}

/// The name a credential gets when none is typed: `halo-` and the service desk's first
/// host label (letters, digits and `-` only), e.g. `halo-acme` for
/// `https://acme.halopsa.com`; `halo-service-desk` when there is none.
pub fn default_name(p: &Profile) -> String {
    let label: String = url::Url::parse(p.agent_url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .and_then(|h| h.split('.').next().map(str::to_string))
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(NAME_CHARS.end() - "halo-".len())
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "halo-service-desk".into()
    } else {
        format!("halo-{label}")
    }
}

/// The name in effect: the typed one, else [`default_name`].
pub fn name_in_effect(p: &Profile) -> String {
    match p.credential.federated.as_ref().map(|f| f.name.as_str()) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => default_name(p),
    }
}

/// The credential Graph should hold, when the profile uses a federated credential and its
/// fields have no error.
pub fn spec(p: &Profile) -> Option<FederatedSpec> {
    if p.credential.kind != CredentialKind::Federated {
        return None;
    }
    let mut issues = Issues::default();
    check(p, &mut issues);
    if issues.has_errors() {
        return None;
    }
    let f = p.credential.federated.as_ref()?;
    Some(FederatedSpec {
        name: name_in_effect(p),
        issuer: f.issuer.clone(),
        subject: f.subject.clone(),
        audience: f.audience.clone()?,
    })
}

/// A problem with one of Halo's three values, before it becomes an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueProblem {
    /// Nothing was entered.
    Required,
    /// Whitespace at either end, or a line break or tab anywhere (a paste picked it up).
    Whitespace,
    /// A space inside (possible, but unusual: check the copy).
    InnerSpace,
    /// Longer than [`MAX_CHARS`].
    TooLong(usize),
    /// A `*`: federated credentials match exactly.
    Wildcard,
}

/// What is wrong with one of the three values, errors first. Pure, total: any string in.
pub fn value_problems(value: &str) -> Vec<ValueProblem> {
    if value.is_empty() {
        return vec![ValueProblem::Required];
    }
    let mut out = Vec::new();
    let edges = value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
    let breaks = value
        .chars()
        .any(|c| (c.is_whitespace() && c != ' ') || c.is_control());
    if edges || breaks {
        out.push(ValueProblem::Whitespace);
    }
    let n = value.chars().count();
    if n > MAX_CHARS {
        out.push(ValueProblem::TooLong(n));
    }
    if value.contains('*') {
        out.push(ValueProblem::Wildcard);
    }
    if !edges && !breaks && value.contains(' ') {
        out.push(ValueProblem::InnerSpace);
    }
    out
}

/// Records `value`'s problems against `field`. True when none is an error.
fn check_value(issues: &mut Issues, field: &str, halo_label: &str, value: &str) -> bool {
    let mut ok = true;
    for problem in value_problems(value) {
        match problem {
            ValueProblem::Required => issues.error(
                STEP,
                field,
                &format!("{field}.required"),
                format!("Halo's \"{halo_label}\" is not entered yet."),
                format!("In Halo, choose Credential Type \"{HALO_CREDENTIAL_TYPE}\" and an Agent, save, then copy \"{halo_label}\" here."),
            ),
            ValueProblem::Whitespace => issues.error(
                STEP,
                field,
                &format!("{field}.whitespace"),
                format!("The {halo_label} starts or ends with a space, or holds a tab or line break; Entra compares it exactly, so Halo's sign-in would fail (AADSTS70021)."),
                "Copy it again from Halo, without the space or line break the copy picked up.",
            ),
            ValueProblem::InnerSpace => issues.warn(
                STEP,
                field,
                &format!("{field}.inner_space"),
                format!("The {halo_label} contains a space. Entra compares it exactly."),
                "Keep it only if Halo's value has the space too; otherwise copy it again.",
            ),
            ValueProblem::TooLong(n) => issues.error(
                STEP,
                field,
                &format!("{field}.too_long"),
                format!("The {halo_label} has {n} characters; Entra accepts at most {MAX_CHARS}."),
                format!("Copy only Halo's \"{halo_label}\"."),
            ),
            ValueProblem::Wildcard => issues.error(
                STEP,
                field,
                &format!("{field}.wildcard"),
                format!("The {halo_label} contains a wildcard (*); federated credentials match exactly and support no wildcards."),
                format!("Copy Halo's exact \"{halo_label}\"."),
            ),
        }
        ok &= matches!(problem, ValueProblem::InnerSpace);
    }
    ok
}

/// Checks the federated credential (kind `federated`): the three values as Halo gives them,
/// the name, and the replication note.
pub fn check(p: &Profile, issues: &mut Issues) {
    let Some(f) = &p.credential.federated else {
        issues.error(
            STEP,
            "credential.federated",
            "credential.federated.missing",
            "Halo's issuer, subject and audience are not entered yet.",
            format!("In Halo, choose Credential Type \"{HALO_CREDENTIAL_TYPE}\" and an Agent, save, then copy the three values it shows into step 3."),
        );
        return;
    };
    let issuer = "credential.federated.issuer";
    if check_value(issues, issuer, "Issuer URL", &f.issuer) {
        check_issuer_url(issues, &f.issuer);
    }
    check_value(
        issues,
        "credential.federated.subject",
        "Subject claim to validate",
        &f.subject,
    );
    let audience = f.audience.as_deref().unwrap_or("");
    if check_value(
        issues,
        "credential.federated.audience",
        "Audience claim to validate",
        audience,
    ) {
        check_audience_cloud(p, audience, issues);
    }
    check_name(&f.name, issues);
    issues.info(
        STEP,
        "credential.federated",
        "credential.federated.replication",
        "A new or changed federated credential takes a few minutes to replicate; until then Halo's \"Authorise Application\" fails with AADSTS70021 (no matching federated identity record).",
        "Wait a few minutes and authorise again before changing anything. If AADSTS70021 persists, compare issuer, subject and audience in Entra with what Halo shows, character by character.",
    );
}

/// Halo's Issuer URL is an https URL without query or fragment (an OpenID issuer).
fn check_issuer_url(issues: &mut Issues, issuer: &str) {
    let field = "credential.federated.issuer";
    match url::Url::parse(issuer) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()) => {
            if u.query().is_some() || u.fragment().is_some() {
                issues.error(
                    STEP,
                    field,
                    "credential.federated.issuer.has_query",
                    "The Issuer URL contains ?… or #…; an issuer never does.",
                    "Copy Halo's \"Issuer URL\" again, exactly as shown.",
                );
            }
        }
        Ok(u) if u.host_str().is_some() => issues.error(
            STEP,
            field,
            "credential.federated.issuer.not_https",
            format!(
                "The Issuer URL uses {}://; Entra only trusts https issuers.",
                u.scheme()
            ),
            "Copy Halo's \"Issuer URL\", which starts with https://.",
        ),
        _ => issues.error(
            STEP,
            field,
            "credential.federated.issuer.not_a_url",
            "The Issuer URL is not a URL.",
            "Copy Halo's \"Issuer URL\" (it starts with https://), not the subject or the audience.",
        ),
    }
}

/// Halo gives the audience; one that is exactly another cloud's token-exchange audience
/// is worth a second look (workload identity federation: each cloud has its own), but it
/// is Halo's value, so only a warning.
fn check_audience_cloud(p: &Profile, aud: &str, issues: &mut Issues) {
    if aud == p.cloud.token_exchange_audience() {
        return;
    }
    if let Some(c) = crate::cloud::Cloud::ALL
        .iter()
        .find(|c| c.token_exchange_audience() == aud)
    {
        issues.warn(
            STEP,
            "credential.federated.audience",
            "credential.federated.audience.other_cloud",
            format!(
                "The audience {aud} is the {} cloud's token-exchange audience, but this profile is in {}.",
                c.label(),
                p.cloud.label()
            ),
            format!(
                "Check the cloud in step 1, and that Halo's \"Audience claim to validate\" really is {aud}."
            ),
        );
    }
}

/// The credential's name (optional: [`default_name`] otherwise): Microsoft's length and
/// character rules.
fn check_name(name: &str, issues: &mut Issues) {
    if name.is_empty() {
        return;
    }
    let field = "credential.federated.name";
    let n = name.chars().count();
    if !NAME_CHARS.contains(&n) {
        issues.error(
            STEP,
            field,
            "credential.federated.name.length",
            format!("The credential name has {n} characters; Entra needs 3 to 120."),
            "Choose a short name such as halo-production, or leave it empty for the suggested one.",
        );
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        issues.error(
            STEP,
            field,
            "credential.federated.name.characters",
            "The credential name may hold only letters, digits, '-' and '_', and must start with a letter or digit.",
            "Use e.g. halo-production.",
        );
    }
}

fn row(screen: &str, setting: &str, value: impl Into<String>, note: Option<&str>) -> SettingRow {
    SettingRow {
        screen: screen.into(),
        setting: setting.into(),
        value: value.into(),
        note: note.map(str::to_string),
        stored: None,
    }
}

/// Halo's side before Entra: Credential Type and Agent (the settings sheet shows these).
pub fn halo_first_rows(p: &Profile) -> Vec<SettingRow> {
    let agent = p
        .credential
        .federated
        .as_ref()
        .map(|f| f.agent.trim())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| "(choose one; note it in step 3)".into());
    vec![
        row(
            CONNECTION_SCREEN,
            "Credential Type",
            HALO_CREDENTIAL_TYPE,
            None,
        ),
        row(
            CONNECTION_SCREEN,
            "Agent",
            agent,
            Some(
                "Then save: Halo shows the Issuer URL, Subject claim to validate and Audience claim to validate.",
            ),
        ),
    ]
}

/// Back in Halo after Entra: the IDs, then "Authorise Application".
pub fn halo_then_rows(b: &Basics) -> Vec<SettingRow> {
    vec![
        row(
            CONNECTION_SCREEN,
            "Tenant ID",
            b.tenant
                .as_ref()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "(fix step 1)".into()),
            None,
        ),
        row(
            CONNECTION_SCREEN,
            "Application ID",
            b.client_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "(fix step 1)".into()),
            Some("Then save."),
        ),
        row(
            CONNECTION_SCREEN,
            "Authorise Application",
            "(click it)",
            Some(
                "After the credential is in Entra; allow a few minutes for it to replicate (AADSTS70021 until then).",
            ),
        ),
    ]
}

/// Entra's "Add a credential" form for scenario "Other issuer", filled in.
pub fn entra_rows(p: &Profile) -> Vec<SettingRow> {
    let f = p.credential.federated.clone().unwrap_or_default();
    let or = |v: &str, what: &str| {
        if v.is_empty() {
            format!("(copy Halo's \"{what}\" into step 3)")
        } else {
            v.to_string()
        }
    };
    vec![
        row(
            ENTRA_SCREEN,
            "Federated credential scenario",
            ENTRA_SCENARIO,
            None,
        ),
        row(
            ENTRA_SCREEN,
            "Issuer",
            or(&f.issuer, "Issuer URL"),
            Some("Halo's \"Issuer URL\"."),
        ),
        row(
            ENTRA_SCREEN,
            "Value",
            or(&f.subject, "Subject claim to validate"),
            Some("Halo's \"Subject claim to validate\"."),
        ),
        row(
            ENTRA_SCREEN,
            "Name",
            name_in_effect(p),
            Some("3–120 letters, digits, '-' or '_'; it cannot be changed later."),
        ),
        row(
            ENTRA_SCREEN,
            "Audience",
            or(
                f.audience.as_deref().unwrap_or(""),
                "Audience claim to validate",
            ),
            Some(
                "Halo's \"Audience claim to validate\", in place of the value Entra suggests if they differ.",
            ),
        ),
    ]
}

/// Step 3's federated path, when the profile uses one.
pub fn setup(p: &Profile, b: &Basics) -> Option<FederatedSetup> {
    (p.credential.kind == CredentialKind::Federated).then(|| FederatedSetup {
        halo_first: halo_first_rows(p),
        entra: entra_rows(p),
        halo_then: halo_then_rows(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::FederatedCredential;
    use proptest::prelude::*;

    const ISSUER: &str = "https://acme.halopsa.com/auth";
    const SUBJECT: &str = "0b0b0b0b-1111-4222-8333-444455556666";
    const AUD: &str = "api://AzureADTokenExchange";

    fn federated(issuer: &str, subject: &str, audience: Option<&str>) -> Profile {
        let mut p = Profile {
            agent_url: "https://acme.halopsa.com".into(),
            ..Profile::default()
        };
        p.credential.kind = CredentialKind::Federated;
        p.credential.federated = Some(FederatedCredential {
            name: "halo-production".into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audience: audience.map(str::to_string),
            agent: "Integration Agent".into(),
        });
        p
    }

    fn codes(p: &Profile) -> Vec<(String, String)> {
        let mut issues = Issues::default();
        check(p, &mut issues);
        issues
            .0
            .into_iter()
            .filter(|i| i.code != "credential.federated.replication")
            .map(|i| (i.field, i.code))
            .collect()
    }

    fn f(field: &str, code: &str) -> (String, String) {
        (field.to_string(), code.to_string())
    }

    #[test]
    fn halos_three_values_pass_and_make_the_graph_spec() {
        let p = federated(ISSUER, SUBJECT, Some(AUD));
        assert_eq!(codes(&p), vec![]);
        let s = spec(&p).unwrap();
        assert_eq!(
            s,
            FederatedSpec {
                name: "halo-production".into(),
                issuer: ISSUER.into(),
                subject: SUBJECT.into(),
                audience: AUD.into(),
            }
        );
        // Halo supplies the audience: a value other than Microsoft's suggestion is Halo's
        // to give, and is taken as given.
        let p = federated(ISSUER, SUBJECT, Some("api://halo-acme"));
        assert_eq!(codes(&p), vec![]);
        assert_eq!(spec(&p).unwrap().audience, "api://halo-acme");
    }

    #[test]
    fn every_value_is_required_and_the_audience_too() {
        let p = federated("", "", None);
        assert_eq!(
            codes(&p),
            vec![
                f(
                    "credential.federated.issuer",
                    "credential.federated.issuer.required"
                ),
                f(
                    "credential.federated.subject",
                    "credential.federated.subject.required"
                ),
                f(
                    "credential.federated.audience",
                    "credential.federated.audience.required"
                ),
            ]
        );
        assert!(spec(&p).is_none());
        let mut issues = Issues::default();
        check(&p, &mut issues);
        assert!(
            issues.0[0].fix.contains("Federated Credentials"),
            "{:?}",
            issues.0[0]
        );
        let mut none = p.clone();
        none.credential.federated = None;
        assert_eq!(
            codes(&none),
            vec![f("credential.federated", "credential.federated.missing")]
        );
    }

    #[test]
    fn pasted_whitespace_wildcards_and_length_are_named_per_field() {
        assert_eq!(
            codes(&federated(
                &format!("{ISSUER}\n"),
                &format!(" {SUBJECT}"),
                Some(AUD)
            )),
            vec![
                f(
                    "credential.federated.issuer",
                    "credential.federated.issuer.whitespace"
                ),
                f(
                    "credential.federated.subject",
                    "credential.federated.subject.whitespace"
                ),
            ]
        );
        assert_eq!(
            codes(&federated(ISSUER, "agent:*", Some(AUD))),
            vec![f(
                "credential.federated.subject",
                "credential.federated.subject.wildcard"
            )]
        );
        assert_eq!(
            codes(&federated(ISSUER, &"s".repeat(601), Some(AUD))),
            vec![f(
                "credential.federated.subject",
                "credential.federated.subject.too_long"
            )]
        );
        assert!(codes(&federated(ISSUER, &"s".repeat(600), Some(AUD))).is_empty());
        assert_eq!(
            codes(&federated(ISSUER, "agent one", Some(AUD))),
            vec![f(
                "credential.federated.subject",
                "credential.federated.subject.inner_space"
            )]
        );
        // A warning does not stop apply.
        assert!(spec(&federated(ISSUER, "agent one", Some(AUD))).is_some());
    }

    #[test]
    fn the_issuer_is_an_https_url() {
        let issuer = |i: &str| codes(&federated(i, SUBJECT, Some(AUD)));
        assert_eq!(
            issuer("http://acme.halopsa.com/auth"),
            vec![f(
                "credential.federated.issuer",
                "credential.federated.issuer.not_https"
            )]
        );
        assert_eq!(
            issuer("acme.halopsa.com"),
            vec![f(
                "credential.federated.issuer",
                "credential.federated.issuer.not_a_url"
            )]
        );
        assert_eq!(
            issuer("https://acme.halopsa.com/auth?x=1"),
            vec![f(
                "credential.federated.issuer",
                "credential.federated.issuer.has_query"
            )]
        );
    }

    #[test]
    fn another_clouds_audience_is_a_warning_only() {
        let mut p = federated(ISSUER, SUBJECT, Some("api://AzureADTokenExchangeUSGov"));
        assert_eq!(
            codes(&p),
            vec![f(
                "credential.federated.audience",
                "credential.federated.audience.other_cloud"
            )]
        );
        assert!(spec(&p).is_some());
        p.cloud = crate::cloud::Cloud::Usgov;
        assert_eq!(codes(&p), vec![]);
    }

    #[test]
    fn names_follow_microsofts_rules_and_default_from_the_host() {
        let mut p = federated(ISSUER, SUBJECT, Some(AUD));
        for (name, code) in [
            ("ab", Some("credential.federated.name.length")),
            ("halo.prod", Some("credential.federated.name.characters")),
            ("-halo", Some("credential.federated.name.characters")),
            ("halo_prod-1", None),
            ("", None),
        ] {
            p.credential.federated.as_mut().unwrap().name = name.into();
            let got: Vec<String> = codes(&p).into_iter().map(|(_, c)| c).collect();
            assert_eq!(
                got,
                code.map(str::to_string).into_iter().collect::<Vec<_>>(),
                "{name}"
            );
        }
        assert_eq!(spec(&p).unwrap().name, "halo-acme");
        p.agent_url = "not a url".into();
        assert_eq!(default_name(&p), "halo-service-desk");
        p.agent_url = format!("https://{}.example.com", "x".repeat(200));
        assert!(NAME_CHARS.contains(&default_name(&p).len()));
    }

    #[test]
    fn the_setup_follows_the_guide_other_issuer_and_the_values_typed() {
        let p = federated(ISSUER, SUBJECT, Some(AUD));
        let s = setup(&p, &Basics::default()).unwrap();
        let pairs = |rows: &[SettingRow]| -> Vec<(String, String)> {
            rows.iter()
                .map(|r| (r.setting.clone(), r.value.clone()))
                .collect()
        };
        assert_eq!(
            pairs(&s.halo_first),
            [
                ("Credential Type".into(), "Federated Credentials".into()),
                ("Agent".into(), "Integration Agent".into()),
            ]
        );
        assert_eq!(
            pairs(&s.entra),
            [
                (
                    "Federated credential scenario".into(),
                    "Other issuer".into()
                ),
                ("Issuer".into(), ISSUER.into()),
                ("Value".into(), SUBJECT.into()),
                ("Name".into(), "halo-production".into()),
                ("Audience".into(), AUD.into()),
            ]
        );
        assert_eq!(s.halo_then.last().unwrap().setting, "Authorise Application");
        let mut secret = p.clone();
        secret.credential.kind = CredentialKind::Secret;
        assert!(setup(&secret, &Basics::default()).is_none());
    }

    proptest! {
        /// Any text: no panic, and a value with no error has no surrounding whitespace, no
        /// line break, no wildcard and at most 600 characters.
        #[test]
        fn value_problems_is_total_and_sound(v in "\\PC{0,8}[ \\t\\n*a-z]{0,3}\\PC{0,8}|.{590,610}") {
            let problems = value_problems(&v);
            let ok = problems.iter().all(|p| matches!(p, ValueProblem::InnerSpace));
            if ok {
                prop_assert!(!v.is_empty());
                prop_assert_eq!(v.trim(), v.as_str());
                prop_assert!(!v.contains(['\n', '\t', '*']));
                prop_assert!(v.chars().count() <= MAX_CHARS);
            }
        }

        /// Whatever is typed, the plan's checks do not panic, and a spec exists exactly
        /// when no error does.
        #[test]
        fn check_is_total(issuer in "\\PC{0,40}", subject in "\\PC{0,40}", aud in proptest::option::of("\\PC{0,40}"), name in "\\PC{0,12}") {
            let mut p = federated(&issuer, &subject, aud.as_deref());
            p.credential.federated.as_mut().unwrap().name = name;
            let mut issues = Issues::default();
            check(&p, &mut issues);
            prop_assert_eq!(spec(&p).is_some(), !issues.has_errors());
        }
    }
}
