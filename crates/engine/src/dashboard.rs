//! The customer dashboard: the start screen's one card per profile — verified or not and
//! when, how close the credential is to expiring (warnings at 60, 30 and 7 days), how many
//! tenants have consented, and how many problems the plan still has.
//!
//! Pure over the store's contents and `today` (passed in, so the thresholds are testable
//! and the CLI and the app agree on the date). Profiles that cannot be read are listed in
//! [`Dashboard::unreadable`], never silently dropped: a partner must notice that a
//! customer's file is damaged before the call, not during it.
//!
//! Search, filters, sort and paging over these cards, and the cache that keeps them between
//! queries, are [`crate::customer_list`]'s. Deliberately left out: anything that needs the
//! keychain or the network (whether the secret is still stored, whether Entra agrees) —
//! those are per-customer checks, too slow for a list.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::cloud::Cloud;
use crate::plan::plan;
use crate::profile::{
    ConsentStatus, CredentialKind, CustomerApp, LastTest, Profile, ProfileError, ProfileStore,
    UnreadableProfile,
};
use crate::target::is_loopback_authority as is_sandbox_authority;
use crate::validation::Severity;

/// Days before expiry from which a credential is flagged (first warning, the amber badge).
pub const EXPIRY_WARN_DAYS: i64 = 60;
/// Days before expiry from which rotation is due (Microsoft's and our calendar reminder's
/// 30-day lead time).
pub const EXPIRY_SOON_DAYS: i64 = 30;
/// Days before expiry from which it is urgent (sign-ins stop within a week).
pub const EXPIRY_URGENT_DAYS: i64 = 7;

/// How close a credential is to expiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ExpiryLevel {
    /// No expiry date recorded (no credential yet, or a federated credential).
    None,
    /// More than 60 days left.
    Ok,
    /// 31–60 days left.
    Within60,
    /// 8–30 days left: rotate now.
    Within30,
    /// 0–7 days left (0 = expires today).
    Within7,
    /// Already expired: sign-ins and imports fail.
    Expired,
}

/// The expiry level and the days left (negative once expired) of `expires_on` on `today`.
pub fn expiry_level(expires_on: Option<NaiveDate>, today: NaiveDate) -> (ExpiryLevel, Option<i64>) {
    let Some(d) = expires_on else {
        return (ExpiryLevel::None, None);
    };
    let days = (d - today).num_days();
    let level = if days < 0 {
        ExpiryLevel::Expired
    } else if days <= EXPIRY_URGENT_DAYS {
        ExpiryLevel::Within7
    } else if days <= EXPIRY_SOON_DAYS {
        ExpiryLevel::Within30
    } else if days <= EXPIRY_WARN_DAYS {
        ExpiryLevel::Within60
    } else {
        ExpiryLevel::Ok
    };
    (level, Some(days))
}

/// Admin-consent results over the home tenant and every customer tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConsentCoverage {
    /// Tenants that consented.
    pub consented: usize,
    /// Tenants whose admin declined.
    pub declined: usize,
    /// Tenants where consent failed with another error.
    pub failed: usize,
    /// Tenants not attempted yet (or no answer came back).
    pub pending: usize,
    /// All tenants: the home tenant plus the customer tenants.
    pub total: usize,
}

impl ConsentCoverage {
    /// Counts the home tenant's consent (absent = pending) and each customer tenant's.
    pub fn of(p: &Profile) -> ConsentCoverage {
        let home = p
            .admin_consent
            .as_ref()
            .map_or(ConsentStatus::Pending, |c| c.status);
        let mut c = ConsentCoverage::default();
        for status in
            std::iter::once(home).chain(p.customer_tenants.iter().map(|t| t.consent.status))
        {
            match status {
                ConsentStatus::Consented => c.consented += 1,
                ConsentStatus::Declined => c.declined += 1,
                ConsentStatus::Failed => c.failed += 1,
                ConsentStatus::Pending => c.pending += 1,
            }
            c.total += 1;
        }
        c
    }
}

