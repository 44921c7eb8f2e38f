//! A directory for the Graph double: users, groups (nested), licences — and a generator of
//! synthetic directories with structure that tests can predict from the parameters alone.
//!
//! Users are stored as compact structs, not JSON, so a 50,000-user directory costs a few
//! megabytes and the sync benchmark measures the preview rather than the double.
//!
//! # The generator's rules
//!
//! For user `i` (0-based) of [`DirectoryParams`] (a rule whose period is not larger than
//! its residue — `0` included — is off):
//! - domain: `domains[i % domains.len()]`; UPN `user{i}@{domain}`;
//! - disabled when `i % disabled_every == 0`;
//! - technician when `i % technician_every == 1`: a direct member of [`AGENTS_GROUP`] when
//!   `(i / technician_every) % 2 == 0`, else of [`TIER2_GROUP`], which is nested in it;
//! - outside [`PORTAL_GROUP`] when `i % outside_user_group_every == 6`, inside otherwise;
//! - outside [`STAFF_GROUP`] (the service-account group) when `i % service_every == 3`;
//! - no licence when `i % unlicensed_every == 2`; otherwise [`SKU_E3`] for even `i` and
//!   [`SKU_EXCHANGE`] for odd `i`;
//! - mail: none when `i % no_mail_every == 5`; else the mail of user `i - 1` when
//!   `i % duplicate_every == 4` (a colliding address); else `user{i}@{domain}`;
//! - network login (`onPremisesSamAccountName`) `user{i}` for even `i`, none for odd;
//! - the seed only changes object ids, display names and sign-in dates.

use serde_json::{Value, json};

/// A user as the double keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirUser {
    /// Object id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// userPrincipalName.
    pub user_principal_name: String,
    /// mail.
    pub mail: Option<String>,
    /// onPremisesSamAccountName.
    pub sam: Option<String>,
    /// accountEnabled.
    pub account_enabled: bool,
    /// assignedLicenses' skuIds.
    pub licences: Vec<String>,
    /// jobTitle.
    pub job_title: Option<String>,
    /// department.
    pub department: Option<String>,
    /// signInActivity.lastSignInDateTime.
    pub last_sign_in: Option<String>,
}

impl DirUser {
    /// The user resource (https://learn.microsoft.com/graph/api/resources/user) with only
    /// the `select`ed properties (`id` always), as `$select` makes Graph answer.
    pub fn to_json(&self, select: &[String]) -> Value {
        let mut v = serde_json::Map::new();
        let want = |p: &str| select.is_empty() || select.iter().any(|s| s.eq_ignore_ascii_case(p));
        v.insert("id".into(), json!(self.id));
        let mut put = |k: &str, val: Value| {
            if want(k) {
                v.insert(k.into(), val);
            }
        };
        put("displayName", json!(self.display_name));
        put("userPrincipalName", json!(self.user_principal_name));
        put("mail", json!(self.mail));
        put("onPremisesSamAccountName", json!(self.sam));
        put("accountEnabled", json!(self.account_enabled));
        put(
            "assignedLicenses",
            Value::Array(
                self.licences
                    .iter()
                    .map(|s| json!({"disabledPlans": [], "skuId": s}))
                    .collect(),
            ),
        );
        put("jobTitle", json!(self.job_title));
        put("department", json!(self.department));
        // signInActivity is returned only when selected (user resource: "Returned only on
        // $select").
        if select
            .iter()
            .any(|s| s.eq_ignore_ascii_case("signInActivity"))
        {
            v.insert(
                "signInActivity".into(),
                json!({"lastSignInDateTime": self.last_sign_in, "lastNonInteractiveSignInDateTime": self.last_sign_in}),
            );
        }
        Value::Object(v)
    }
}

/// A group: members are user or group ids (nested groups are expanded by
/// `transitiveMembers`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirGroup {
    /// Object id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// Direct members' ids.
    pub members: Vec<String>,
}

/// A subscribed SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct DirSku {
    /// skuId.
    pub sku_id: String,
    /// skuPartNumber.
    pub sku_part_number: String,
}

/// Everything the directory routes serve.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Users, in paging order.
    pub users: Vec<DirUser>,
    /// Groups.
    pub groups: Vec<DirGroup>,
    /// Subscribed SKUs.
    pub skus: Vec<DirSku>,
}

