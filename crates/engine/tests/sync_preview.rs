//! The sync preview against the Graph double: paging, throttling, a missing permission as
//! a "grant X" finding, counts for a generated directory (expectations computed here from
//! the generator's documented rules, not by the code under test), duplicates, matching
//! attribution, CSV parse-back, cancellation mid-stream, and CSP with two tenants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entra_onboard_engine::graph::{GraphClient, StaticToken};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{Profile, TenantType};
use entra_onboard_engine::steps::sync::{FieldMapping, MatchRule, SiteMapping};
use entra_onboard_engine::sync_preview::{
    CancellationToken, ExistingUsers, MatchBasis, Outcome, PreviewError, PreviewOptions,
    PreviewProgress, PreviewTenant, SyncPreview, csv, preview,
};
use entra_onboard_engine::validation::Severity;
use entra_onboard_sandbox::directory::{
    self, AGENTS_GROUP, DirUser, DirectoryParams, PORTAL_GROUP, STAFF_GROUP,
};
use entra_onboard_sandbox::graph::GraphDouble;

const CLIENT: &str = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

fn client(g: &GraphDouble) -> GraphClient {
    GraphClient::new(
        &g.target(),
        Arc::new(StaticToken::new(Sensitive::new(g.token()))),
    )
    .unwrap()
    .with_sleeper(Arc::new(|_| Box::pin(async {})))
}

fn profile(tenant: &str) -> Profile {
    let mut p = Profile::new("Acme");
    p.tenant_id = tenant.into();
    p.client_id = CLIENT.into();
    p.agent_url = "https://acme.halopsa.com".into();
    p.features.import = true;
    let s = &mut p.sync;
    s.technician_groups = vec![AGENTS_GROUP.into()];
    s.user_groups = vec![PORTAL_GROUP.into()];
    s.service_account_group = Some(STAFF_GROUP.into());
    s.field_mappings = vec![
        FieldMapping {
            entra: "mail".into(),
            halo: "Email Address".into(),
        },
        FieldMapping {
            entra: "displayName".into(),
            halo: "Name".into(),
        },
        FieldMapping {
            entra: "onPremisesSamAccountName".into(),
            halo: "Network Login".into(),
        },
        FieldMapping {
            entra: "jobTitle".into(),
            halo: "Job Title".into(),
        },
    ];
    s.matching_order = vec![
        MatchRule::AzureId,
        MatchRule::Email,
        MatchRule::NetworkLogin,
    ];
    s.site_mappings = vec![
        SiteMapping {
            site: "Contoso".into(),
            domain: Some("contoso.example".into()),
            ..SiteMapping::default()
        },
        SiteMapping {
            site: "Fabrikam".into(),
            domain: Some("fabrikam.example".into()),
            ..SiteMapping::default()
        },
    ];
    p
}

fn params(users: usize) -> DirectoryParams {
    DirectoryParams {
        users,
        ..DirectoryParams::default()
    }
}

/// The generator's rules, restated from its documentation.
fn at(i: usize, every: usize, rest: usize) -> bool {
    every > rest && i % every == rest
}

fn mail(p: &DirectoryParams, i: usize) -> Option<String> {
    if at(i, p.no_mail_every, 5) {
        None
    } else if i > 0 && at(i, p.duplicate_every, 4) {
        mail(p, i - 1)
    } else {
        Some(format!("user{i}@{}", p.domains[i % p.domains.len()]))
    }
}

#[derive(Default, Debug, PartialEq)]
struct Expect {
    technicians: u32,
    end_users: u32,
    service: u32,
    deactivated: u32,
    not_imported: u32,
    by_email: u32,
    by_login: u32,
    unmatched: u32,
    dup_emails: u32,
    dup_users: u32,
    per_site: HashMap<String, u32>,
}

fn expect(p: &DirectoryParams, licences: bool) -> Expect {
    let mut e = Expect::default();
    let mut emails: HashMap<String, u32> = HashMap::new();
    for i in 0..p.users {
        let tech = at(i, p.technician_every, 1);
        let portal = !at(i, p.outside_user_group_every, 6);
        let enabled = !at(i, p.disabled_every, 0);
        let staff = !at(i, p.service_every, 3);
        let licensed_e3 = !at(i, p.unlicensed_every, 2) && i % 2 == 0;
        if !tech && !portal {
            e.not_imported += 1;
            continue;
        }
        if !enabled {
            e.deactivated += 1;
        } else if tech {
            e.technicians += 1;
        } else if !staff || (licences && !licensed_e3) {
            e.service += 1;
        } else {
            e.end_users += 1;
        }
        *e.per_site
            .entry(["Contoso", "Fabrikam"][i % 2].to_string())
            .or_default() += 1;
        match mail(p, i) {
            Some(m) => {
                e.by_email += 1;
                *emails.entry(m).or_default() += 1;
            }
            None if i % 2 == 0 => e.by_login += 1,
            None => e.unmatched += 1,
        }
    }
    for n in emails.values().filter(|n| **n > 1) {
        e.dup_emails += 1;
        e.dup_users += n;
    }
    e
}

