//! A hostile OpenID provider for the SSO-test suite: serves discovery, the key set, an
//! authorize endpoint that answers with an auto-submitting form_post page carrying
//! whatever the test case wants, and a token endpoint. Plus a scripted in-process
//! "browser" that can also send junk to the loopback listener.
//!
//! Test only; keys come from tests/fixtures.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const OTHER_TENANT: &str = "99999999-8888-4777-8666-555555555555";
pub const CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const CODE: &str = "hostile-code-0001";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Signing keys the provider can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    A,
    B,
    Attacker,
}

impl Key {
    fn pem(self) -> String {
        fixture(match self {
            Key::A => "op-key-a.pem",
            Key::B => "op-key-b.pem",
            Key::Attacker => "attacker-key.pem",
        })
    }
    pub fn kid(self) -> &'static str {
        match self {
            Key::A => "key-a",
            Key::B => "key-b",
            Key::Attacker => "key-zzz",
        }
    }
    fn jwk(self) -> Value {
        let enc = EncodingKey::from_rsa_pem(self.pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(self.kid().into());
        serde_json::to_value(jwk).unwrap()
    }
}

/// How a token is signed.
#[derive(Clone, Debug)]
pub enum Sign {
    /// RS256 with this key, header kid as given.
    Rs256(Key, Option<&'static str>),
    /// `alg: none`, empty signature.
    None,
    /// HS256 keyed with the public key's modulus text.
    Hs256WithPublicKey,
}

pub type Mutate = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// One test case.
#[derive(Clone)]
pub struct Scenario {
    /// `organizations` for a multi-tenant profile.
    pub segment: String,
    /// The tenant the user is in.
    pub tid: String,
    /// Key set served first, and after the first fetch.
    pub jwks_first: Vec<Key>,
    pub jwks_later: Vec<Key>,
    pub front_sign: Sign,
    pub front: Mutate,
    pub back_sign: Sign,
    pub back: Mutate,
    /// Replaces the form fields of the authorize answer (error responses); `state` is
    /// still filled in unless the list has one.
    pub callback_fields: Option<Vec<(String, String)>>,
    /// Token endpoint error for the code grant: (status, JSON body).
    pub redeem_error: Option<(u16, Value)>,
    /// Token endpoint error for client credentials.
    pub cc_error: Option<(u16, Value)>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            segment: TENANT.into(),
            tid: TENANT.into(),
            jwks_first: vec![Key::A],
            jwks_later: vec![Key::A],
            front_sign: Sign::Rs256(Key::A, Some("key-a")),
            front: Arc::new(|_| {}),
            back_sign: Sign::Rs256(Key::A, Some("key-a")),
            back: Arc::new(|_| {}),
            callback_fields: None,
            redeem_error: None,
            cc_error: None,
        }
    }
}

#[derive(Default)]
pub struct Counters {
    pub jwks_fetches: AtomicU32,
    pub token_calls: AtomicU32,
}

pub struct Hostile {
    pub port: u16,
    pub counters: Arc<Counters>,
}

impl Hostile {
    pub fn authority(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

struct Ctx {
    port: u16,
    scenario: Scenario,
    counters: Arc<Counters>,
    nonce: Mutex<String>,
}

/// Starts the provider for `scenario`.
pub async fn start(scenario: Scenario) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counters = Arc::new(Counters::default());
    let ctx = Arc::new(Ctx {
        port,
        scenario,
        counters: counters.clone(),
        nonce: Mutex::new(String::new()),
    });
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let ctx = ctx.clone();
            tokio::spawn(async move { handle(stream, &ctx).await });
        }
    });
    Hostile { port, counters }
}

pub async fn read_http(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let first = head.lines().next()?.to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut parts = first.split(' ');
    Some((parts.next()?.to_string(), parts.next()?.to_string(), body))
}