impl Directory {
    /// The group with this id or display name (case-insensitive).
    pub fn group(&self, id_or_name: &str) -> Option<&DirGroup> {
        self.groups
            .iter()
            .find(|g| g.id == id_or_name || g.display_name.eq_ignore_ascii_case(id_or_name))
    }

    /// Ids of every user reachable from `group_id` through nested groups, each once, in
    /// discovery order (cycle-safe).
    pub fn transitive_users(&self, group_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen_groups = vec![group_id.to_string()];
        let mut stack = vec![group_id.to_string()];
        let mut seen_users = std::collections::HashSet::new();
        while let Some(g) = stack.pop() {
            let Some(group) = self.groups.iter().find(|x| x.id == g) else {
                continue;
            };
            for m in &group.members {
                if self.groups.iter().any(|x| x.id == *m) {
                    if !seen_groups.contains(m) {
                        seen_groups.push(m.clone());
                        stack.push(m.clone());
                    }
                } else if seen_users.insert(m.clone()) {
                    out.push(m.clone());
                }
            }
        }
        out
    }
}

/// The technicians' group.
pub const AGENTS_GROUP: &str = "Service Desk Agents";
/// Nested in [`AGENTS_GROUP`].
pub const TIER2_GROUP: &str = "Tier 2";
/// The end users' group.
pub const PORTAL_GROUP: &str = "Portal Users";
/// The service-account group (non-members become service accounts).
pub const STAFF_GROUP: &str = "All Staff";
/// Microsoft 365 E3's part number.
pub const SKU_E3: &str = "SPE_E3";
/// Exchange Online (Plan 1)'s part number.
pub const SKU_EXCHANGE: &str = "EXCHANGESTANDARD";
/// skuId of [`SKU_E3`] (as in Microsoft's licensing reference).
pub const SKU_E3_ID: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
/// skuId of [`SKU_EXCHANGE`].
pub const SKU_EXCHANGE_ID: &str = "4b9405b0-7788-4568-add1-99614e613b69";

/// What [`generate`] makes (see the module docs for the rules).
#[derive(Debug, Clone)]
pub struct DirectoryParams {
    /// Number of users.
    pub users: usize,
    /// Seed for ids, names and dates.
    pub seed: u64,
    /// Domains, assigned round-robin.
    pub domains: Vec<String>,
    /// Period of disabled accounts.
    pub disabled_every: usize,
    /// Period of technicians.
    pub technician_every: usize,
    /// Period of users outside the portal group.
    pub outside_user_group_every: usize,
    /// Period of users outside the staff (service-account) group.
    pub service_every: usize,
    /// Period of unlicensed users.
    pub unlicensed_every: usize,
    /// Period of users whose mail repeats the previous user's.
    pub duplicate_every: usize,
    /// Period of users without mail.
    pub no_mail_every: usize,
}

impl Default for DirectoryParams {
    fn default() -> Self {
        DirectoryParams {
            users: 1000,
            seed: 7,
            domains: vec!["contoso.example".into(), "fabrikam.example".into()],
            disabled_every: 10,
            technician_every: 25,
            outside_user_group_every: 50,
            service_every: 20,
            unlicensed_every: 15,
            duplicate_every: 100,
            no_mail_every: 40,
        }
    }
}

/// `i % every == rest`, off when `every` is not larger than `rest` (0 included).
fn hit(i: usize, every: usize, rest: usize) -> bool {
    every > rest && i % every == rest
}

/// The rules of the module docs, as predicates (the generator's own; tests recompute them
/// from the parameters rather than calling these).
impl DirectoryParams {
    fn domain(&self, i: usize) -> &str {
        &self.domains[i % self.domains.len().max(1)]
    }

