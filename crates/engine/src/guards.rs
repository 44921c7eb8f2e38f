//! The guards the desktop shell keeps between commands, here so they are unit-tested and
//! `src-tauri` stays one-line adapters: one browser flow at a time, and only the fixes the
//! last live check offered. (The third guard, passes consumed once, is
//! [`crate::evidence::SeenPasses`].)
//!
//! Left out: persistence. All three live for one run of the app; a restart starts clean,
//! which is the safe direction (nothing offered, nothing waiting).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use crate::graph::doctor::FixAction;

/// A guard said no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// Another browser flow (SSO test, Graph sign-in, consent capture) is waiting.
    #[error(
        "The wizard is already waiting for the browser (a test or a sign-in); finish or cancel that first."
    )]
    BrowserBusy,
    /// The fix was not among those the last live check offered for this customer.
    #[error("That fix was not offered by the last check; run \"Check a live registration\" again.")]
    FixNotOffered,
}

impl GuardError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            GuardError::BrowserBusy => "browser_flow.busy",
            GuardError::FixNotOffered => "doctor.fix_not_offered",
        }
    }
}

/// One browser flow at a time: each opens a browser tab and listens on the loopback, and two
/// waiting at once would leave the admin not knowing which tab answers which.
#[derive(Debug, Default)]
pub struct BrowserFlows {
    waiting: Mutex<Option<CancellationToken>>,
}

impl BrowserFlows {
    /// No flow waiting.
    pub fn new() -> BrowserFlows {
        BrowserFlows::default()
    }

    /// Registers a new flow and returns its cancel token; refused while another waits.
    pub fn begin(&self) -> Result<CancellationToken, GuardError> {
        let mut slot = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Err(GuardError::BrowserBusy);
        }
        let token = CancellationToken::new();
        *slot = Some(token.clone());
        Ok(token)
    }

    /// The flow finished (whatever its outcome): the next one may start.
    pub fn end(&self) {
        *self.waiting.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Cancels the waiting flow, if any (it then ends itself).
    pub fn cancel(&self) {
        if let Some(t) = &*self.waiting.lock().unwrap_or_else(|p| p.into_inner()) {
            t.cancel();
        }
    }
}

/// The fixes the last live check offered, per customer: the only writes "Fix it" may make,
/// so the webview cannot invent one.
#[derive(Debug, Default)]
pub struct OfferedFixes {
    by_profile: Mutex<HashMap<String, Vec<FixAction>>>,
}

impl OfferedFixes {
    /// Nothing offered.
    pub fn new() -> OfferedFixes {
        OfferedFixes::default()
    }

    /// What the latest check of `profile_id` offered (replaces the earlier offer).
    pub fn offer(&self, profile_id: &str, fixes: Vec<FixAction>) {
        self.by_profile
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(profile_id.to_string(), fixes);
    }

    /// `Ok` only when the latest check of `profile_id` offered `fix`.
    pub fn check(&self, profile_id: &str, fix: &FixAction) -> Result<(), GuardError> {
        let offered = self.by_profile.lock().unwrap_or_else(|p| p.into_inner());
        if offered.get(profile_id).is_some_and(|f| f.contains(fix)) {
            Ok(())
        } else {
            Err(GuardError::FixNotOffered)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_browser_flow_at_a_time() {
        let flows = BrowserFlows::new();
        let first = flows.begin().unwrap();
        assert_eq!(flows.begin().unwrap_err(), GuardError::BrowserBusy);
        assert_eq!(GuardError::BrowserBusy.code(), "browser_flow.busy");
        flows.cancel();
        assert!(first.is_cancelled(), "cancel reaches the waiting flow");
        assert!(flows.begin().is_err(), "cancelled is not yet ended");
        flows.end();
        let second = flows.begin().unwrap();
        assert!(!second.is_cancelled(), "a new flow gets a fresh token");
    }

    #[test]
    fn only_the_fixes_the_last_check_offered_for_that_customer() {
        let offered = OfferedFixes::new();
        let add = FixAction::AddRedirectUris {
            uris: vec!["https://acme.halopsa.com/auth/account/azureresponse".into()],
        };
        assert_eq!(
            offered.check("a", &FixAction::EnableIdTokens).unwrap_err(),
            GuardError::FixNotOffered,
            "nothing offered yet"
        );
        offered.offer("a", vec![FixAction::EnableIdTokens, add.clone()]);
        assert!(offered.check("a", &FixAction::EnableIdTokens).is_ok());
        assert!(offered.check("a", &add).is_ok());
        // Another customer, or another URI than the one offered, is refused.
        assert!(offered.check("b", &FixAction::EnableIdTokens).is_err());
        let other = FixAction::AddRedirectUris {
            uris: vec!["https://evil.example/".into()],
        };
        assert!(offered.check("a", &other).is_err());
        assert!(offered.check("a", &FixAction::Apply).is_err());
        // A newer check replaces the offer.
        offered.offer("a", vec![FixAction::Apply]);
        assert!(offered.check("a", &FixAction::EnableIdTokens).is_err());
        assert!(offered.check("a", &FixAction::Apply).is_ok());
        assert_eq!(GuardError::FixNotOffered.code(), "doctor.fix_not_offered");
    }
}