async fn reply(stream: &mut TcpStream, status: u16, ctype: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn sign(claims: &Value, how: &Sign) -> String {
    match how {
        Sign::Rs256(key, kid) => {
            let mut h = Header::new(Algorithm::RS256);
            h.kid = kid.map(str::to_string);
            jsonwebtoken::encode(
                &h,
                claims,
                &EncodingKey::from_rsa_pem(key.pem().as_bytes()).unwrap(),
            )
            .unwrap()
        }
        Sign::None => {
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            format!("{h}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
        }
        Sign::Hs256WithPublicKey => {
            let n = Key::A.jwk()["n"].as_str().unwrap().to_string();
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("key-a".into());
            jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(n.as_bytes())).unwrap()
        }
    }
}

fn id_claims(ctx: &Ctx, front: bool) -> Value {
    let s = &ctx.scenario;
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": format!("http://127.0.0.1:{}/{}/v2.0", ctx.port, s.tid),
        "aud": CLIENT, "tid": s.tid, "sub": "user-sub-1", "oid": "0b0b0b0b-1111-4222-8333-444455556666",
        "name": "Hostile Test", "preferred_username": "victim@contoso.test",
        "iat": now, "nbf": now, "exp": now + 3600, "nonce": *ctx.nonce.lock().unwrap(),
        "amr": ["pwd", "mfa"],
    });
    if front {
        c["c_hash"] = json!(URL_SAFE_NO_PAD.encode(&Sha256::digest(CODE.as_bytes())[..16]));
        (s.front)(&mut c);
    } else {
        (s.back)(&mut c);
    }
    c
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn handle(mut stream: TcpStream, ctx: &Ctx) {
    let Some((method, target, body)) = read_http(&mut stream).await else {
        return;
    };
    let s = &ctx.scenario;
    let base = format!("http://127.0.0.1:{}/{}", ctx.port, s.segment);
    let path = target.split('?').next().unwrap_or_default().to_string();
    if path.ends_with("/.well-known/openid-configuration") {
        let issuer = if s.segment == "organizations" {
            format!("http://127.0.0.1:{}/{{tenantid}}/v2.0", ctx.port)
        } else {
            format!("{base}/v2.0")
        };
        let doc = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "jwks_uri": format!("{base}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        reply(&mut stream, 200, "application/json", &doc.to_string()).await;
    } else if path.ends_with("/discovery/v2.0/keys") {
        let n = ctx.counters.jwks_fetches.fetch_add(1, Ordering::SeqCst);
        let keys = if n == 0 { &s.jwks_first } else { &s.jwks_later };
        let doc = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
        reply(&mut stream, 200, "application/json", &doc.to_string()).await;
    } else if path.ends_with("/oauth2/v2.0/authorize") {
        *ctx.nonce.lock().unwrap() = query_param(&target, "nonce").unwrap_or_default();
        let redirect = query_param(&target, "redirect_uri").unwrap_or_default();
        let state = query_param(&target, "state").unwrap_or_default();
        let mut fields = s.callback_fields.clone().unwrap_or_else(|| {
            vec![
                ("code".into(), CODE.into()),
                (
                    "id_token".into(),
                    sign(&id_claims(ctx, true), &s.front_sign),
                ),
            ]
        });
        if !fields.iter().any(|(k, _)| k == "state") {
            fields.push(("state".into(), state));
        }
        let inputs: String = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{k}\" value=\"{}\"/>",
                    v.replace('"', "&quot;")
                )
            })
            .collect();
        let html = format!(
            "<html><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{redirect}\">{inputs}</form></body></html>"
        );
        reply(&mut stream, 200, "text/html", &html).await;
    } else if path.ends_with("/oauth2/v2.0/token") && method == "POST" {
        ctx.counters.token_calls.fetch_add(1, Ordering::SeqCst);
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
        let get = |n: &str| {
            form.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if get("grant_type") == "authorization_code" {
            if let Some((status, err)) = &s.redeem_error {
                return reply(&mut stream, *status, "application/json", &err.to_string()).await;
            }
            let ok = get("code") == CODE
                && !get("code_verifier").is_empty()
                && !get("client_secret").is_empty();
            if !ok {
                return reply(
                    &mut stream,
                    400,
                    "application/json",
                    r#"{"error":"invalid_grant"}"#,
                )
                .await;
            }
            let body = json!({"access_token": "opaque", "token_type": "Bearer", "id_token": sign(&id_claims(ctx, false), &s.back_sign)});
            reply(&mut stream, 200, "application/json", &body.to_string()).await;
        } else {
            if let Some((status, err)) = &s.cc_error {
                return reply(&mut stream, *status, "application/json", &err.to_string()).await;
            }
            let at = sign(
                &json!({"aud": "https://graph.microsoft.com", "roles": ["User.Read.All"], "tid": s.tid}),
                &Sign::Rs256(Key::Attacker, None),
            );
            let body = json!({"access_token": at, "token_type": "bearer", "expires_in": 3599});
            reply(&mut stream, 200, "application/json", &body.to_string()).await;
        }
    } else {
        reply(&mut stream, 404, "text/plain", "not found").await;
    }
}

