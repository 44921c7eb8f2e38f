//! Signing compact JWTs (RFC 7515 / 7519) with RSA: the client assertions of the SSO test
//! and the sync preview (PS256) and the sandbox provider's tokens (RS256).
//!
//! Signing is aws-lc-rs's — the library the TLS stack already ships, with constant-time
//! private-key operations — never the `rsa` crate's, whose private-key operations leak
//! timing (RUSTSEC-2023-0071, no fixed release). Verification stays with `jsonwebtoken`,
//! which is built on its aws-lc-rs backend too.
//!
//! Left out: every algorithm but RS256 and PS256 (Entra's client assertions and ID tokens
//! use only these), encrypted keys (a .pfx is opened by the vault first) and JWE.

use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The RSA signature algorithms this crate signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256: the sandbox provider's tokens, as Entra signs its own.
    Rs256,
    /// RSASSA-PSS with SHA-256 and a 32-byte salt: client assertions, as Entra recommends.
    Ps256,
}

impl RsaAlg {
    fn name(self) -> &'static str {
        match self {
            RsaAlg::Rs256 => "RS256",
            RsaAlg::Ps256 => "PS256",
        }
    }

    fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            RsaAlg::Rs256 => &RSA_PKCS1_SHA256,
            RsaAlg::Ps256 => &RSA_PSS_SHA256,
        }
    }
}

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No `PRIVATE KEY` or `RSA PRIVATE KEY` PEM block.
    #[error("it is not an RSA private key in PEM (no PRIVATE KEY or RSA PRIVATE KEY block)")]
    NotPem,
    /// The block is not an RSA key aws-lc accepts (another algorithm, damaged, or outside
    /// 2048–8192 bits); `0` is aws-lc's reason, e.g. `TooSmall`.
    #[error(
        "it is not a usable RSA private key ({0}; RSA keys of 2048 to 8192 bits are supported)"
    )]
    Rejected(&'static str),
    /// Signing failed (never seen with a key that loaded).
    #[error("signing failed")]
    Sign,
}

/// An RSA key from PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) or PKCS#1
/// (`-----BEGIN RSA PRIVATE KEY-----`).
pub fn key_from_pem(pem: &str) -> Result<RsaKeyPair, KeyError> {
    let parsed = if let Some(der) = crate::oauth::pem_block(pem, "PRIVATE KEY") {
        RsaKeyPair::from_pkcs8(&der)
    } else if let Some(der) = crate::oauth::pem_block(pem, "RSA PRIVATE KEY") {
        RsaKeyPair::from_der(&der)
    } else {
        return Err(KeyError::NotPem);
    };
    parsed.map_err(|e| KeyError::Rejected(e.description_()))
}

/// `header` (an object; `alg` is set here) and `claims`, signed with `key`: the compact
/// serialization `base64url(header).base64url(claims).base64url(signature)`.
pub fn sign(
    header: &Value,
    claims: &Value,
    key: &RsaKeyPair,
    alg: RsaAlg,
) -> Result<String, KeyError> {
    let mut header = header.clone();
    if let Some(h) = header.as_object_mut() {
        h.insert("alg".into(), Value::from(alg.name()));
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        alg.encoding(),
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| KeyError::Sign)?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The public modulus `n` and exponent `e` of `key`, big-endian without leading zeros (as
/// a JWK's `n` and `e` carry them, before base64url).
pub fn public_components(key: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
    use aws_lc_rs::signature::KeyPair as _;
    let public = key.public_key();
    (
        public.modulus().big_endian_without_leading_zero().to_vec(),
        public.exponent().big_endian_without_leading_zero().to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    fn key() -> RsaKeyPair {
        RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap()
    }

    /// Verified independently by `jsonwebtoken`, from the public components alone.
    fn verify(jwt: &str, key: &RsaKeyPair, alg: Algorithm) -> Result<Value, String> {
        let (n, e) = public_components(key);
        let dk = DecodingKey::from_rsa_raw_components(&n, &e);
        let mut v = Validation::new(alg);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_aud = false;
        jsonwebtoken::decode::<Value>(jwt, &dk, &v)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ps256_and_rs256_verify_with_the_public_key() {
        let k = key();
        let claims = serde_json::json!({"sub": "x", "n": 1});
        for (alg, jwt_alg) in [
            (RsaAlg::Ps256, Algorithm::PS256),
            (RsaAlg::Rs256, Algorithm::RS256),
        ] {
            let jwt = sign(
                &serde_json::json!({"typ": "JWT", "kid": "k1"}),
                &claims,
                &k,
                alg,
            )
            .unwrap();
            assert_eq!(verify(&jwt, &k, jwt_alg).unwrap(), claims);
            let header: Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(jwt.split('.').next().unwrap())
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(header["alg"], alg.name());
            assert_eq!(header["kid"], "k1");
        }
    }

    #[test]
    fn another_key_or_a_changed_payload_does_not_verify() {
        let (a, b) = (key(), key());
        let jwt = sign(
            &serde_json::json!({}),
            &serde_json::json!({"sub": "x"}),
            &a,
            RsaAlg::Ps256,
        )
        .unwrap();
        assert!(verify(&jwt, &b, Algorithm::PS256).is_err());
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"y"}"#);
        parts[1] = &forged;
        assert!(verify(&parts.join("."), &a, Algorithm::PS256).is_err());
    }

    #[test]
    fn reads_pkcs8_and_pkcs1_pem_and_refuses_the_rest() {
        let pkcs8 = include_str!("../tests/fixtures/client-key.pem");
        let k = key_from_pem(pkcs8).unwrap();
        assert_eq!(k.public_modulus_len(), 256);
        let pkcs1 = key_from_pem(include_str!("../tests/fixtures/client-key-pkcs1.pem")).unwrap();
        assert_eq!(
            public_components(&pkcs1),
            public_components(&k),
            "the same key"
        );
        assert_eq!(key_from_pem("junk").unwrap_err(), KeyError::NotPem);
        assert!(matches!(
            key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::Rejected(_))
        ));
    }
}
