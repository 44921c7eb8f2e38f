//! `addKey` and `removeKey` on an application: adding a certificate beside the current one
//! and removing one by its `keyId`, each only with a proof of possession signed by one of
//! the app's current, valid certificates — what an app (or a tool holding its key) uses to
//! roll its certificate without resending the whole `keyCredentials` collection.
//!
//! What the double checks, from the documentation:
//! - <https://learn.microsoft.com/graph/api/application-addkey?view=graph-rest-1.0>:
//!   `keyCredential` with `type` `AsymmetricX509Cert`, `usage` `Verify` and `key` required
//!   (`X509CertAndPassword`/`Sign` is not played); `passwordCredential` null for that type;
//!   an app without a valid certificate cannot use the action; `200 OK` and the new
//!   keyCredential.
//! - <https://learn.microsoft.com/graph/api/application-removekey?view=graph-rest-1.0>:
//!   `keyId` and `proof`; `204 No Content`.
//! - <https://learn.microsoft.com/graph/application-rollkey-prooftoken>: the proof is a JWT
//!   signed with the private key of one of the app's existing valid certificates; `aud`
//!   Microsoft Graph's appId `00000003-0000-0000-c000-000000000000` (earlier versions of the
//!   page and the addKey reference say `00000002-0000-0000-c000-000000000000`; both are
//!   accepted), `iss` the application's object id (not its appId), `nbf`, and `exp` at most
//!   10 minutes after `nbf`.
//!
//! Graph does not document the error body of a refused proof; the double answers `400
//! Request_BadRequest` with a message saying which check failed (what a test asserts on is
//! that nothing changed).

use base64::Engine as _;
use chrono::Utc;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::{Tenant, error, no_content, not_found, now, ok, ts, uuid};
use crate::idp::keys::{RegisteredCert, jwt_header};

/// The audiences a proof may name (see the module doc).
const AUDIENCES: [&str; 2] = [
    "00000003-0000-0000-c000-000000000000",
    "00000002-0000-0000-c000-000000000000",
];
/// Clock skew allowed on `nbf`/`exp`, in seconds.
const SKEW: i64 = 300;

fn bad(message: &str) -> axum::response::Response {
    error(400, "Request_BadRequest", message)
}

/// The app's certificates that are valid now: Graph's `endDateTime` not passed and the
/// certificate readable.
fn valid_certificates(app: &Value) -> Vec<RegisteredCert> {
    let now = now();
    app["keyCredentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| {
            k["endDateTime"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| t > now)
        })
        .filter_map(|k| {
            let der = base64::engine::general_purpose::STANDARD
                .decode(k["key"].as_str()?)
                .ok()?;
            RegisteredCert::parse(&der).ok()
        })
        .filter(|c| c.not_after > now)
        .collect()
}