fn check_counts(r: &SyncPreview, e: &Expect) {
    let t = &r.totals;
    assert_eq!(
        (
            t.technicians,
            t.end_users,
            t.service_accounts,
            t.deactivated,
            t.not_imported
        ),
        (
            e.technicians,
            e.end_users,
            e.service,
            e.deactivated,
            e.not_imported
        ),
        "{t:?}"
    );
    let by: Vec<u32> = r.matching.by_rule.iter().map(|x| x.users).collect();
    assert_eq!(by, vec![0, e.by_email, e.by_login]);
    assert_eq!(r.matching.unmatched, e.unmatched);
    assert_eq!(
        (r.duplicates.emails, r.duplicates.users),
        (e.dup_emails, e.dup_users)
    );
    for s in &r.sites {
        let n = &s.counts;
        let sum = n.technicians + n.end_users + n.service_accounts + n.deactivated;
        assert_eq!(sum, e.per_site[s.site.as_deref().unwrap()], "{:?}", s.site);
    }
}

async fn run(p: &Profile, g: &GraphDouble, options: &PreviewOptions) -> SyncPreview {
    let tenants = vec![PreviewTenant {
        tenant_id: g.tenant_id(),
        client: client(g),
    }];
    preview(p, &tenants, options, None, &CancellationToken::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn counts_for_a_generated_directory_across_pages() {
    let g = GraphDouble::start().await.unwrap();
    let dp = params(1000);
    g.set_directory(directory::generate(&dp));
    let p = profile(&g.tenant_id());
    let options = PreviewOptions {
        page_size: 100,
        ..PreviewOptions::default()
    };
    let r = run(&p, &g, &options).await;
    assert!(r.ok, "{:#?}", r.findings);
    assert_eq!(r.totals.read, 1000);
    check_counts(&r, &expect(&dp, false));
    assert_eq!(r.matching.basis, MatchBasis::KeysOnly);
    assert_eq!(r.tenants[0].pages, 10);
    assert!(r.tenants[0].complete);

    // Paging: ten user pages, the first with $select and $top, the rest by $skiptoken.
    let users: Vec<String> = g
        .requests()
        .into_iter()
        .map(|q| q.path)
        .filter(|q| q.starts_with("/users?"))
        .collect();
    assert_eq!(users.len(), 10, "{users:#?}");
    assert_eq!(
        users[0],
        "/users?$select=id,displayName,mail,userPrincipalName,onPremisesSamAccountName,accountEnabled,assignedLicenses,jobTitle&$top=100"
    );
    assert!(
        users[1..]
            .iter()
            .all(|u| u.contains("$skiptoken=") && u.contains("$top=100"))
    );
    assert!(!users.iter().any(|u| u.contains("signInActivity")));
    // Group members were read with ids only, and the nested Tier 2 counted.
    assert!(
        g.requests()
            .iter()
            .any(|q| q.path.contains("/transitiveMembers?$select=id&$top=100"))
    );
    // Field coverage: jobTitle only on technicians.
    let job = r
        .field_coverage
        .iter()
        .find(|f| f.entra == "jobTitle")
        .unwrap();
    let e = expect(&dp, false);
    assert_eq!(job.present, e.technicians + count_disabled_techs(&dp));
}

fn count_disabled_techs(p: &DirectoryParams) -> u32 {
    (0..p.users)
        .filter(|i| at(*i, p.technician_every, 1) && at(*i, p.disabled_every, 0))
        .count() as u32
}

#[tokio::test]
async fn throttling_is_honoured_and_the_result_is_unchanged() {
    let g = GraphDouble::start().await.unwrap();
    let dp = params(300);
    g.set_directory(directory::generate(&dp));
    let p = profile(&g.tenant_id());
    g.faults(|f| {
        f.throttle.push_back((429, Some(3)));
        f.throttle.push_back((503, Some(1)));
    });
    let c = client(&g);
    let tenants = vec![PreviewTenant {
        tenant_id: g.tenant_id(),
        client: c.clone(),
    }];
    let r = preview(
        &p,
        &tenants,
        &PreviewOptions::default(),
        None,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        c.waits(),
        vec![Duration::from_secs(3), Duration::from_secs(1)]
    );
    assert_eq!(r.throttled, 2);
    check_counts(&r, &expect(&dp, false));
}

#[tokio::test]
async fn a_missing_permission_is_a_grant_finding_with_the_consent_link() {
    let g = GraphDouble::start().await.unwrap();
    g.set_directory(directory::generate(&params(50)));
    let p = profile(&g.tenant_id());

    // Groups readable, users not.
    g.set_granted_roles(Some(&["GroupMember.Read.All"]));
    let r = run(&p, &g, &PreviewOptions::default()).await;
    assert!(!r.ok);
    assert_eq!(r.exit_code(), 1);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "permission.missing")
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.permission.as_deref(), Some("User.Read.All"));
    let link = f.consent_url.as_deref().unwrap();
    assert!(
        link.starts_with(&format!(
            "https://login.microsoftonline.com/{}/v2.0/adminconsent?client_id={CLIENT}",
            g.tenant_id()
        )),
        "{link}"
    );
    assert!(f.fix.contains("Grant User.Read.All"));
    assert!(!r.tenants[0].complete);

    // Nothing granted: the group read is refused first.
    g.set_granted_roles(Some(&[]));
    let r = run(&p, &g, &PreviewOptions::default()).await;
    let perms: Vec<&str> = r
        .findings
        .iter()
        .filter_map(|f| f.permission.as_deref())
        .collect();
    assert_eq!(perms, ["GroupMember.Read.All"]);
    assert_eq!(r.totals.read, 0);
}