/// What the scripted browser does besides delivering the callback.
#[derive(Clone, Debug, Default)]
pub struct BrowserPlan {
    /// Send these junk requests first (their statuses are recorded).
    pub junk: Vec<Junk>,
    /// Post with a wrong state first.
    pub wrong_state_first: bool,
    /// Post only with a wrong state (never the right one).
    pub only_wrong_state: bool,
    /// Do nothing at all.
    pub idle: bool,
}

#[derive(Clone, Debug)]
pub enum Junk {
    OtherPath,
    Oversized,
    /// Half a request, then silence; waits for the listener's answer before going on.
    SlowLorisWaited,
    /// Half a request left open while the real callback goes through.
    SlowLorisOpen,
}

/// Statuses the junk requests got, in order.
pub type Seen = Arc<Mutex<Vec<u16>>>;

async fn raw(port: u16, request: &[u8]) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
        return 0;
    };
    let _ = s.write_all(request).await;
    let mut resp = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut resp)).await;
    String::from_utf8_lossy(&resp)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn post(port: u16, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The browser: GETs the authorize URL, parses the form, POSTs it to the loopback.
pub async fn browse(url: url::Url, plan: BrowserPlan, seen: Seen) {
    if plan.idle {
        return;
    }
    let client = reqwest::Client::new();
    let html = client
        .get(url.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = between(&html, "action=\"", "\"").unwrap();
    let target = url::Url::parse(&action).unwrap();
    let port = target.port().unwrap();
    let path = target.path().to_string();
    let body = form_body(&html);
    let mut _held = None;
    for j in &plan.junk {
        let status = match j {
            Junk::OtherPath => {
                raw(
                    port,
                    format!("GET /favicon.ico HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n")
                        .as_bytes(),
                )
                .await
            }
            Junk::Oversized => {
                let big = "x=".to_string() + &"a".repeat(70 * 1024);
                raw(port, &post(port, &path, &big)).await
            }
            Junk::SlowLorisWaited => {
                raw(
                    port,
                    format!("POST {path} HTTP/1.1\r\nHost: local").as_bytes(),
                )
                .await
            }
            Junk::SlowLorisOpen => {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                s.write_all(b"POST /entra-onboard/callback HTTP/1.1\r\nHo")
                    .await
                    .unwrap();
                _held = Some(s);
                continue;
            }
        };
        seen.lock().unwrap().push(status);
    }
    if plan.wrong_state_first || plan.only_wrong_state {
        let wrong = body.replace("state=", "state=WRONG");
        let status = raw(port, &post(port, &path, &wrong)).await;
        seen.lock().unwrap().push(status);
        if plan.only_wrong_state {
            return;
        }
    }
    let status = raw(port, &post(port, &path, &body)).await;
    seen.lock().unwrap().push(status);
}

fn form_body(html: &str) -> String {
    let mut fields = url::form_urlencoded::Serializer::new(String::new());
    let mut rest = html;
    while let Some(i) = rest.find("name=\"") {
        rest = &rest[i + 6..];
        let name = &rest[..rest.find('"').unwrap()];
        let value = between(rest, "value=\"", "\"")
            .unwrap()
            .replace("&quot;", "\"");
        fields.append_pair(name, &value);
    }
    fields.finish()
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)?;
    Some(s[i..i + j].to_string())
}
