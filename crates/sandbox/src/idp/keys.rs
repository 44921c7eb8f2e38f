//! Key material of the sandbox provider: its RSA signing key (generated at start, never
//! written anywhere) with the JWKS that publishes it, and the certificates registered for
//! an app, against which client assertions are verified.
//!
//! Crypto is library code: aws-lc-rs generates the key (fast even in debug builds) and
//! signs ([`crate::jws`]), `jsonwebtoken` verifies, `x509-parser` reads certificates.
//! Nothing here is hand-rolled beyond base64url and hashing the DER.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The provider's signing key.
pub(crate) struct SigningKey {
    kid: String,
    n: String,
    e: String,
    key: aws_lc_rs::rsa::KeyPair,
}

impl SigningKey {
    /// A fresh RSA-2048 key.
    pub(crate) fn generate() -> Result<SigningKey, String> {
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| "the RSA key could not be generated".to_string())?;
        let (n, e) = crate::jws::public_components(&key);
        // Entra's kids are short base64url strings derived from the key; so is this one.
        let mut h = Sha256::new();
        h.update(&n);
        h.update(&e);
        let kid = URL_SAFE_NO_PAD.encode(&h.finalize()[..20]);
        Ok(SigningKey {
            kid,
            n: URL_SAFE_NO_PAD.encode(n),
            e: URL_SAFE_NO_PAD.encode(e),
            key,
        })
    }

    /// The key id.
    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The key set, as Entra publishes it (`kty`, `use`, `kid`, `n`, `e`, `issuer`).
    pub(crate) fn jwks(&self, issuer: &str) -> Value {
        json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": self.n,
            "e": self.e,
            "issuer": issuer,
        }]})
    }

    /// Signs `claims` as an RS256 JWT with `typ: JWT` and this key's `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "kid": self.kid});
        crate::jws::sign_rs256(&header, claims, &self.key)
            .expect("signing with a freshly generated RSA key cannot fail")
    }

    /// Verifies a token this provider signed (for the Graph double or tests): signature,
    /// `exp`; returns the claims.
    pub(crate) fn verify(&self, token: &str) -> Option<Value> {
        let key = DecodingKey::from_rsa_components(&self.n, &self.e).ok()?;
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_aud = false;
        v.required_spec_claims = ["exp".to_string()].into();
        jsonwebtoken::decode::<Value>(token, &key, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// A certificate registered on an app (the public part only, as in Entra).
#[derive(Clone)]
pub(crate) struct RegisteredCert {
    /// base64url SHA-256 of the DER (`x5t#S256`).
    pub(crate) x5t_s256: String,
    /// base64url SHA-1 of the DER (`x5t`).
    pub(crate) x5t: String,
    /// Upper-case hex SHA-1 thumbprint, as the portal lists it.
    pub(crate) thumbprint: String,
    /// The subject, for the portal page.
    pub(crate) subject: String,
    /// Expiry (from the certificate).
    pub(crate) not_after: chrono::DateTime<chrono::Utc>,
    /// RSA modulus size in bits.
    pub(crate) key_bits: usize,
    /// PKCS#1 DER of the RSA public key.
    public_key: Vec<u8>,
}

impl RegisteredCert {
    /// Reads a certificate from PEM (`-----BEGIN CERTIFICATE-----`) or DER.
    pub(crate) fn parse(input: &[u8]) -> Result<RegisteredCert, String> {
        Self::parse_with_der(input).map(|(c, _)| c)
    }

    /// [`RegisteredCert::parse`], with the certificate's DER (what Graph's `key` holds).
    pub(crate) fn parse_with_der(input: &[u8]) -> Result<(RegisteredCert, Vec<u8>), String> {
        let der = match std::str::from_utf8(input) {
            Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => {
                pem_block(text, "CERTIFICATE")
                    .ok_or("the PEM CERTIFICATE block is not valid base64")?
            }
            _ => input.to_vec(),
        };
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let spki = &cert.tbs_certificate.subject_pki;
        let key_bits = match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa.key_size(),
            _ => return Err("the certificate's key is not RSA (Entra supports only RSA)".into()),
        };
        let not_after = chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
            .unwrap_or_default();
        let cert_info = RegisteredCert {
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
            x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&der)),
            thumbprint: Sha1::digest(&der)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect(),
            subject: cert.subject().to_string(),
            not_after,
            key_bits,
            public_key: spki.subject_public_key.data.to_vec(),
        };
        Ok((cert_info, der))
    }

    /// Verifies a client assertion's signature (PS256 or RS256) and returns its claims.
    /// Time and audience checks are the caller's (they have Entra error codes).
    pub(crate) fn verify_assertion(&self, jwt: &str, alg: Algorithm) -> Result<Value, ()> {
        let key = DecodingKey::from_rsa_der(&self.public_key);
        let mut v = Validation::new(alg);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        jsonwebtoken::decode::<Value>(jwt, &key, &v)
            .map(|d| d.claims)
            .map_err(|_| ())
    }
}