/// One app registration's credential expiry, for a customer with two (CSP: the
/// multi-tenant app and the Partner Center app each have their own secret, and Halo's
/// "Token expiration" error does not say which one lapsed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppExpiry {
    /// Which app.
    pub app: CustomerApp,
    /// Its credential, in words: "the multi-tenant app's client secret".
    pub what: String,
    /// Secret, certificate, federated or none yet.
    pub credential_kind: CredentialKind,
    /// When it expires.
    pub expires_on: Option<NaiveDate>,
    /// How close that is.
    pub expiry: ExpiryLevel,
    /// Days until expiry (negative once expired).
    pub days_left: Option<i32>,
    /// What to do once it is within 30 days or past (empty otherwise).
    pub fix: String,
}

impl AppExpiry {
    fn of(p: &Profile, app: CustomerApp, today: NaiveDate) -> AppExpiry {
        let c = p.credential_of(app);
        let (expiry, days_left) = expiry_level(c.expires_on, today);
        let owner = match (app, p.features.csp) {
            (CustomerApp::PartnerCenter, _) => "the Partner Center app's",
            (CustomerApp::Main, true) => "the multi-tenant app's",
            (CustomerApp::Main, false) => "the app's",
        };
        let kind = match c.kind {
            CredentialKind::Certificate => "certificate",
            _ => "client secret",
        };
        // Halo's CSP guide, Common Errors, "Token expiration": create a new secret on the
        // app whose secret lapsed, disconnect in Halo, enter it, authorise again.
        let fix = if expiry >= ExpiryLevel::Within30 {
            match app {
                CustomerApp::PartnerCenter => "Create a new client secret on the Partner Center app (single tenant) in Entra, then in Halo's Microsoft CSP integration disconnect, enter it under \"Azure Application for Microsoft Partner Center\" and click Authorize Application again.".to_string(),
                CustomerApp::Main if p.features.csp => "Create a new client secret on the multi-tenant app in Entra and enter it in Halo under \"Azure Application for Azure Active Directory & Intune\" (and wherever else this app's secret is used: SSO, import).".to_string(),
                CustomerApp::Main => "Create a new client secret (or certificate) on the app in Entra, enter it in the service desk, and store it in step 3.".to_string(),
            }
        } else {
            String::new()
        };
        AppExpiry {
            app,
            what: format!("{owner} {kind}"),
            credential_kind: c.kind,
            expires_on: c.expires_on,
            expiry,
            days_left: days_left.map(|d| d.clamp(i32::MIN.into(), i32::MAX.into()) as i32),
            fix,
        }
    }
}

/// One customer on the start screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CustomerCard {
    /// Profile id (to open it).
    pub id: String,
    /// Customer name as typed (may be empty for a half-finished profile).
    pub name: String,
    /// Service desk address as typed.
    pub agent_url: String,
    /// Directory (tenant) ID as typed, for search.
    pub tenant_id: String,
    /// Microsoft cloud.
    pub cloud: Cloud,
    /// True when the profile points at the sandbox (practice) tenant, not Microsoft.
    pub sandbox: bool,
    /// When the last SSO test passed; `None` = not verified.
    pub verified_at: Option<DateTime<Utc>>,
    /// Who signed in during that test.
    pub signed_in_as: Option<String>,
    /// The last SSO test's outcome, pass or fail, as recorded (kept across restarts).
    pub last_test: Option<LastTest>,
    /// Secret, certificate, federated or none yet.
    pub credential_kind: CredentialKind,
    /// When the secret or certificate expires.
    pub expires_on: Option<NaiveDate>,
    /// How close that is (thresholds 60/30/7 days).
    pub expiry: ExpiryLevel,
    /// Days until expiry (negative once expired); `None` without a date.
    pub days_left: Option<i32>,
    /// Whose credential `expires_on` is: with CSP's two apps, the one that lapses first.
    #[serde(default)]
    pub expiring_app: CustomerApp,
    /// That credential in words, for the badge ("the Partner Center app's client secret").
    #[serde(default)]
    pub expiry_subject: String,
    /// Each app's credential expiry: one entry, or two with CSP (multi-tenant app first).
    #[serde(default)]
    pub app_expiries: Vec<AppExpiry>,
    /// Errors the plan still reports (the profile cannot be used until they are fixed).
    pub errors: usize,
    /// Warnings the plan reports.
    pub warnings: usize,
    /// Admin-consent coverage over the home and customer tenants.
    pub consent: ConsentCoverage,
    /// When the profile was last saved.
    pub updated_at: Option<DateTime<Utc>>,
    /// A credential rotation left in progress (issue 15): where it stopped and whether it
    /// can be finished or rolled back, so the list shows it at the next start.
    pub rotation: Option<crate::rotation::ResumeChoice>,
    /// Whether the card offers "Rotate": a rotation to finish, or a client secret that
    /// lapses within 60 days (or has lapsed).
    pub can_rotate: bool,
}

