//! The provider's HTML: sign-in (pick a demo user), admin consent (Accept / Cancel), the
//! form_post page, error pages and the "portal". Every page has the SANDBOX banner, no
//! external resources (CSP `default-src 'none'`; the only scripts are the portal's Copy
//! buttons and the form_post
//! auto-submit, as on Entra), is `no-store`, cannot be framed, and escapes every value:
//! the pages are maud templates, checked at compile time, and maud escapes every value it
//! splices in.
//!
//! Forms use `<button name=… value=…>` for the choice so that one form serves every
//! choice (the scripted test browser submits the first named button unless
//! `SCRIPTED_BROWSER_CHOICE` names another).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

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
fn copyable(value: &str) -> Markup {
    html! {
        span.copyable { span.copy { (value) } button.copy-btn type="button" data-copy=(value) { "Copy" } }
    }
}

/// A full page with the SANDBOX banner.
pub(crate) fn page(
    status: StatusCode,
    title: &str,
    body: Markup,
    script: Option<&str>,
) -> Response {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="robots" content="noindex";
                title { "SANDBOX · " (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                div.banner role="banner" {
                    "SANDBOX — practice tenant, not Microsoft"
                    small { "Entra Onboard's built-in practice provider on this computer. Nothing here is a real tenant, user or secret." }
                }
                main { (body) }
                @if let Some(s) = script { script { (PreEscaped(s)) } }
            }
        }
    }
    .into_string();
    let csp = if script.is_some() {
        // The form_post page submits itself, as Entra's does.
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
    let body = html! {
        h1 { "Sign in to " (super::SANDBOX_TENANT_NAME) }
        p { strong { (app_name) } " wants to sign you in. Pick a demo account — there is no password to type in the sandbox." }
        form method="post" action="/sandbox/signin" {
            input type="hidden" name="txn" value=(txn);
            @for u in users {
                button type="submit" name="user" value=(u.username) {
                    strong { (u.name) }
                    br;
                    span.muted {
                        (u.username) " · "
                        @if u.mfa { "password + MFA (amr: pwd, mfa)" } @else { "password only (amr: pwd)" }
                    }
                }
            }
            button type="submit" name="action" value="cancel" { "Cancel (returns access_denied, like closing the sign-in)" }
        }
        p.muted { "In Microsoft Entra this page asks for the password and, for accounts with MFA, a second factor." }
    };
    page(StatusCode::OK, "Sign in", body, None)
}

/// The admin-consent prompt.
pub(crate) fn consent(txn: &str, app_name: &str, client_id: &str, roles: &[String]) -> Response {
    let admin = &super::DEMO_USERS[0];
    let body = html! {
        h1 { "Permissions requested" }
        p {
            strong { (app_name) } " " span.muted { "(" code { (client_id) } ")" }
            " wants these permissions in " strong { (super::SANDBOX_TENANT_NAME) } ":"
        }
        ul {
            @if roles.is_empty() {
                li { "Sign in and read user profile (delegated)" }
            }
            @for r in roles {
                li { code { (r) } " (Application)" }
            }
        }
        p {
            "Signed in as " strong { (admin.name) } " (" (admin.username) "), Global Administrator. "
            "Accepting consents on behalf of your whole organisation."
        }
        form method="post" action="/sandbox/consent" {
            input type="hidden" name="txn" value=(txn);
            div.row {
                button type="submit" class="primary" name="decision" value="accept" { "Accept" }
                button type="submit" name="decision" value="cancel" { "Cancel" }
            }
        }
    };
    page(StatusCode::OK, "Permissions requested", body, None)
}

/// `response_mode=form_post`: a form that posts itself to the redirect URI.
pub(crate) fn form_post(action: &str, fields: &[(String, String)]) -> Response {
    let body = html! {
        h1 { "Working…" }
        p { "Returning to the app at " code { (action) } "." }
        form method="POST" name="hiddenform" action=(action) {
            @for (k, v) in fields {
                input type="hidden" name=(k) value=(v);
            }
            noscript {
                p { "Script is disabled. Click Submit to continue." }
                input type="submit" value="Submit";
            }
        }
    };
    page(
        StatusCode::OK,
        "Working…",
        body,
        Some("document.forms[0].submit();"),
    )
}

/// An error Entra shows instead of redirecting (AADSTS50011, 700016, 90002…).
pub(crate) fn error(e: &super::errors::AadError) -> Response {
    let t = super::errors::Trace::new();
    let headline = e.headline();
    let body = html! {
        h1 { "Sign in" }
        div.err {
            p { strong { "Sorry, but we’re having trouble signing you in." } }
            p { (headline) }
        }
        h2 { "Troubleshooting details" }
        table {
            tr { th { "Request Id" } td { code { (t.trace_id) } } }
            tr { th { "Correlation Id" } td { code { (t.correlation_id) } } }
            tr { th { "Timestamp" } td { (t.timestamp) } }
            tr { th { "Message" } td { (headline) } }
        }
        p.muted { "This is the sandbox's copy of Entra's error page. The same error from Microsoft carries the same AADSTS code." }
    };
    page(StatusCode::BAD_REQUEST, "Sign in error", body, None)
}