/// Checks `proof` against `app`: signed by one of its valid certificates, with the
/// documented claims. `Err` is the message of the refusal.
fn check_proof(app: &Value, proof: Option<&str>) -> Result<(), String> {
    let Some(jwt) = proof.filter(|p| !p.is_empty()) else {
        return Err("The 'proof' parameter is required: a JWT signed with one of the application's valid certificates.".into());
    };
    let header = jwt_header(jwt).ok_or("The proof is not a JWT.")?;
    let alg = match header["alg"].as_str() {
        Some("RS256") => Algorithm::RS256,
        Some("PS256") => Algorithm::PS256,
        other => return Err(format!("The proof's algorithm {other:?} is not supported.")),
    };
    let s256 = header["x5t#S256"].as_str();
    let sha1 = header["x5t"].as_str();
    if s256.is_none() && sha1.is_none() {
        return Err("The proof names no certificate (no 'x5t' header).".into());
    }
    let certs = valid_certificates(app);
    if certs.is_empty() {
        return Err("The application has no valid certificate, so a proof of possession cannot be checked; use Update application (keyCredentials) instead.".into());
    }
    let cert = certs
        .iter()
        .find(|c| s256.is_some_and(|t| t == c.x5t_s256) || sha1.is_some_and(|t| t == c.x5t))
        .ok_or("The proof is not signed by one of the application's valid certificates.")?;
    let claims = cert
        .verify_assertion(jwt, alg)
        .map_err(|_| "The proof's signature does not verify with that certificate.".to_string())?;
    if !claims["aud"]
        .as_str()
        .is_some_and(|a| AUDIENCES.contains(&a))
    {
        return Err(format!(
            "The proof's 'aud' must be {}, not {}.",
            AUDIENCES[0], claims["aud"]
        ));
    }
    if claims["iss"].as_str() != app["id"].as_str() {
        return Err(
            "The proof's 'iss' must be the application's object id (not its appId).".into(),
        );
    }
    let now = Utc::now().timestamp();
    let (Some(nbf), Some(exp)) = (claims["nbf"].as_i64(), claims["exp"].as_i64()) else {
        return Err("The proof needs 'nbf' and 'exp'.".into());
    };
    if nbf > now + SKEW || exp + SKEW < now {
        return Err("The proof is not valid at this time (nbf/exp).".into());
    }
    if exp - nbf > 600 {
        return Err("The proof's lifetime must not exceed 10 minutes.".into());
    }
    Ok(())
}

/// `POST /applications/{id}/addKey`.
pub(super) fn add_key(t: &mut Tenant, id: &str, body: &Value) -> axum::response::Response {
    let Some(app) = t.applications.iter_mut().find(|a| a["id"] == id) else {
        return not_found(id);
    };
    if let Err(why) = check_proof(app, body["proof"].as_str()) {
        return bad(&why);
    }
    let kc = &body["keyCredential"];
    if kc["type"] != "AsymmetricX509Cert" || kc["usage"] != "Verify" {
        return bad(
            "keyCredential: type must be AsymmetricX509Cert with usage Verify (X509CertAndPassword is not played by this sandbox).",
        );
    }
    if !body["passwordCredential"].is_null() {
        return bad("passwordCredential must be null for an AsymmetricX509Cert key.");
    }
    let Some(der) = kc["key"]
        .as_str()
        .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
    else {
        return bad("keyCredential.key is required: the certificate's public part, base64.");
    };
    let cert = match RegisteredCert::parse(&der) {
        Ok(c) => c,
        Err(e) => return bad(&format!("keyCredential.key is not a certificate: {e}.")),
    };
    let key = base64::engine::general_purpose::STANDARD.encode(&der);
    let keys = app["keyCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if keys.iter().any(|k| k["key"] == key.as_str()) {
        return bad("This certificate is already on the application.");
    }
    let new = json!({
        "customKeyIdentifier": cert.thumbprint,
        "displayName": kc["displayName"].as_str().unwrap_or(&cert.subject),
        "endDateTime": ts(cert.not_after),
        "keyId": uuid(),
        "startDateTime": ts(now()),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": key,
    });
    let mut keys = keys;
    keys.push(new.clone());
    app["keyCredentials"] = Value::Array(keys);
    // The answer is the new keyCredential; `key` is returned only on $select (keycredential).
    let mut out = new;
    out["key"] = Value::Null;
    out["@odata.context"] =
        json!("https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.keyCredential");
    ok(200, out)
}

/// `POST /applications/{id}/removeKey`.
pub(super) fn remove_key(t: &mut Tenant, id: &str, body: &Value) -> axum::response::Response {
    let Some(app) = t.applications.iter_mut().find(|a| a["id"] == id) else {
        return not_found(id);
    };
    let Some(key_id) = body["keyId"].as_str() else {
        return bad("keyId is required.");
    };
    if let Err(why) = check_proof(app, body["proof"].as_str()) {
        return bad(&why);
    }
    let Some(keys) = app["keyCredentials"].as_array_mut() else {
        return not_found(key_id);
    };
    let before = keys.len();
    keys.retain(|k| k["keyId"].as_str() != Some(key_id));
    if keys.len() == before {
        return not_found(key_id);
    }
    no_content()
}