/// The header of a JWT, unverified.
pub(crate) fn jwt_header(jwt: &str) -> Option<Value> {
    let h = jwt.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()
}

/// `c_hash` / `at_hash` for RS256: base64url of the left half of SHA-256.
pub(crate) fn half_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(value.as_bytes())[..16])
}

/// PKCE S256: base64url(SHA-256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `n` random bytes, base64url.
pub(crate) fn random(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// The DER inside the first `-----BEGIN {label}-----` block of `pem` (RFC 7468), or
/// `None` without one or with bad base64. The provider's own reader: it shares no code
/// with the client it stands in for.
pub(crate) fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut lines = pem.lines().map(str::trim);
    lines.by_ref().find(|l| *l == begin)?;
    let mut body = String::new();
    for line in lines {
        if line == end {
            return STANDARD.decode(body).ok();
        }
        body.push_str(line);
    }
    None
}

/// Decodes standard base64 (HTTP Basic).
pub(crate) fn b64_std(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_what_it_publishes() {
        let k = SigningKey::generate().unwrap();
        let now = chrono::Utc::now().timestamp();
        let jwt = k.sign(&json!({"sub": "x", "exp": now + 60}));
        assert_eq!(jwt_header(&jwt).unwrap()["kid"], k.kid());
        assert_eq!(k.verify(&jwt).unwrap()["sub"], "x");
        let jwks = k.jwks("iss");
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_aud = false;
        assert!(jsonwebtoken::decode::<Value>(&jwt, &key, &v).is_ok());
        // A different key does not verify it.
        let other = SigningKey::generate().unwrap();
        assert!(other.verify(&jwt).is_none());
    }

    #[test]
    fn reads_the_test_certificate() {
        let pem = include_str!("../../../engine/tests/fixtures/client-cert.pem");
        let c = RegisteredCert::parse(pem.as_bytes()).unwrap();
        assert_eq!(c.key_bits, 2048);
        // From openssl, not from this code: `openssl x509 -outform der | openssl dgst
        // -sha256 -binary`, base64url without padding.
        assert_eq!(c.x5t_s256, "wt6qUW-bv7L7n_2jFp3brp0LmHg8be6GmSegMYZJDtc");
        let der = pem_block(pem, "CERTIFICATE").unwrap();
        assert_eq!(RegisteredCert::parse(&der).unwrap().x5t_s256, c.x5t_s256);
        assert_eq!(c.thumbprint.len(), 40);
        assert!(RegisteredCert::parse(b"junk").is_err());
    }

    #[test]
    fn pem_blocks_and_secret_comparison() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_block(pem, "CERTIFICATE"), Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_block(pem, "PRIVATE KEY"), None);
        assert_eq!(
            pem_block("-----BEGIN CERTIFICATE-----\nAAEC\n", "CERTIFICATE"),
            None
        );
        assert_eq!(
            pem_block(
                "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----",
                "CERTIFICATE"
            ),
            None
        );
    }

    #[test]
    fn pkce_and_hashes() {
        // RFC 7636 appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(half_hash("x").len(), 22);
    }
}