/// A plain message page.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, html! { h1 { (title) } p { (text) } }, None)
}

/// What the portal page shows.
pub(crate) struct PortalApp {
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) object_id: String,
    pub(crate) public_client: bool,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) secrets: Vec<PortalSecret>,
    /// (thumbprint, subject, expires)
    pub(crate) certificates: Vec<(String, String, String)>,
    /// (name, issuer, subject, audience)
    pub(crate) federated: Vec<(String, String, String, String)>,
    pub(crate) required_roles: Vec<String>,
    pub(crate) granted_roles: Vec<String>,
    pub(crate) id_tokens: bool,
    pub(crate) service_principal: bool,
    /// Delegated scopes an admin consented to for all users (`None`: no consent).
    pub(crate) consented_scopes: Option<Vec<String>>,
}

/// A client secret on the portal page.
pub(crate) struct PortalSecret {
    pub(crate) description: String,
    pub(crate) expires: String,
    /// The Value: the sandbox shows it for practice; real Entra shows it once.
    pub(crate) value: Option<String>,
    pub(crate) id: String,
}

/// The "portal": the sandbox tenant and its app registrations, like Entra's overview,
/// Authentication, Certificates & secrets and API permissions blades on one page.
pub(crate) fn portal(base: &str, apps: &[PortalApp], users: &[super::DemoUser]) -> Response {
    let tid = super::SANDBOX_TENANT_ID;
    let body = html! {
        h1 { (super::SANDBOX_TENANT_NAME) }
        table.kv {
            tr { th { "Directory (tenant) ID" } td { (copyable(tid)) } }
            tr { th { "Primary domain" } td { code { (super::SANDBOX_TENANT_DOMAIN) } } }
            tr { th { "Sign-in address" } td { (copyable(base)) } }
        }
        p.muted {
            "Practice customers sign in here. A profile used from the command line does too when its "
            code { "authority" } " is this address; Microsoft Graph is at " code { (base) "/v1.0" } "."
        }
        @if apps.iter().all(|a| a.public_client) {
            p { strong { "No app registration yet." } " Create one from step 2 of the practice customer (\"Create it for me\"); it appears here." }
        }
        @for a in apps { (portal_app(a, tid)) }
        h2 { "Demo users" }
        table {
            tr { th { "User" } th { "Sign-in" } th { "Role" } }
            @for u in users {
                tr {
                    td { (u.name) br; code { (u.username) } }
                    td { @if u.mfa { "password + MFA" } @else { "password only" } }
                    td { (u.role) }
                }
            }
        }
        h2 { "Endpoints" }
        table.kv {
            tr { th { "OpenID Connect metadata" } td { code { (base) "/" (tid) "/v2.0/.well-known/openid-configuration" } } }
            tr { th { "Authorize" } td { code { (base) "/" (tid) "/oauth2/v2.0/authorize" } } }
            tr { th { "Token" } td { code { (base) "/" (tid) "/oauth2/v2.0/token" } } }
            tr { th { "Admin consent" } td { code { (base) "/" (tid) "/v2.0/adminconsent" } } }
        }
    };
    page(StatusCode::OK, "Sandbox portal", body, Some(COPY_SCRIPT))
}