impl CustomerCard {
    /// The card of one profile on `today`.
    pub fn of(p: &Profile, today: NaiveDate) -> CustomerCard {
        let plan = plan(p);
        let count = |s: Severity| plan.issues.iter().filter(|i| i.severity == s).count();
        let mut app_expiries = vec![AppExpiry::of(p, CustomerApp::Main, today)];
        if p.features.csp {
            app_expiries.push(AppExpiry::of(p, CustomerApp::PartnerCenter, today));
        }
        // The badge shows the credential that lapses first (an undated one never wins over
        // a dated one).
        let first = app_expiries
            .iter()
            .filter(|a| a.expires_on.is_some())
            .min_by_key(|a| a.expires_on)
            .unwrap_or(&app_expiries[0])
            .clone();
        let (expiry, days_left) = expiry_level(first.expires_on, today);
        // A card only shows: text from the profile (perhaps imported) is cleaned of control
        // and bidi characters for the UI and the CLI.
        let show = |s: &str| crate::text::clean(s).into_owned();
        CustomerCard {
            id: p.id.clone(),
            name: show(&p.name),
            agent_url: show(&p.agent_url),
            tenant_id: show(&p.tenant_id),
            cloud: p.cloud,
            sandbox: p.authority.as_deref().is_some_and(is_sandbox_authority),
            verified_at: p.verified.as_ref().map(|v| v.verified_at),
            signed_in_as: p
                .verified
                .as_ref()
                .and_then(|v| v.signed_in_as.as_deref().map(show)),
            last_test: p.last_test.as_ref().map(|t| LastTest {
                code: t.code.as_deref().map(show),
                reason: t.reason.as_deref().map(show),
                ..t.clone()
            }),
            credential_kind: p.credential.kind,
            expires_on: first.expires_on,
            expiry,
            // Clamped: a typo'd year 9999 must not overflow the UI's number.
            days_left: days_left.map(|d| d.clamp(i32::MIN.into(), i32::MAX.into()) as i32),
            expiring_app: first.app,
            expiry_subject: first.what,
            app_expiries,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            consent: ConsentCoverage::of(p),
            updated_at: p.updated_at,
            rotation: p.rotation.as_ref().map(crate::rotation::resume_of),
            can_rotate: p.rotation.is_some()
                || (matches!(
                    p.credential_of(first.app).kind,
                    CredentialKind::Secret | CredentialKind::Certificate
                ) && !matches!(expiry, ExpiryLevel::None | ExpiryLevel::Ok)),
        }
    }

    /// The search box: true when every word of `query` appears (case-insensitive) in the
    /// name, service desk address or tenant ID. An empty query matches everything.
    pub fn matches(&self, query: &str) -> bool {
        let hay = format!("{} {} {}", self.name, self.agent_url, self.tenant_id).to_lowercase();
        query
            .split_whitespace()
            .all(|w| hay.contains(&w.to_lowercase()))
    }

