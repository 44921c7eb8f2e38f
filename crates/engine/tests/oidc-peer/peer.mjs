// Test-only OpenID provider for engine/tests/sso_test_provider.rs: npm `oidc-provider`
// (certified, independent of our code) configured the way Entra ID behaves for the SSO test.
//
// - Issuer `http://127.0.0.1:<port>/<tenant>/v2.0`: the provider is mounted under that
//   prefix, so discovery is `<issuer>/.well-known/openid-configuration`, as with Entra.
// - RS256 signing key generated at start; ID tokens carry `tid`, `oid`, `amr`.
// - `code id_token` + `response_mode=form_post`, PKCE required.
// - Two clients: one authenticating with `client_secret_post`, one with `private_key_jwt`
//   (the public key of the test certificate given with --cert).
// - `client_credentials` for `https://graph.microsoft.com/.default` returns a JWT access
//   token with `roles`, like a Graph app-only token.
// - No login page: /interaction/<uid> signs the test user in and grants consent at once.
//
// Usage: node peer.mjs --tenant <guid> --secret-client <guid> --cert-client <guid>
//                      --cert <client-cert.pem>   (client secret on stdin, one line)
// Prints `PORT=<port>` on stdout once listening. Test only: never run this anywhere else.

import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, cur, i, all) => {
    if (cur.startsWith('--')) acc.push([cur.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
for (const k of ['tenant', 'secret-client', 'cert-client', 'cert']) {
  if (!args[k]) {
    console.error(`missing --${k}`);
    process.exit(2);
  }
}

const readStdinLine = () => new Promise((resolve) => {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl !== -1) {
      process.stdin.pause();
      resolve(buf.slice(0, nl).trim());
    }
  });
  process.stdin.on('end', () => resolve(buf.trim()));
});

const TENANT = args.tenant;
const GRAPH = 'https://graph.microsoft.com';
const REDIRECT = 'http://localhost/entra-onboard/callback';
const USER = {
  sub: 'test-user-sub-0001',
  oid: '0b0b0b0b-1111-4222-8333-444455556666',
  name: 'Test Admin',
  preferred_username: 'admin@contoso.test',
  email: 'admin@contoso.test',
};

const secret = await readStdinLine();
if (!secret) {
  console.error('no client secret on stdin');
  process.exit(2);
}

const certJwk = {
  ...crypto.createPublicKey(fs.readFileSync(args.cert)).export({ format: 'jwk' }),
  use: 'sig',
};
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `peer-${crypto.randomBytes(4).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

const common = {
  application_type: 'native',
  redirect_uris: [REDIRECT],
  response_types: ['code id_token'],
  grant_types: ['authorization_code', 'implicit', 'client_credentials'],
  scope: `openid profile email ${GRAPH}/.default`,
};

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const prefix = `/${TENANT}/v2.0`;
const issuer = `http://127.0.0.1:${port}${prefix}`;

const provider = new Provider(issuer, {
  clients: [
    {
      ...common,
      client_id: args['secret-client'],
      client_secret: secret,
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      ...common,
      client_id: args['cert-client'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'PS256',
      jwks: { keys: [certJwk] },
    },
  ],
  jwks: { keys: [signingJwk] },
  responseTypes: ['code id_token', 'code'],
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', `${GRAPH}/.default`],
  claims: {
    openid: ['sub', 'tid', 'oid'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
  },
  conformIdTokenClaims: false,
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ ...USER, sub, tid: TENANT }),
  }),
  extraTokenClaims: async (_ctx, token) => (token.kind === 'ClientCredentials'
    ? { roles: ['User.Read.All', 'Organization.Read.All'], tid: TENANT }
    : undefined),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx) => (ctx.oidc.params?.grant_type === 'client_credentials' ? GRAPH : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== GRAPH) throw new errors.InvalidTarget();
        return {
          scope: `${GRAPH}/.default`,
          audience: GRAPH,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

async function autoLogin(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { params } = details;
  const grant = new provider.Grant({ accountId: USER.sub, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: USER.sub, amr: ['pwd', 'mfa'] }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    autoLogin(req, res).catch((err) => {
      console.error('interaction failed', err);
      res.statusCode = 500;
      res.end('interaction failed');
    });
    return;
  }
  if (req.url === prefix || req.url.startsWith(`${prefix}/`)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    callback(req, res);
    return;
  }
  res.statusCode = 404;
  res.end('not found');
});

console.log(`PORT=${port}`);
