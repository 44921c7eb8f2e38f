//! The provider's HTML: sign-in (pick a demo user), admin consent (Accept / Cancel), the
//! form_post page, error pages and the "portal". Every page has the SANDBOX banner, no
//! external resources (CSP `default-src 'none'`; the only scripts are the form_post
//! auto-submit, as on Entra, and the portal's Copy buttons), is `no-store`, cannot be framed, and escapes every value.
//!
//! Forms use `<button name=… value=…>` for the choice so that one form serves every
//! choice (the scripted test browser submits the first named button unless
//! `SCRIPTED_BROWSER_CHOICE` names another).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::sso_test::loopback::html_escape as esc;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f3f2f1;color:#1b1b1b}\
.banner{background:#8a1c00;color:#fff;padding:10px 16px;font-weight:700;letter-spacing:.04em}\
.banner small{font-weight:400;letter-spacing:0;display:block}\
main{max-width:760px;margin:24px auto;background:#fff;padding:24px 32px;border-radius:4px;box-shadow:0 2px 6px rgba(0,0,0,.15)}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6em}\
button{display:block;width:100%;text-align:left;margin:8px 0;padding:12px;font-size:1rem;border:1px solid #8a8886;background:#fff;border-radius:2px;cursor:pointer}\
button:hover,button:focus{background:#edebe9;outline:2px solid #0067b8}\
button.primary{background:#0067b8;color:#fff;text-align:center}button.primary:hover,button.primary:focus{background:#005da6}\
.row{display:flex;gap:12px}.row button{text-align:center}\
code,.copy{font-family:ui-monospace,Consolas,monospace;background:#f3f2f1;padding:2px 4px;user-select:all;word-break:break-all}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #edebe9;padding:6px;text-align:left;vertical-align:top}\
.err{border-left:4px solid #a80000;padding-left:12px}.muted{color:#605e5c;font-size:.9rem}\
.kv th{width:34%}.kv .copyable{white-space:nowrap}.kv .copyable .copy{word-break:normal}\
button.copy-btn{display:inline-block;width:auto;margin:0 0 0 8px;padding:2px 10px;font-size:.85rem;text-align:center;vertical-align:baseline}";

/// The portal's Copy buttons: the value from `data-copy` to the clipboard (loopback is a
/// secure context), with a select-and-copy fallback. Inline, as the page allows no source.
const COPY_SCRIPT: &str = "document.addEventListener('click',function(e){var b=e.target.closest('button[data-copy]');if(!b)return;\
var v=b.getAttribute('data-copy');function done(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy'},1500)}\
function fallback(){var t=document.createElement('textarea');t.value=v;document.body.appendChild(t);t.select();try{document.execCommand('copy');done()}catch(_){}t.remove()}\
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(v).then(done,fallback)}else{fallback()}});";

/// A value to copy, as the portal shows IDs and secrets: selectable, with a Copy button.
fn copyable(value: &str) -> String {
    let v = esc(value);
    format!(
        "<span class=\"copyable\"><span class=\"copy\">{v}</span><button type=\"button\" class=\"copy-btn\" data-copy=\"{v}\">Copy</button></span>"
    )
}

/// A full page with the SANDBOX banner.
pub(crate) fn page(status: StatusCode, title: &str, body: &str, script: Option<&str>) -> Response {
    let script_tag = script
        .map(|s| format!("<script>{s}</script>"))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>SANDBOX · {title}</title><style>{STYLE}</style></head><body>\
<div class=\"banner\" role=\"banner\">SANDBOX — practice tenant, not Microsoft<small>Entra Onboard's built-in practice provider on this computer. Nothing here is a real tenant, user or secret.</small></div>\
<main>{body}</main>{script_tag}</body></html>",
        title = esc(title)
    );
    let csp = if script.is_some() {
        // The form_post page submits itself, as Entra's does; the portal's Copy buttons.
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    } else {
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    };
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // Not `no-referrer`: with it, browsers send `Origin: null` on this page's own form
    // posts, which the sandbox refuses as cross-origin (see `sandbox::guard`).
    // `same-origin` still sends no Referer to any other site (the loopback callback).
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The account picker.
pub(crate) fn sign_in(txn: &str, app_name: &str, users: &[super::DemoUser]) -> Response {
    let mut buttons = String::new();
    for u in users {
        buttons.push_str(&format!(
            "<button type=\"submit\" name=\"user\" value=\"{}\"><strong>{}</strong><br><span class=\"muted\">{} · {}</span></button>",
            esc(u.username),
            esc(u.name),
            esc(u.username),
            if u.mfa {
                "password + MFA (amr: pwd, mfa)"
            } else {
                "password only (amr: pwd)"
            }
        ));
    }
    let body = format!(
        "<h1>Sign in to {tenant}</h1><p><strong>{app}</strong> wants to sign you in. Pick a demo account — there is no password to type in the sandbox.</p>\
<form method=\"post\" action=\"/sandbox/signin\"><input type=\"hidden\" name=\"txn\" value=\"{txn}\">{buttons}\
<button type=\"submit\" name=\"action\" value=\"cancel\">Cancel (returns access_denied, like closing the sign-in)</button></form>\
<p class=\"muted\">In Microsoft Entra this page asks for the password and, for accounts with MFA, a second factor.</p>",
        tenant = esc(super::SANDBOX_TENANT_NAME),
        app = esc(app_name),
        txn = esc(txn),
    );
    page(StatusCode::OK, "Sign in", &body, None)
}

/// The admin-consent prompt.
pub(crate) fn consent(txn: &str, app_name: &str, client_id: &str, roles: &[String]) -> Response {
    let list: String = if roles.is_empty() {
        "<li>Sign in and read user profile (delegated)</li>".into()
    } else {
        roles
            .iter()
            .map(|r| format!("<li><code>{}</code> (Application)</li>", esc(r)))
            .collect()
    };
    let admin = &super::DEMO_USERS[0];
    let body = format!(
        "<h1>Permissions requested</h1><p><strong>{app}</strong> <span class=\"muted\">(<code>{cid}</code>)</span> wants these permissions in <strong>{tenant}</strong>:</p><ul>{list}</ul>\
<p>Signed in as <strong>{admin}</strong> ({upn}), Global Administrator. Accepting consents on behalf of your whole organisation.</p>\
<form method=\"post\" action=\"/sandbox/consent\"><input type=\"hidden\" name=\"txn\" value=\"{txn}\"><div class=\"row\">\
<button type=\"submit\" class=\"primary\" name=\"decision\" value=\"accept\">Accept</button>\
<button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button></div></form>",
        app = esc(app_name),
        cid = esc(client_id),
        tenant = esc(super::SANDBOX_TENANT_NAME),
        admin = esc(admin.name),
        upn = esc(admin.username),
        txn = esc(txn),
    );
    page(StatusCode::OK, "Permissions requested", &body, None)
}

/// `response_mode=form_post`: a form that posts itself to the redirect URI.
pub(crate) fn form_post(action: &str, fields: &[(String, String)]) -> Response {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let body = format!(
        "<h1>Working…</h1><p>Returning to the app at <code>{a}</code>.</p><form method=\"POST\" name=\"hiddenform\" action=\"{a}\">{inputs}\
<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\"></noscript></form>",
        a = esc(action)
    );
    page(
        StatusCode::OK,
        "Working…",
        &body,
        Some("document.forms[0].submit();"),
    )
}

/// An error Entra shows instead of redirecting (AADSTS50011, 700016, 90002…).
pub(crate) fn error(e: &super::errors::AadError) -> Response {
    let t = super::errors::Trace::new();
    let body = format!(
        "<h1>Sign in</h1><div class=\"err\"><p><strong>Sorry, but we’re having trouble signing you in.</strong></p><p>{}</p></div>\
<h2>Troubleshooting details</h2><table><tr><th>Request Id</th><td><code>{}</code></td></tr><tr><th>Correlation Id</th><td><code>{}</code></td></tr>\
<tr><th>Timestamp</th><td>{}</td></tr><tr><th>Message</th><td>{}</td></tr></table>\
<p class=\"muted\">This is the sandbox's copy of Entra's error page. The same error from Microsoft carries the same AADSTS code.</p>",
        esc(&e.headline()),
        esc(&t.trace_id),
        esc(&t.correlation_id),
        esc(&t.timestamp),
        esc(&e.headline()),
    );
    page(StatusCode::BAD_REQUEST, "Sign in error", &body, None)
}

/// A plain message page.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text));
    page(status, title, &body, None)
}

/// What the portal page shows.
pub(crate) struct PortalApp {
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) object_id: String,
    pub(crate) public_client: bool,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) secrets: Vec<(String, String, String, String)>,
    pub(crate) certificates: Vec<(String, String, String)>,
    pub(crate) required_roles: Vec<String>,
    pub(crate) granted_roles: Vec<String>,
    pub(crate) id_tokens: bool,
}

/// The "portal": the sandbox tenant and its app registrations, like Entra's overview,
/// Authentication, Certificates & secrets and API permissions blades on one page.
pub(crate) fn portal(base: &str, apps: &[PortalApp], users: &[super::DemoUser]) -> Response {
    let tid = super::SANDBOX_TENANT_ID;
    let mut s = format!(
        "<h1>{tenant}</h1><table class=\"kv\"><tr><th>Directory (tenant) ID</th><td>{tid}</td></tr>\
<tr><th>Primary domain</th><td><code>{domain}</code></td></tr>\
<tr><th>Sign-in address</th><td>{base}</td></tr></table>\
<p class=\"muted\">The app's practice customer already signs in here. A profile used from the command line does too when its <code>authority</code> is this address.</p>",
        tenant = esc(super::SANDBOX_TENANT_NAME),
        tid = copyable(tid),
        domain = esc(super::SANDBOX_TENANT_DOMAIN),
        base = copyable(base),
    );
    for a in apps {
        s.push_str(&format!(
            "<h2>App registration: {name}</h2><table class=\"kv\"><tr><th>Application (client) ID</th><td>{cid}</td></tr>\
<tr><th>Object ID</th><td><code>{oid}</code></td></tr><tr><th>Directory (tenant) ID</th><td>{tid}</td></tr>\
<tr><th>Client type</th><td>{kind}</td></tr><tr><th>ID tokens (implicit grant and hybrid flows)</th><td>{idt}</td></tr></table>",
            name = esc(&a.name),
            cid = copyable(&a.client_id),
            tid = copyable(tid),
            oid = esc(&a.object_id),
            kind = if a.public_client {
                "Public client (Mobile and desktop applications)"
            } else {
                "Confidential (Web)"
            },
            idt = if a.id_tokens { "Enabled" } else { "Not enabled" },
        ));
        s.push_str("<h3>Authentication · Redirect URIs</h3><ul>");
        for u in &a.redirect_uris {
            s.push_str(&format!("<li><code>{}</code></li>", esc(u)));
        }
        if a.redirect_uris.is_empty() {
            s.push_str("<li class=\"muted\">none</li>");
        }
        s.push_str("</ul><p class=\"muted\">As in Entra, the port of a <code>http://localhost</code> redirect URI is ignored; the path must match exactly.</p>");
        if !a.public_client {
            s.push_str("<h3>Certificates &amp; secrets · Client secrets</h3><table><tr><th>Description</th><th>Expires</th><th>Value</th><th>Secret ID</th></tr>");
            for (desc, expires, value, id) in &a.secrets {
                s.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                    esc(desc),
                    esc(expires),
                    copyable(value),
                    esc(id)
                ));
            }
            s.push_str("</table><p><strong>Paste the Value, not the Secret ID.</strong> The Secret ID is a GUID that names the secret; Entra refuses it as a secret (AADSTS7000215). Real Entra shows the Value only once, right after you create it.</p>");
            s.push_str("<h3>Certificates &amp; secrets · Certificates</h3>");
            if a.certificates.is_empty() {
                s.push_str("<p class=\"muted\">No certificate uploaded yet. Creating a certificate in step 3 of the practice customer uploads it here, as you would in Entra.</p>");
            } else {
                s.push_str(
                    "<table><tr><th>Thumbprint (SHA-1)</th><th>Subject</th><th>Expires</th></tr>",
                );
                for (thumb, subject, expires) in &a.certificates {
                    s.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        esc(thumb),
                        esc(subject),
                        esc(expires)
                    ));
                }
                s.push_str("</table>");
            }
            s.push_str("<h3>API permissions (Microsoft Graph, Application)</h3><table><tr><th>Permission</th><th>Status</th></tr>");
            for r in &a.required_roles {
                let granted = a.granted_roles.contains(r);
                s.push_str(&format!(
                    "<tr><td><code>{}</code></td><td>{}</td></tr>",
                    esc(r),
                    if granted {
                        format!("Granted for {}", esc(super::SANDBOX_TENANT_NAME))
                    } else {
                        "Not granted — use the admin-consent link (step 4)".into()
                    }
                ));
            }
            s.push_str("</table>");
        }
    }
    s.push_str("<h2>Demo users</h2><table><tr><th>User</th><th>Sign-in</th><th>Role</th></tr>");
    for u in users {
        s.push_str(&format!(
            "<tr><td>{}<br><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(u.name),
            esc(u.username),
            if u.mfa {
                "password + MFA"
            } else {
                "password only"
            },
            esc(u.role)
        ));
    }
    s.push_str("</table>");
    s.push_str(&format!(
        "<h2>Endpoints</h2><table class=\"kv\"><tr><th>OpenID Connect metadata</th><td><code>{b}/{tid}/v2.0/.well-known/openid-configuration</code></td></tr>\
<tr><th>Authorize</th><td><code>{b}/{tid}/oauth2/v2.0/authorize</code></td></tr><tr><th>Token</th><td><code>{b}/{tid}/oauth2/v2.0/token</code></td></tr>\
<tr><th>Admin consent</th><td><code>{b}/{tid}/v2.0/adminconsent</code></td></tr></table>",
        b = esc(base)
    ));
    page(StatusCode::OK, "Sandbox portal", &s, Some(COPY_SCRIPT))
}
