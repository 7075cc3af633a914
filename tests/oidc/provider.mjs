// One real OpenID Provider (oidc-provider, a certified implementation) for the tests to sign in at.
//
//   node provider.mjs '<settings as JSON>'      (or the settings in the environment variable OIDC_PROVIDER_SETTINGS)
//
// Settings:
//   issuer    the exact issuer URL, e.g. "http://127.0.0.1:8801/central-bank"; the provider listens on its port
//   path      instead of "issuer": listen on a free port of 127.0.0.1, the issuer being http://127.0.0.1:<port><path>
//   clients   [{client_id, client_secret, redirect_uris, id_token_signed_response_alg?}]
//   accounts  {login: {sub, email, name, ...}}: who can sign in, and the claims of their ID tokens (sub: the login
//             when not given)
//   keys      optional private JWKs to sign with (first one signs); by default one new RSA key is made
//
// It prints one line on stdout once it listens, "ready {"issuer": ..., "port": ...}", and nothing else there.
//
// Its login and consent pages are plain HTML forms, so a test can walk them over HTTP and a browser test can
// click through them: the login page asks for a login (one of the accounts; any other is refused) and offers to
// cancel, the consent page offers Continue and Cancel.
//
// Besides the OpenID Provider's own routes, one route exists for tests only:
//   POST <issuer>/test-admin/rotate-key  signs from now on with a new key (a new kid), answering {"kid": ...};
//                                        the old key stays published, as in a real rotation.
// Open dynamic client registration (<issuer>/reg) is enabled, for a relying party whose redirect URI is only
// known once it listens.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

// oidc-provider prints its notices with console.info: stdout is kept for the ready line alone, so the
// process starting it can read that line and need not drain anything else.
console.log = console.error;
console.info = console.error;

const settings = JSON.parse(process.argv[2] ?? process.env.OIDC_PROVIDER_SETTINGS ?? 'null');
if (settings === null || typeof settings !== 'object') {
  console.error('usage: node provider.mjs \'{"issuer": ..., "clients": [...], "accounts": {...}}\'');
  process.exit(2);
}
const accounts = settings.accounts ?? {};
// The provider knows a person by their subject (the ID token's "sub"); the login form by their login.
const bySubject = new Map(Object.entries(accounts).map(([login, claims]) => [claims.sub ?? login, claims]));
const clients = settings.clients ?? [];

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

let keys = settings.keys?.length ? settings.keys : [newSigningKey()];
// The same across rotations, so that sessions and interactions started before one go on after it.
const cookieKeys = [randomBytes(32).toString('base64url')];

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, mount, client, error) {
  return page('Sign in', `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<p>to ${escapeHtml(client?.clientName ?? client?.clientId ?? 'an application')}</p>
<form method="post" action="${mount}/interaction/${uid}/login">
  <label>Login <input type="text" name="login" autocomplete="username" required autofocus></label>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="${mount}/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(uid, mount, client, scopes) {
  return page('Authorize', `<p>${escapeHtml(client?.clientId ?? 'an application')} asks for: ${escapeHtml(scopes.join(' '))}</p>
<form method="post" action="${mount}/interaction/${uid}/confirm"><button type="submit">Continue</button></form>
<form method="post" action="${mount}/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    cookies: { keys: cookieKeys },
    async findAccount(ctx, sub) {
      const claims = bySubject.get(sub);
      if (claims === undefined) {
        return undefined;
      }
      return { accountId: sub, async claims() { return { ...claims, sub }; } };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Put the scopes' claims (email, name) in the ID token, as most institutions' providers do, and not only
    // in the userinfo answer: the hub reads who signed in from the ID token alone.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
    },
    // HS256 is listed so that a test can prove the relying party refuses it even when the provider offers it.
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'] },
    interactions: { url: (ctx, interaction) => `${mount}/interaction/${interaction.uid}` },
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<p role="alert">${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`);
    },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  return provider;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

// The interaction routes: what an institution's own login and consent pages would do.
async function interact(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    details = undefined; // no interaction cookie, or an expired interaction
  }
  if (details?.uid !== uid) {
    send(res, 400, 'text/html', page('Error', '<p role="alert">this sign-in has expired; start again</p>'));
    return;
  }
  const client = await provider.Client.find(details.params.client_id);
  const { prompt } = details;
  if (req.method === 'GET' && action === undefined) {
    const body = prompt.name === 'login'
      ? loginPage(uid, mount, client)
      : consentPage(uid, mount, client, String(details.params.scope ?? '').split(' '));
    send(res, 200, 'text/html; charset=utf-8', body);
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, 'text/plain', 'method not allowed');
    return;
  }
  if (action === 'abort') {
    const result = { error: 'access_denied', error_description: 'the user cancelled the sign-in' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } else if (action === 'login' && prompt.name === 'login') {
    const login = (await readForm(req)).get('login') ?? '';
    if (!Object.hasOwn(accounts, login)) {
      send(res, 200, 'text/html; charset=utf-8', loginPage(uid, mount, client, 'unknown login'));
      return;
    }
    const accountId = accounts[login].sub ?? login;
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  } else if (action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (prompt.details.missingOIDCScope) {
      grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    }
    if (prompt.details.missingOIDCClaims) {
      grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  } else {
    send(res, 400, 'text/plain', `cannot ${action} at the ${prompt.name} step`);
  }
}

let provider;
let handler;
let mount = '';

function start(issuer) {
  provider = makeProvider(issuer);
  handler = provider.callback();
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(error);
    if (!res.headersSent) {
      send(res, 500, 'text/plain', 'internal error');
    } else {
      res.end();
    }
  });
});

async function handle(req, res) {
  const { pathname } = new URL(req.url, 'http://provider.invalid');
  if (mount && pathname !== mount && !pathname.startsWith(`${mount}/`)) {
    send(res, 404, 'text/plain', 'not found');
    return;
  }
  const local = pathname.slice(mount.length) || '/';
  if (local === '/test-admin/rotate-key' && req.method === 'POST') {
    const key = newSigningKey();
    keys = [key, ...keys];
    start(provider.issuer);
    send(res, 200, 'application/json', JSON.stringify({ kid: key.kid }));
    return;
  }
  const interaction = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/u.exec(local);
  if (interaction) {
    await interact(req, res, interaction[1], interaction[2]);
    return;
  }
  // oidc-provider finds its mount path by comparing the original URL with the one it is handed.
  req.originalUrl = req.url;
  req.url = req.url.slice(mount.length) || '/';
  await handler(req, res);
}

const wanted = settings.issuer ? new URL(settings.issuer) : undefined;
if (wanted && wanted.hostname !== '127.0.0.1') {
  console.error(`the issuer's host must be 127.0.0.1, not ${wanted.hostname}`);
  process.exit(2);
}
server.listen(wanted ? Number(wanted.port) : 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = wanted ? settings.issuer : `http://127.0.0.1:${port}${settings.path ?? ''}`;
  mount = new URL(issuer).pathname.replace(/\/$/u, '');
  start(issuer);
  process.stdout.write(`ready ${JSON.stringify({ issuer, port })}\n`);
});