#[tokio::test]
async fn last_sign_in_needs_audit_log_and_premium() {
    let g = GraphDouble::start().await.unwrap();
    let dp = params(120);
    g.set_directory(directory::generate(&dp));
    let mut p = profile(&g.tenant_id());
    p.sync.map_last_sign_in = true;

    // Granted and premium: signInActivity is selected and lands in the rows.
    let r = run(&p, &g, &PreviewOptions::default()).await;
    assert!(r.ok, "{:#?}", r.findings);
    assert!(r.rows.iter().all(|x| x.last_sign_in.is_some()));
    assert!(
        g.requests()
            .iter()
            .any(|q| q.path.contains("signInActivity&$top=999"))
    );

    // AuditLog.Read.All missing: a grant finding, and the users are still previewed.
    g.set_granted_roles(Some(&["User.Read.All", "GroupMember.Read.All"]));
    let r = run(&p, &g, &PreviewOptions::default()).await;
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "permission.missing")
        .unwrap();
    assert_eq!(f.permission.as_deref(), Some("AuditLog.Read.All"));
    assert_eq!(r.totals.read, 120);
    check_counts(&r, &expect(&dp, false));

    // No P1/P2.
    g.set_granted_roles(None);
    g.set_premium(false);
    let r = run(&p, &g, &PreviewOptions::default()).await;
    assert!(
        r.findings
            .iter()
            .any(|f| f.id == "licence.premium_required" && f.severity == Severity::Error)
    );
    assert_eq!(r.totals.read, 120);
}