    /// True when the card needs the partner's attention: not verified, plan errors,
    /// expiry within 30 days or past, or a declined/failed consent.
    pub fn needs_attention(&self) -> bool {
        self.verified_at.is_none()
            || self.errors > 0
            || self.expiry >= ExpiryLevel::Within30
            || self.consent.declined + self.consent.failed > 0
    }
}

/// The ids of the cards that match `query` ([`CustomerCard::matches`]: every word, in any
/// field), in the cards' order. (The app's list pages through
/// [`crate::customer_list::CardCache`] instead.)
pub fn search(cards: &[CustomerCard], query: &str) -> Vec<String> {
    cards
        .iter()
        .filter(|c| c.matches(query))
        .map(|c| c.id.clone())
        .collect()
}

/// The start screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Dashboard {
    /// One card per readable profile, most recently saved first.
    pub customers: Vec<CustomerCard>,
    /// Files in the profile folder that could not be read, with the reason.
    pub unreadable: Vec<UnreadableProfile>,
}

/// Builds the dashboard from every profile in `store`, as of `today`.
pub fn dashboard(store: &ProfileStore, today: NaiveDate) -> Result<Dashboard, ProfileError> {
    let scan = store.scan()?;
    Ok(Dashboard {
        customers: scan
            .profiles
            .iter()
            .map(|p| CustomerCard::of(p, today))
            .collect(),
        unreadable: scan.unreadable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ConsentRecord, CustomerTenant, Verification};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn expiry_thresholds_at_each_boundary() {
        let today = d("2025-06-01");
        let at = |days: i64| expiry_level(Some(today + chrono::Duration::days(days)), today);
        assert_eq!(expiry_level(None, today), (ExpiryLevel::None, None));
        assert_eq!(at(-1), (ExpiryLevel::Expired, Some(-1)));
        assert_eq!(at(0), (ExpiryLevel::Within7, Some(0)));
        assert_eq!(at(EXPIRY_URGENT_DAYS), (ExpiryLevel::Within7, Some(7)));
        assert_eq!(at(EXPIRY_URGENT_DAYS + 1).0, ExpiryLevel::Within30);
        assert_eq!(at(EXPIRY_SOON_DAYS).0, ExpiryLevel::Within30);
        assert_eq!(at(EXPIRY_SOON_DAYS + 1).0, ExpiryLevel::Within60);
        assert_eq!(at(EXPIRY_WARN_DAYS).0, ExpiryLevel::Within60);
        assert_eq!(at(EXPIRY_WARN_DAYS + 1), (ExpiryLevel::Ok, Some(61)));
    }

    #[test]
    fn a_card_shows_names_without_control_or_bidi_characters() {
        let mut p = Profile::new("Acme\u{202E}gnp.exe\u{1b}]0;pwned\u{7}");
        p.agent_url = "https://acme.halopsa.com\u{1b}[2J".into();
        p.verified = Some(Verification {
            verified_at: chrono::Utc::now(),
            signed_in_as: Some("ada\u{2066}@contoso.com".into()),
        });
        let c = CustomerCard::of(&p, d("2025-06-01"));
        assert_eq!(c.name, "Acmegnp.exe]0;pwned");
        assert_eq!(c.agent_url, "https://acme.halopsa.com[2J");
        assert_eq!(c.signed_in_as.as_deref(), Some("ada@contoso.com"));
    }

    #[test]
    fn a_failed_last_test_is_on_the_card_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut p = Profile::new("Acme");
        p.last_test = Some(LastTest::new(
            false,
            chrono::Utc::now(),
            Some("AADSTS65001"),
            Some("The app needs admin consent\u{202E}."),
        ));
        let saved = store.save(&p).unwrap();
        // A new process reads the file: the card says the last test failed, and why.
        let card = CustomerCard::of(&store.load(&saved.id).unwrap(), d("2025-06-01"));
        let last = card.last_test.expect("the last test on the card");
        assert!(!last.ok);
        assert_eq!(last.code.as_deref(), Some("AADSTS65001"));
        assert_eq!(last.reason.as_deref(), Some("The app needs admin consent."));
        assert_eq!(
            CustomerCard::of(&Profile::new("New"), d("2025-06-01")).last_test,
            None
        );
    }

    #[test]
    fn expiry_levels_serialise_as_the_ui_expects() {
        let names: Vec<String> = [
            ExpiryLevel::None,
            ExpiryLevel::Ok,
            ExpiryLevel::Within60,
            ExpiryLevel::Within30,
            ExpiryLevel::Within7,
            ExpiryLevel::Expired,
        ]
        .iter()
        .map(|l| serde_json::to_string(l).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"none\"",
                "\"ok\"",
                "\"within60\"",
                "\"within30\"",
                "\"within7\"",
                "\"expired\""
            ]
        );
    }

    fn tenant(status: ConsentStatus) -> CustomerTenant {
        CustomerTenant {
            tenant: "contoso.com".into(),
            name: None,
            consent: ConsentRecord {
                status,
                ..ConsentRecord::default()
            },
        }
    }

    #[test]
    fn coverage_counts_home_and_customer_tenants() {
        let mut p = Profile::new("Acme");
        assert_eq!(
            ConsentCoverage::of(&p),
            ConsentCoverage {
                pending: 1,
                total: 1,
                ..ConsentCoverage::default()
            },
            "no consent recorded = the home tenant is pending"
        );
        p.admin_consent = Some(ConsentRecord {
            status: ConsentStatus::Consented,
            ..ConsentRecord::default()
        });
        p.customer_tenants = vec![
            tenant(ConsentStatus::Consented),
            tenant(ConsentStatus::Declined),
            tenant(ConsentStatus::Failed),
            tenant(ConsentStatus::Pending),
            tenant(ConsentStatus::Pending),
        ];
        assert_eq!(
            ConsentCoverage::of(&p),
            ConsentCoverage {
                consented: 2,
                declined: 1,
                failed: 1,
                pending: 2,
                total: 6
            }
        );
    }

    #[test]
    fn search_wants_every_word_in_any_field_and_keeps_the_order() {
        let card = |id: &str, name: &str, url: &str, tenant: &str| {
            let mut p = Profile::new(name);
            p.id = id.into();
            p.agent_url = url.into();
            p.tenant_id = tenant.into();
            CustomerCard::of(&p, d("2025-06-01"))
        };
        let cards = [
            card(
                "1",
                "Contoso Ltd",
                "https://help.contoso.com",
                "contoso.onmicrosoft.com",
            ),
            card(
                "2",
                "Fabrikam",
                "https://fabrikam.halopsa.com",
                "72f988bf-86f1-41af-91ab-2d7cd011db47",
            ),
            card("3", "Contoso Pharma", "https://desk.pharma.example", ""),
        ];
        assert_eq!(search(&cards, ""), ["1", "2", "3"]);
        assert_eq!(search(&cards, "  "), ["1", "2", "3"]);
        assert_eq!(search(&cards, "contoso"), ["1", "3"]);
        // Words from different fields, in any order and case: the whole query as one
        // string ("pharma contoso") is in no field, yet both words are in card 3.
        assert_eq!(search(&cards, "PHARMA   contoso"), ["3"]);
        assert_eq!(search(&cards, "halopsa 72F988BF"), ["2"]);
        assert!(search(&cards, "contoso fabrikam").is_empty());
    }

    #[test]
    fn card_reflects_the_profile() {
        let mut p = Profile::new("Acme Corp");
        p.agent_url = "https://acme.halopsa.com".into();
        p.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
        p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        p.credential.kind = CredentialKind::Secret;
        p.credential.expires_on = Some(d("2025-06-20"));
        p.verified = Some(Verification {
            verified_at: "2025-05-01T10:00:00Z".parse().unwrap(),
            signed_in_as: Some("admin@acme.com".into()),
        });
        let card = CustomerCard::of(&p, d("2025-06-01"));
        assert_eq!(card.expiry, ExpiryLevel::Within30);
        assert_eq!(card.days_left, Some(19));
        assert_eq!(card.signed_in_as.as_deref(), Some("admin@acme.com"));
        assert!(!card.sandbox);
        assert_eq!(card.errors, 0, "a complete profile has no plan errors");
        assert!(card.needs_attention(), "expires within 30 days");
        assert!(card.matches("acme  HALOPSA"));
        assert!(card.matches(""));
        assert!(!card.matches("contoso"));

        p.authority = Some("http://127.0.0.1:8400".into());
        p.tenant_id = "not a guid".into();
        let card = CustomerCard::of(&p, d("2025-06-01"));
        assert!(card.sandbox);
        assert!(card.errors > 0);
    }

    #[test]
    fn with_csp_the_card_says_which_apps_secret_lapses() {
        let mut p = Profile::new("Acme CSP");
        p.features.csp = true;
        p.credential.kind = CredentialKind::Secret;
        p.credential.expires_on = Some(d("2026-01-01"));
        p.partner_center.credential.kind = CredentialKind::Secret;
        p.partner_center.credential.expires_on = Some(d("2025-06-10"));
        let card = CustomerCard::of(&p, d("2025-06-01"));
        assert_eq!(card.expiring_app, CustomerApp::PartnerCenter);
        assert_eq!(
            card.expiry_subject,
            "the Partner Center app's client secret"
        );
        assert_eq!(
            (card.expiry, card.days_left),
            (ExpiryLevel::Within30, Some(9))
        );
        assert!(card.needs_attention());
        assert_eq!(card.app_expiries.len(), 2);
        let (main, pc) = (&card.app_expiries[0], &card.app_expiries[1]);
        assert_eq!(main.what, "the multi-tenant app's client secret");
        assert_eq!(main.expiry, ExpiryLevel::Ok);
        assert!(main.fix.is_empty());
        assert!(
            pc.fix.contains("Partner Center app") && pc.fix.contains("Authorize Application"),
            "{}",
            pc.fix
        );

        // The main app lapsing first is named as such; without CSP there is one app.
        p.credential.expires_on = Some(d("2025-05-30"));
        let card = CustomerCard::of(&p, d("2025-06-01"));
        assert_eq!(card.expiring_app, CustomerApp::Main);
        assert_eq!(card.expiry, ExpiryLevel::Expired);
        p.features.csp = false;
        let card = CustomerCard::of(&p, d("2025-06-01"));
        assert_eq!(card.app_expiries.len(), 1);
        assert_eq!(card.expiry_subject, "the app's client secret");
        // An undated Partner Center credential does not hide the main app's date.
        p.features.csp = true;
        p.partner_center.credential.expires_on = None;
        let card = CustomerCard::of(&p, d("2025-06-01"));
        assert_eq!(card.expires_on, Some(d("2025-05-30")));
    }

    #[test]
    fn dashboard_lists_every_profile_and_every_unreadable_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        store.save(&Profile::new("Acme")).unwrap();
        store.save(&Profile::new("Contoso")).unwrap();
        std::fs::write(dir.path().join("damaged.json"), "{").unwrap();
        let dash = dashboard(&store, d("2025-06-01")).unwrap();
        let mut names: Vec<&str> = dash.customers.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["Acme", "Contoso"]);
        assert_eq!(dash.unreadable.len(), 1);
        assert_eq!(dash.unreadable[0].file, "damaged.json");
        let json = serde_json::to_value(&dash).unwrap();
        assert!(json["customers"][0].get("daysLeft").is_some());
        assert!(json["unreadable"][0].get("message").is_some());
    }
}