    /// Mail of user `i`.
    pub fn mail(&self, i: usize) -> Option<String> {
        if hit(i, self.no_mail_every, 5) {
            None
        } else if i > 0 && hit(i, self.duplicate_every, 4) {
            self.mail(i - 1)
        } else {
            Some(format!("user{i}@{}", self.domain(i)))
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, dependency-free, good enough for names.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

const FIRST: &[&str] = &[
    "Ada", "Björn", "Chloé", "Dmitri", "Eve", "Farah", "Grace", "Hiro", "Ines", "José", "Kai",
    "Lena", "Mateo", "Nadia", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tomás",
];
const LAST: &[&str] = &[
    "O'Brien", "Smith", "Müller", "Garcia", "Chen", "Okafor", "Novak", "Rossi", "Kim", "Dubois",
    "=SUM(A1)", "Nakamura", "Silva", "Jensen", "Kowalski", "Haddad",
];

/// Generates a directory (see the module docs for the rules).
pub fn generate(p: &DirectoryParams) -> Directory {
    let mut rng = Rng(p.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut users = Vec::with_capacity(p.users);
    let agents_id = rng.uuid();
    let tier2_id = rng.uuid();
    let portal_id = rng.uuid();
    let staff_id = rng.uuid();
    let mut agents = DirGroup {
        id: agents_id,
        display_name: AGENTS_GROUP.into(),
        members: vec![tier2_id.clone()],
    };
    let mut tier2 = DirGroup {
        id: tier2_id,
        display_name: TIER2_GROUP.into(),
        members: Vec::new(),
    };
    let mut portal = DirGroup {
        id: portal_id,
        display_name: PORTAL_GROUP.into(),
        members: Vec::new(),
    };
    let mut staff = DirGroup {
        id: staff_id,
        display_name: STAFF_GROUP.into(),
        members: Vec::new(),
    };
    for i in 0..p.users {
        let id = rng.uuid();
        let first = FIRST[(rng.next() % FIRST.len() as u64) as usize];
        let last = LAST[(rng.next() % LAST.len() as u64) as usize];
        let licences = if hit(i, p.unlicensed_every, 2) {
            Vec::new()
        } else if i.is_multiple_of(2) {
            vec![SKU_E3_ID.to_string()]
        } else {
            vec![SKU_EXCHANGE_ID.to_string()]
        };
        let tech = hit(i, p.technician_every, 1);
        if tech {
            if (i / p.technician_every).is_multiple_of(2) {
                agents.members.push(id.clone());
            } else {
                tier2.members.push(id.clone());
            }
        }
        if !hit(i, p.outside_user_group_every, 6) {
            portal.members.push(id.clone());
        }
        if !hit(i, p.service_every, 3) {
            staff.members.push(id.clone());
        }
        let days = rng.next() % 400;
        users.push(DirUser {
            id,
            display_name: format!("{first} {last} {i}"),
            user_principal_name: format!("user{i}@{}", p.domain(i)),
            mail: p.mail(i),
            sam: i.is_multiple_of(2).then(|| format!("user{i}")),
            account_enabled: !hit(i, p.disabled_every, 0),
            licences,
            job_title: tech.then(|| "Service Desk Analyst".to_string()),
            department: Some(if tech { "IT" } else { "Operations" }.into()),
            last_sign_in: Some(
                (chrono::DateTime::<chrono::Utc>::from_timestamp(1_760_000_000, 0)
                    .unwrap_or_default()
                    - chrono::Duration::days(days as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        });
    }
    Directory {
        users,
        groups: vec![agents, tier2, portal, staff],
        skus: vec![
            DirSku {
                sku_id: SKU_E3_ID.into(),
                sku_part_number: SKU_E3.into(),
            },
            DirSku {
                sku_id: SKU_EXCHANGE_ID.into(),
                sku_part_number: SKU_EXCHANGE.into(),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_nested() {
        let p = DirectoryParams {
            users: 200,
            ..DirectoryParams::default()
        };
        let a = generate(&p);
        let b = generate(&p);
        assert_eq!(a.users, b.users);
        let c = generate(&DirectoryParams {
            seed: 8,
            ..p.clone()
        });
        assert_ne!(a.users[0].id, c.users[0].id);
        assert_eq!(a.users[0].mail, c.users[0].mail);
        let agents = a.group(AGENTS_GROUP).unwrap();
        let techs = a.transitive_users(&agents.id);
        // 200 users, technician when i % 25 == 1: i = 1, 26, …, 176 → 8.
        assert_eq!(techs.len(), 8);
        // Half of them only through Tier 2.
        assert_eq!(a.group(TIER2_GROUP).unwrap().members.len(), 4);
        // user 104 repeats user 103's mail.
        assert_eq!(a.users[104].mail, a.users[103].mail);
        assert_eq!(a.users[45].mail, None);
    }
}
