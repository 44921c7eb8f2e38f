//! Property tests of one loopback connection, hyper's parsing and our routing together
//! ([`serve`] on an in-memory stream): any bytes a local process or a browser can send end
//! in a refusal or a callback, never a panic; a callback is only ever one that carries the
//! right `state`. The connection handling around it (deadlines, connection limits) is
//! tested in `loopback.rs`.

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const STATE: &str = "st4te-Value_0123456789";

/// Sends `bytes` on one connection (then shuts down the sending side) and returns what
/// the listener decided and the raw answer.
fn handle(bytes: &[u8]) -> (Event, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serving = serve(
            server,
            Arc::from(STATE),
            WIZARD_CALLBACK_PATH,
            Limits::default(),
            Arc::new(AtomicBool::new(false)),
            CancellationToken::new(),
        );
        let browser = async {
            let _ = client.write_all(bytes).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            answer
        };
        tokio::join!(serving, browser)
    })
}

/// The decoded fields a request carries in its query and body: the whole body and, when
/// a Content-Length names less, the part of it the listener reads.
fn fields(target: &str, body: &[u8], length: Option<&str>) -> Vec<(String, String)> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or_default();
    let declared = length
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|n| *n <= body.len())
        .map_or(body, |n| &body[..n]);
    url::form_urlencoded::parse(query.as_bytes())
        .chain(url::form_urlencoded::parse(body))
        .chain(url::form_urlencoded::parse(declared))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A request-shaped byte string: a plausible request line and headers with arbitrary
/// parts; with the target, body and declared length it was made from.
fn request_like() -> impl Strategy<Value = (Vec<u8>, String, Vec<u8>, Option<String>)> {
    let method = prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        "[A-Z]{0,8}",
        any::<String>(),
    ];
    let target = prop_oneof![
        Just(WIZARD_CALLBACK_PATH.to_string()),
        Just(format!("{WIZARD_CALLBACK_PATH}?state={STATE}&code=c")),
        any::<String>().prop_map(|q| format!("{WIZARD_CALLBACK_PATH}?{q}")),
        "[ -~]{0,40}",
    ];
    let host = prop_oneof![
        Just("localhost:1234".to_string()),
        Just("127.0.0.1".to_string()),
        Just("[::1]:80".to_string()),
        any::<String>(),
    ];
    let content_type = prop_oneof![
        Just("application/x-www-form-urlencoded".to_string()),
        any::<String>(),
    ];
    let body = prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..512),
        // Fields that reach the callback: the right or a wrong state, duplicates,
        // percent-encoded junk.
        (
            prop_oneof![Just(STATE.to_string()), any::<String>()],
            any::<String>(),
            any::<bool>()
        )
            .prop_map(|(state, code, twice)| {
                let mut f = url::form_urlencoded::Serializer::new(String::new());
                f.append_pair("state", &state).append_pair("code", &code);
                if twice {
                    f.append_pair("code", "again");
                }
                f.finish().into_bytes()
            }),
    ];
    let length = prop_oneof![
        Just(None),
        any::<u64>().prop_map(|n| Some(n.to_string())),
        any::<String>().prop_map(Some),
    ];
    (
        method,
        target,
        host,
        content_type,
        body,
        length,
        any::<bool>(),
    )
        .prop_map(|(method, target, host, ct, body, length, exact_length)| {
            let length = if exact_length {
                Some(body.len().to_string())
            } else {
                length
            };
            let mut out =
                format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ct}\r\n");
            if let Some(l) = &length {
                out.push_str(&format!("Content-Length: {l}\r\n"));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            (bytes, target, body, length)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes never hold `state=st4te-Value_0123456789`, so they never make a callback.
    #[test]
    fn arbitrary_bytes_never_panic_nor_make_a_callback(
        bytes in prop::collection::vec(any::<u8>(), 0..4096)
    ) {
        let (event, _) = handle(&bytes);
        prop_assert!(matches!(event, Event::Ignored(_)));
        // Also as the body of a well-formed form post, where route() reads it.
        let mut post = format!(
            "POST {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            bytes.len()
        ).into_bytes();
        post.extend_from_slice(&bytes);
        let (event, answer) = handle(&post);
        prop_assert!(matches!(event, Event::Ignored(_)));
        prop_assert!(answer.starts_with(b"HTTP/1.1 400 "), "{:?}", String::from_utf8_lossy(&answer));
    }

    #[test]
    fn a_callback_always_carries_the_right_state(
        (bytes, target, body, length) in request_like()
    ) {
        if let (Event::Valid(cb), answer) = handle(&bytes) {
            // The only way through: a state field equal to STATE, and a result field.
            let f = fields(&target, &body, length.as_deref());
            prop_assert!(f.iter().any(|(k, v)| k == "state" && v == STATE), "{f:?}");
            prop_assert!(
                cb.code.is_some() || cb.id_token.is_some() || cb.error.is_some() || cb.admin_consent.is_some()
            );
            prop_assert!(answer.starts_with(b"HTTP/1.1 200 "));
        }
    }

    #[test]
    fn a_well_formed_form_post_is_accepted(code in "[A-Za-z0-9._~-]{1,200}") {
        let body = format!("state={STATE}&code={code}");
        let bytes = format!(
            "POST {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost:5000\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (event, answer) = handle(bytes.as_bytes());
        let Event::Valid(cb) = event else {
            return Err(TestCaseError::fail(format!("{event:?}")));
        };
        prop_assert_eq!(cb.via, Via::FormPost);
        prop_assert_eq!(cb.code.as_ref().map(|c| c.expose().as_str()), Some(code.as_str()));
        prop_assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}
