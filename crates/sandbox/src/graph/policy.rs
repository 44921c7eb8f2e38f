//! The Graph double's own reading of app-management policies, for `addPassword`.
//!
//! Written from the resource documentation, and deliberately not shared with the engine's
//! reader (`graph::apply::password_policy`): the double stands in for Graph, so a misreading
//! on the engine's side has to fail against it rather than pass its own test.
//!
//! - An enabled `appManagementPolicy` assigned to the app replaces the tenant default for
//!   that app (resources/appmanagementpolicy.md); otherwise the `tenantAppManagementPolicy`
//!   applies when `isEnabled` (resources/tenantappmanagementpolicy.md, its
//!   `applicationRestrictions`).
//! - Each `passwordCredentialConfiguration` (resources/passwordcredentialconfiguration.md)
//!   has a `restrictionType`, a `maxLifetime` (ISO 8601 duration), a
//!   `restrictForAppsCreatedAfterDateTime` (the restriction applies to apps created after
//!   it; absent: to every app) and a `state` (`disabled` means not evaluated).
//! - A lifetime is compared on the calendar, as a service would: `P1Y` allows a year from
//!   the start (366 days across a leap day), `P6M` six calendar months.
//!
//! Left out: key credentials, `symmetricKeyAddition`/`symmetricKeyLifetime`,
//! `customPasswordAddition`, fractional durations (an unreadable `maxLifetime` limits
//! nothing here; Graph would not have stored it).

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde_json::Value;

/// Why `addPassword` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A `passwordAddition` restriction applies.
    Blocked,
    /// The requested end is after the `passwordLifetime` restriction allows.
    TooLong,
}

