#!/usr/bin/env node
// A scripted "browser" for the SSO tests: `$BROWSER` points here, so the engine's
// browser::open runs `node scripted-browser.mjs <authorize URL>`.
//
// It does what a browser does with that URL and nothing more: follows redirects (keeping
// cookies per host), and when a page is an auto-submitting form (response_mode=form_post),
// parses the form and POSTs its fields to the form's action — the loopback callback.
// Errors go to $SCRIPTED_BROWSER_LOG when set (stdout/stderr are discarded by the engine).
// Pages whose form offers a choice as named submit buttons (the sandbox's sign-in page:
// one button per demo user; its consent page: Accept / Cancel) are submitted with the
// button whose value is $SCRIPTED_BROWSER_CHOICE, else the first named button, as a click.
// A form POST carries `Origin` and `Sec-Fetch-Site` as a browser sends them (the Fetch
// standard: `Origin` is `null` under the page's `Referrer-Policy: no-referrer`, or under
// `same-origin` when the post leaves the page's origin), so the sandbox's refusal of
// cross-origin posts is exercised by every flow that clicks through it.
// When $SCRIPTED_BROWSER_ACTIONS names a file, each trip appends one line to it saying how
// many things a person would have done in a real browser: every page answered with a choice
// (a sign-in, a consent) is one, and a trip counts at least one (even a remembered account
// is picked or confirmed) — the end-to-end test adds these to the clicks it made.
// No dependencies: Node's fetch.

import fs from 'node:fs';

const log = (msg) => {
  if (process.env.SCRIPTED_BROWSER_LOG) {
    fs.appendFileSync(process.env.SCRIPTED_BROWSER_LOG, `${new Date().toISOString()} ${msg}\n`);
  }
};

const jar = new Map(); // host -> Map(name -> value)

function storeCookies(url, res) {
  const host = new URL(url).host;
  const cookies = jar.get(host) ?? new Map();
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  jar.set(host, cookies);
}

function cookieHeader(url) {
  const cookies = jar.get(new URL(url).host);
  if (!cookies || cookies.size === 0) return {};
  return { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
}

const decode = (s) => s
  .replace(/&quot;/g, '"')
  .replace(/&#x27;|&#39;/g, "'")
  .replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>')
  .replace(/&#x2F;|&#47;/g, '/')
  .replace(/&amp;/g, '&');

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i'));
  return m ? decode(m[2] ?? m[3]) : undefined;
}

let choices = 0; // pages this trip answered with a choice, as a person clicks

function parseForm(html, base) {
  const form = html.match(/<form\b[^>]*>/i);
  if (!form) return undefined;
  const action = new URL(attr(form[0], 'action') ?? base, base).href;
  const method = (attr(form[0], 'method') ?? 'get').toUpperCase();
  const fields = new URLSearchParams();
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(input[0], 'name');
    if (name !== undefined) fields.append(name, attr(input[0], 'value') ?? '');
  }
  const buttons = [...html.matchAll(/<button\b[^>]*>/gi)]
    .map((b) => ({ name: attr(b[0], 'name'), value: attr(b[0], 'value') ?? '' }))
    .filter((b) => b.name !== undefined);
  if (buttons.length > 0) {
    const want = process.env.SCRIPTED_BROWSER_CHOICE;
    const pick = buttons.find((b) => b.value === want) ?? buttons[0];
    fields.append(pick.name, pick.value);
    choices += 1;
  }
  return { action, method, fields };
}

// What a browser puts in `Origin` and `Sec-Fetch-Site` when a page at `from` (served with
// `policy` as its Referrer-Policy) posts a form to `to`.
function postOrigin(from, to, policy) {
  const a = new URL(from);
  const b = new URL(to);
  const sameOrigin = a.origin === b.origin;
  const sameSite = a.protocol === b.protocol && a.hostname === b.hostname;
  const p = (policy ?? '').toLowerCase().split(',').map((x) => x.trim()).filter(Boolean).pop() ?? '';
  const origin = p === 'no-referrer' || (p === 'same-origin' && !sameOrigin) ? 'null' : a.origin;
  let site = 'cross-site';
  if (sameOrigin) site = 'same-origin';
  else if (sameSite) site = 'same-site';
  return { origin, 'sec-fetch-site': site };
}

async function browse(start) {
  let url = start;
  let init = { method: 'GET' };
  for (let hop = 0; hop < 20; hop += 1) {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers ?? {}), ...cookieHeader(url) },
    });
    storeCookies(url, res);
    log(`${init.method} ${new URL(url).pathname} -> ${res.status}`);
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      url = new URL(res.headers.get('location'), url).href;
      init = { method: 'GET' };
      continue;
    }
    const body = await res.text();
    const form = res.headers.get('content-type')?.includes('text/html') ? parseForm(body, url) : undefined;
    if (form && init.method === 'GET') {
      const page = url;
      url = form.action;
      init = form.method === 'POST'
        ? {
          method: 'POST',
          body: form.fields.toString(),
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...postOrigin(page, form.action, res.headers.get('referrer-policy')),
          },
        }
        : { method: 'GET' };
      if (form.method !== 'POST') url = `${form.action}?${form.fields}`;
      continue;
    }
    return; // a final page (the loopback's "return to the wizard" page, or an error page)
  }
  log('too many hops');
}

function countActions() {
  const file = process.env.SCRIPTED_BROWSER_ACTIONS;
  if (file) fs.appendFileSync(file, `${Math.max(1, choices)} ${new URL(process.argv[2]).pathname}\n`);
}

browse(process.argv[2])
  .catch((err) => log(`failed: ${err.stack ?? err}`))
  .finally(countActions);