#[tokio::test]
async fn matching_against_an_export_of_the_service_desk() {
    let g = GraphDouble::start().await.unwrap();
    let dp = params(200);
    let dir = directory::generate(&dp);
    // Users 10..20 already carry their Azure id; users 20..40 only their email (rows whose
    // mail is absent fall through to network login, then nothing).
    let mut export = String::from("Azure ID,Name,Email Address,Network Login\r\n");
    for (i, u) in dir.users.iter().enumerate().take(40).skip(10) {
        let id = if i < 20 { u.id.as_str() } else { "" };
        let mail = if i >= 20 {
            u.mail.clone().unwrap_or_default()
        } else {
            String::new()
        };
        export.push_str(&format!(
            "{id},\"{}\",{mail},\r\n",
            u.display_name.replace('"', "\"\"")
        ));
    }
    g.set_directory(dir.clone());
    let p = profile(&g.tenant_id());
    let existing = ExistingUsers::from_csv(&export).unwrap();
    assert_eq!(existing.count, 30);
    let r = run(
        &p,
        &g,
        &PreviewOptions {
            existing: Some(existing),
            ..PreviewOptions::default()
        },
    )
    .await;
    assert_eq!(r.matching.basis, MatchBasis::ExistingUsers);
    // Expected: imported users among 10..20 by Azure id; among 20..40 by email when they
    // have one. Mails of 20..40 are unique except duplicates, which match by email too.
    let imported =
        |i: usize| at(i, dp.technician_every, 1) || !at(i, dp.outside_user_group_every, 6);
    let by_id = (10..20).filter(|i| imported(*i)).count() as u32;
    let export_mails: Vec<String> = (20..40).filter_map(|i| mail(&dp, i)).collect();
    let by_mail = (0..dp.users)
        .filter(|i| !(10..20).contains(i) && imported(*i))
        .filter(|i| mail(&dp, *i).is_some_and(|m| export_mails.contains(&m)))
        .count() as u32;
    let by: Vec<u32> = r.matching.by_rule.iter().map(|x| x.users).collect();
    assert_eq!(by, vec![by_id, by_mail, 0]);
    let total_imported = (0..dp.users).filter(|i| imported(*i)).count() as u32;
    assert_eq!(r.matching.unmatched, total_imported - by_id - by_mail);
    let row = r
        .rows
        .iter()
        .find(|x| x.object_id == dir.users[12].id)
        .unwrap();
    assert_eq!(row.matched_by, Some(MatchRule::AzureId));
}

#[tokio::test]
async fn csv_parses_back_with_formula_guard() {
    let g = GraphDouble::start().await.unwrap();
    let dp = params(150);
    let mut dir = directory::generate(&dp);
    dir.users[3] = DirUser {
        display_name: "=HYPERLINK(\"http://evil.example\",\"click\")".into(),
        ..dir.users[3].clone()
    };
    dir.users[4].display_name = "Smith, \"Jo\"\r\nline two".into();
    dir.users[5].display_name = "@SUM(1)".into();
    g.set_directory(dir.clone());
    let p = profile(&g.tenant_id());
    let r = run(&p, &g, &PreviewOptions::default()).await;
    let mut buf = Vec::new();
    csv::write_csv(&r, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    // No line of the file starts a cell with a formula character.
    assert!(!text.contains(",=") && !text.contains(",@") && !text.contains(",\"="));
    let records = csv::parse(&text).unwrap();
    assert_eq!(records[0], csv::HEADER);
    assert_eq!(records.len(), 151);
    for (rec, row) in records[1..].iter().zip(&r.rows) {
        assert_eq!(rec.len(), csv::HEADER.len());
        assert_eq!(csv::unguard(&rec[3]), row.display_name);
        assert_eq!(rec[2], row.object_id);
        assert_eq!(rec[8], row.outcome.label());
        assert_eq!(rec[11], row.duplicate_email.to_string());
    }
    assert_eq!(
        records[4][3],
        "'=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(records[5][3], "Smith, \"Jo\"\r\nline two");
    assert_eq!(records[6][3], "'@SUM(1)");
    // The duplicate flag agrees with the summary.
    let flagged = r.rows.iter().filter(|x| x.duplicate_email).count() as u32;
    assert_eq!(flagged, r.duplicates.users);
    assert!(r.rows.iter().any(|x| x.outcome == Outcome::ServiceAccount));
}

#[tokio::test]
async fn cancellation_stops_mid_stream() {
    let g = GraphDouble::start().await.unwrap();
    g.set_directory(directory::generate(&params(2000)));
    let p = profile(&g.tenant_id());
    let cancel = CancellationToken::new();
    let seen: Arc<Mutex<Vec<u32>>> = Arc::default();
    let progress = {
        let (cancel, seen) = (cancel.clone(), seen.clone());
        Arc::new(move |e: &PreviewProgress| {
            if let PreviewProgress::Page { pages, .. } = e {
                seen.lock().unwrap().push(*pages);
                if *pages == 3 {
                    cancel.cancel();
                }
            }
        })
    };
    let tenants = vec![PreviewTenant {
        tenant_id: g.tenant_id(),
        client: client(&g),
    }];
    let options = PreviewOptions {
        page_size: 100,
        ..PreviewOptions::default()
    };
    let r = preview(&p, &tenants, &options, Some(progress), &cancel).await;
    assert!(matches!(r, Err(PreviewError::Cancelled)), "{r:?}");
    assert_eq!(r.unwrap_err().code(), "sync_preview.cancelled");
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);
    let user_pages = g
        .requests()
        .iter()
        .filter(|q| q.path.starts_with("/users?"))
        .count();
    assert_eq!(user_pages, 3);
}