/// One app registration on the portal page.
fn portal_app(a: &PortalApp, tid: &str) -> Markup {
    html! {
        h2 { "App registration: " (a.name) }
        table.kv {
            tr { th { "Application (client) ID" } td { (copyable(&a.client_id)) } }
            tr { th { "Object ID" } td { code { (a.object_id) } } }
            tr { th { "Directory (tenant) ID" } td { (copyable(tid)) } }
            tr {
                th { "Client type" }
                td { @if a.public_client { "Public client (Mobile and desktop applications)" } @else { "Confidential (Web)" } }
            }
            tr {
                th { "ID tokens (implicit grant and hybrid flows)" }
                td { @if a.id_tokens { "Enabled" } @else { "Not enabled" } }
            }
        }
        h3 { "Authentication · Redirect URIs" }
        ul {
            @for u in &a.redirect_uris { li { code { (u) } } }
            @if a.redirect_uris.is_empty() { li.muted { "none" } }
        }
        p.muted { "As in Entra, the port of a " code { "http://localhost" } " redirect URI is ignored; the path must match exactly." }
        @if !a.public_client {
            h3 { "Certificates & secrets · Client secrets" }
            table {
                tr { th { "Description" } th { "Expires" } th { "Value" } th { "Secret ID" } }
                @for x in &a.secrets {
                    tr {
                        td { (x.description) } td { (x.expires) }
                        td { @if let Some(v) = &x.value { (copyable(v)) } @else { span.muted { "(hidden)" } } }
                        td { code { (x.id) } }
                    }
                }
                @if a.secrets.is_empty() { tr { td.muted colspan="4" { "No client secret." } } }
            }
            form method="post" action="/sandbox/new-secret" {
                input type="hidden" name="client_id" value=(a.client_id);
                label { "Description " input name="description" value="Entra Onboard rotation"; }
                " "
                button type="submit" { "New client secret" }
                span.muted { " (180 days; the Value appears in the list above)" }
            }
            p {
                strong { "Paste the Value, not the Secret ID." }
                " The Secret ID is a GUID that names the secret; Entra refuses it as a secret (AADSTS7000215). Real Entra shows the Value only once, right after you create it."
            }
            h3 { "Certificates & secrets · Certificates" }
            @if a.certificates.is_empty() {
                p.muted { "No certificate uploaded yet. Creating a certificate in step 3 of the practice customer uploads it here, as you would in Entra." }
            } @else {
                table {
                    tr { th { "Thumbprint (SHA-1)" } th { "Subject" } th { "Expires" } }
                    @for (thumb, subject, expires) in &a.certificates {
                        tr { td { code { (thumb) } } td { (subject) } td { (expires) } }
                    }
                }
            }
            form method="post" action="/sandbox/upload-certificate" {
                input type="hidden" name="client_id" value=(a.client_id);
                label { "Upload certificate (paste the .pem text; the public key only) " textarea name="certificate" rows="3" cols="64" {} }
                " "
                button type="submit" { "Upload certificate" }
            }
            h3 { "Certificates & secrets · Federated credentials" }
            @if a.federated.is_empty() {
                p.muted { "No federated credential." }
            } @else {
                table {
                    tr { th { "Name" } th { "Issuer" } th { "Subject" } th { "Audience" } }
                    @for (name, issuer, subject, aud) in &a.federated {
                        tr { td { (name) } td { code { (issuer) } } td { code { (subject) } } td { code { (aud) } } }
                    }
                }
            }
            h3 { "Enterprise application and consent" }
            table.kv {
                tr {
                    th { "Service principal" }
                    td { @if a.service_principal { "Created" } @else { "Not created yet (consent or \"Create it for me\" creates it)" } }
                }
                tr {
                    th { "Admin consent (delegated, all users)" }
                    td {
                        @match &a.consented_scopes {
                            Some(scopes) => { "Granted: " code { (scopes.join(" ")) } }
                            None => { "Not granted — sign-in answers AADSTS65001 until an administrator consents (step 4)" }
                        }
                    }
                }
            }
            h3 { "API permissions (Microsoft Graph, Application)" }
            table {
                tr { th { "Permission" } th { "Status" } }
                @for r in &a.required_roles {
                    tr {
                        td { code { (r) } }
                        td {
                            @if a.granted_roles.contains(r) {
                                "Granted for " (super::SANDBOX_TENANT_NAME)
                            } @else {
                                "Not granted — use the admin-consent link (step 4)"
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn html(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    const HOSTILE: &str = r#"<a href="x" onclick='y'>&</a>"#;
    // maud leaves `'` as is: every attribute it writes is double-quoted.
    const ESCAPED: &str = "&lt;a href=&quot;x&quot; onclick='y'&gt;&amp;&lt;/a&gt;";

    #[tokio::test]
    async fn every_value_is_escaped_in_text_and_attributes() {
        let page = html(message(StatusCode::BAD_REQUEST, HOSTILE, HOSTILE)).await;
        assert!(page.contains(&format!("<title>SANDBOX · {ESCAPED}</title>")));
        assert!(page.contains(&format!("<h1>{ESCAPED}</h1><p>{ESCAPED}</p>")));
        let fields = [("state".to_string(), HOSTILE.to_string())];
        let page = html(form_post(HOSTILE, &fields)).await;
        assert!(page.contains(&format!("action=\"{ESCAPED}\"")));
        assert!(page.contains(&format!("name=\"state\" value=\"{ESCAPED}\"")));
        assert!(!page.contains("<a href"), "{page}");
    }

    #[tokio::test]
    async fn every_page_has_the_banner_and_only_the_form_post_page_and_portal_scripts() {
        let banner =
            "<div class=\"banner\" role=\"banner\">SANDBOX — practice tenant, not Microsoft";
        let page = html(message(StatusCode::OK, "t", "x")).await;
        assert!(page.contains(banner) && !page.contains("<script"));
        let res = form_post("http://localhost/cb", &[]);
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'unsafe-inline'"));
        let page = html(res).await;
        assert!(page.contains(banner));
        assert!(page.contains("<script>document.forms[0].submit();</script></body></html>"));
    }
}
