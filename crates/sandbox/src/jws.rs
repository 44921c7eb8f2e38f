//! The sandbox provider's token signing: RS256 compact JWTs on aws-lc-rs, as Entra signs
//! its own tokens.
//!
//! The sandbox has its own copy rather than the engine's `jws` module: it is the other side
//! of the wire from the flows it stands in for, so a mistake in the engine's signing fails
//! against it instead of passing its own test. Only what a provider needs: RS256 and the
//! public key's components for the JWKS.

use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Signing failed (never seen with a key that loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing failed")]
pub struct SignError;

/// `header` (an object; `alg` is set to RS256 here) and `claims`, signed with `key`.
pub fn sign_rs256(header: &Value, claims: &Value, key: &RsaKeyPair) -> Result<String, SignError> {
    let mut header = header.clone();
    if let Some(h) = header.as_object_mut() {
        h.insert("alg".into(), Value::from("RS256"));
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| SignError)?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The public modulus `n` and exponent `e` of `key`, big-endian without leading zeros (a
/// JWK's `n` and `e` before base64url).
pub fn public_components(key: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
    use aws_lc_rs::signature::KeyPair as _;
    let public = key.public_key();
    (
        public.modulus().big_endian_without_leading_zero().to_vec(),
        public.exponent().big_endian_without_leading_zero().to_vec(),
    )
}