/// Whether a password credential from `start` to `end` may be added to an app created at
/// `app_created`, under the tenant default and the policies assigned to the app.
pub(super) fn check_password(
    tenant_default: &Value,
    assigned: &[Value],
    app_created: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), Refusal> {
    let restrictions = match assigned.iter().find(|p| enabled(p)) {
        Some(policy) => &policy["restrictions"]["passwordCredentials"],
        None if tenant_default["isEnabled"] == Value::Bool(true) => {
            &tenant_default["applicationRestrictions"]["passwordCredentials"]
        }
        None => return Ok(()),
    };
    let in_force = restrictions
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|r| r["state"].as_str() != Some("disabled"))
        .filter(|r| applies_to(r, app_created));
    for r in in_force {
        match r["restrictionType"].as_str() {
            Some("passwordAddition") => return Err(Refusal::Blocked),
            Some("passwordLifetime") => {
                if let Some(latest) = r["maxLifetime"]
                    .as_str()
                    .and_then(|d| add_duration(start, d))
                    && end > latest
                {
                    return Err(Refusal::TooLong);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// An assigned policy counts unless it says `"isEnabled": false`.
fn enabled(policy: &Value) -> bool {
    policy["isEnabled"] != Value::Bool(false)
}

fn applies_to(restriction: &Value, app_created: DateTime<Utc>) -> bool {
    match restriction["restrictForAppsCreatedAfterDateTime"].as_str() {
        None => true,
        Some(after) => {
            DateTime::parse_from_rfc3339(after).map_or(true, |after| app_created > after)
        }
    }
}

/// `start` plus an ISO 8601 duration of whole numbers (`P90D`, `P1Y6M`, `P2W`, `PT36H`), on
/// the calendar; `None` when it is not one.
fn add_duration(start: DateTime<Utc>, iso: &str) -> Option<DateTime<Utc>> {
    let rest = iso.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, t),
        Some(_) => return None,
        None => (rest, ""),
    };
    let mut months = 0u32;
    let mut delta = TimeDelta::zero();
    for (n, unit) in fields(date)? {
        match unit {
            'Y' => months = months.checked_add(u32::try_from(n).ok()?.checked_mul(12)?)?,
            'M' => months = months.checked_add(u32::try_from(n).ok()?)?,
            'W' => delta = delta.checked_add(&TimeDelta::try_weeks(n)?)?,
            'D' => delta = delta.checked_add(&TimeDelta::try_days(n)?)?,
            _ => return None,
        }
    }
    for (n, unit) in fields(time)? {
        delta = delta.checked_add(&match unit {
            'H' => TimeDelta::try_hours(n)?,
            'M' => TimeDelta::try_minutes(n)?,
            'S' => TimeDelta::try_seconds(n)?,
            _ => return None,
        })?;
    }
    start
        .checked_add_months(Months::new(months))?
        .checked_add_signed(delta)
}

/// `12D3H` → `[(12, 'D'), (3, 'H')]`; `None` on anything but digits followed by a letter.
fn fields(s: &str) -> Option<Vec<(i64, char)>> {
    let mut out = Vec::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            out.push((digits.parse().ok()?, c));
            digits.clear();
        }
    }
    digits.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn tenant(restrictions: Value) -> Value {
        json!({"isEnabled": true, "applicationRestrictions": {"passwordCredentials": restrictions}})
    }

    const START: &str = "2025-03-01T00:00:00Z";

    fn check(default: &Value, assigned: &[Value], created: &str, end: &str) -> Result<(), Refusal> {
        check_password(default, assigned, at(created), at(START), at(end))
    }

    #[test]
    fn a_block_applies_only_to_apps_created_after_its_date_and_while_enabled() {
        let block = |state: &str| {
            tenant(
                json!([{"restrictionType": "passwordAddition", "state": state,
                "restrictForAppsCreatedAfterDateTime": "2020-01-01T00:00:00Z"}]),
            )
        };
        let end = "2025-06-01T00:00:00Z";
        assert_eq!(
            check(&block("enabled"), &[], "2024-01-01T00:00:00Z", end),
            Err(Refusal::Blocked)
        );
        assert_eq!(
            check(&block("enabled"), &[], "2019-01-01T00:00:00Z", end),
            Ok(())
        );
        assert_eq!(
            check(&block("disabled"), &[], "2024-01-01T00:00:00Z", end),
            Ok(())
        );
        let mut off = block("enabled");
        off["isEnabled"] = json!(false);
        assert_eq!(check(&off, &[], "2024-01-01T00:00:00Z", end), Ok(()));
    }

    #[test]
    fn an_assigned_policy_replaces_the_tenant_default() {
        let default = tenant(json!([{"restrictionType": "passwordAddition"}]));
        let lenient = json!({"isEnabled": true, "restrictions": {"passwordCredentials": [
            {"restrictionType": "passwordLifetime", "maxLifetime": "P30D"}
        ]}});
        let created = "2024-01-01T00:00:00Z";
        assert_eq!(
            check(&default, &[], created, "2025-03-10T00:00:00Z"),
            Err(Refusal::Blocked)
        );
        assert_eq!(
            check(
                &default,
                std::slice::from_ref(&lenient),
                created,
                "2025-03-10T00:00:00Z"
            ),
            Ok(())
        );
        assert_eq!(
            check(&default, &[lenient], created, "2025-04-10T00:00:00Z"),
            Err(Refusal::TooLong)
        );
        let disabled = json!({"isEnabled": false, "restrictions": {"passwordCredentials": []}});
        assert_eq!(
            check(&default, &[disabled], created, "2025-03-10T00:00:00Z"),
            Err(Refusal::Blocked)
        );
    }

    #[test]
    fn lifetimes_are_calendar_durations() {
        let cap = |iso: &str| {
            tenant(json!([{"restrictionType": "passwordLifetime", "maxLifetime": iso}]))
        };
        let created = "2024-01-01T00:00:00Z";
        // P90D from 1 March: 30 May is the last day allowed.
        assert_eq!(
            check(&cap("P90D"), &[], created, "2025-05-30T00:00:00Z"),
            Ok(())
        );
        assert_eq!(
            check(&cap("P90D"), &[], created, "2025-05-30T00:00:01Z"),
            Err(Refusal::TooLong)
        );
        // A year from 1 March 2025 crosses no leap day: 365 days; P1Y6M is 1 September 2026.
        assert_eq!(
            check(&cap("P1Y"), &[], created, "2026-03-01T00:00:00Z"),
            Ok(())
        );
        assert_eq!(
            check(&cap("P1Y"), &[], created, "2026-03-02T00:00:00Z"),
            Err(Refusal::TooLong)
        );
        assert_eq!(
            check(&cap("P1Y6M"), &[], created, "2026-09-01T00:00:00Z"),
            Ok(())
        );
        assert_eq!(
            check(&cap("P1Y6M"), &[], created, "2026-09-02T00:00:00Z"),
            Err(Refusal::TooLong)
        );
        assert_eq!(
            check(&cap("P2WT12H"), &[], created, "2025-03-15T12:00:00Z"),
            Ok(())
        );
        assert_eq!(
            check(&cap("P2WT12H"), &[], created, "2025-03-15T12:00:01Z"),
            Err(Refusal::TooLong)
        );
        // Not a duration this reader understands: no limit.
        assert_eq!(
            check(&cap("P1.5Y"), &[], created, "2030-01-01T00:00:00Z"),
            Ok(())
        );
        assert_eq!(
            check(&cap("90 days"), &[], created, "2030-01-01T00:00:00Z"),
            Ok(())
        );
    }

    #[test]
    fn no_policy_means_no_restriction() {
        assert_eq!(
            check(
                &json!({}),
                &[],
                "2024-01-01T00:00:00Z",
                "2099-01-01T00:00:00Z"
            ),
            Ok(())
        );
    }
}