#[tokio::test]
async fn csp_two_tenants_with_licences_per_site() {
    let a = GraphDouble::start().await.unwrap();
    let b = GraphDouble::start().await.unwrap();
    let pa = DirectoryParams {
        users: 90,
        seed: 1,
        domains: vec!["acme.example".into()],
        ..DirectoryParams::default()
    };
    let pb = DirectoryParams {
        users: 60,
        seed: 2,
        domains: vec!["globex.example".into()],
        ..DirectoryParams::default()
    };
    a.set_directory(directory::generate(&pa));
    b.set_directory(directory::generate(&pb));
    let mut p = profile(&a.tenant_id());
    p.features.csp = true;
    p.tenant_type = TenantType::Multi;
    p.allowed_tenants = vec![a.tenant_id(), b.tenant_id()];
    p.sync.active_licences = vec!["SPE_E3".into()];
    p.sync.site_mappings = vec![
        SiteMapping {
            site: "Acme".into(),
            tenant_id: Some(a.tenant_id()),
            ..SiteMapping::default()
        },
        SiteMapping {
            site: "Globex".into(),
            tenant_id: Some(b.tenant_id()),
            ..SiteMapping::default()
        },
    ];
    assert_eq!(
        entra_onboard_engine::sync_preview::preview_tenants(
            &p,
            &entra_onboard_engine::plan::plan(&p).basics
        ),
        vec![a.tenant_id(), b.tenant_id()]
    );
    let tenants = vec![
        PreviewTenant {
            tenant_id: a.tenant_id(),
            client: client(&a),
        },
        PreviewTenant {
            tenant_id: b.tenant_id(),
            client: client(&b),
        },
    ];
    let r = preview(
        &p,
        &tenants,
        &PreviewOptions::default(),
        None,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(r.ok, "{:#?}", r.findings);
    let ea = expect(&pa, true);
    let eb = expect(&pb, true);
    let site = |name: &str| {
        r.sites
            .iter()
            .find(|s| s.site.as_deref() == Some(name))
            .unwrap()
    };
    for (name, e) in [("Acme", &ea), ("Globex", &eb)] {
        let c = &site(name).counts;
        assert_eq!(
            (
                c.technicians,
                c.end_users,
                c.service_accounts,
                c.deactivated
            ),
            (e.technicians, e.end_users, e.service, e.deactivated),
            "{name}"
        );
    }
    assert_eq!(r.totals.read, 150);
    // Licence names came from subscribedSkus in each tenant.
    assert!(
        r.licences
            .iter()
            .any(|l| l.sku_part_number.as_deref() == Some("SPE_E3") && l.makes_active)
    );
    assert!(
        r.licences
            .iter()
            .any(|l| l.sku_part_number.as_deref() == Some("EXCHANGESTANDARD") && !l.makes_active)
    );
    // A refusal in the second tenant names that tenant in the consent link.
    b.set_granted_roles(Some(&["GroupMember.Read.All", "Organization.Read.All"]));
    let r = preview(
        &p,
        &tenants,
        &PreviewOptions::default(),
        None,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "permission.missing")
        .unwrap();
    assert_eq!(f.tenant_id.as_deref(), Some(b.tenant_id().as_str()));
    assert!(
        f.consent_url
            .as_deref()
            .unwrap()
            .contains(&format!("/{}/v2.0/adminconsent", b.tenant_id()))
    );
    assert!(r.tenants[0].complete && !r.tenants[1].complete);
}

#[tokio::test]
async fn a_profile_without_import_or_with_bad_sync_settings_is_refused() {
    let g = GraphDouble::start().await.unwrap();
    let mut p = profile(&g.tenant_id());
    p.features.import = false;
    let tenants = vec![PreviewTenant {
        tenant_id: g.tenant_id(),
        client: client(&g),
    }];
    let e = preview(
        &p,
        &tenants,
        &PreviewOptions::default(),
        None,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "sync_preview.profile");
    p.features.import = true;
    p.sync.matching_order = vec![MatchRule::Email, MatchRule::Email];
    let e = preview(
        &p,
        &tenants,
        &PreviewOptions::default(),
        None,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("sync.matching_order[1]"), "{e}");
    assert!(g.requests().is_empty());
}
