// An OpenID Connect provider (the certified `oidc-provider`) for tests/e2e/oidc.rs.
// Usage: node oidc.mjs <RS256|ES256> [port]
//
// Listens on 127.0.0.1 (the port given, or a free one), prints {"issuer", "jwks_uri"} from its
// discovery document when ready, then answers each JSON command on stdin with one JSON line:
//
//   {"op": "client", "id": ID}     registers a confidential client that may use client_credentials
//   {"op": "token", "client": ID, "resource": R}
//                                  client_credentials grant: {"access_token"}
//   {"op": "login", "login": ACCOUNT, "resource": R}
//                                  authorization code flow through the development login and
//                                  consent pages, as a browser would: {"access_token", "id_token"}
//   {"op": "rotate"}               signs with a new key, publishing it before the old ones: {"kid"}
//   {"op": "retire"}               publishes the signing key only: {"kids"}
//   {"op": "status"}               nothing but the count below
//
// Every answer also says how often the JWK set was fetched (`jwks_fetches`). Access tokens are
// JWTs (RFC 9068, `typ: at+jwt`) for the requested resource, signed with the first key of the set,
// as are ID tokens. oidc-provider fixes its configuration when a Provider is made, so each change
// makes a new Provider that the same address serves from then on, as a redeployed provider would.
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import Provider, { errors } from "oidc-provider";

const [alg = "RS256", port = "0"] = process.argv.slice(2);
console.info = console.warn; // oidc-provider's notices go to stderr: stdout carries only answers
const RESOURCES = ["urn:inzage", "urn:other"];
const PORTAL = { client_id: "inzage-portal", client_secret: "portal-secret", redirect_uris: ["http://127.0.0.1/callback"] };

let keys = []; // private JWKs, the signing key first
let clients = [PORTAL];
let handle; // the current Provider's request handler
let jwksFetches = 0;
let keyCount = 0;

function newKey() {
  const { privateKey } =
    alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: `key-${(keyCount += 1)}`, alg, use: "sig" };
}

function build() {
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    clientDefaults: { id_token_signed_response_alg: alg },
    cookies: { keys: ["oidc.mjs cookie signing key"] },
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo(ctx, resource) {
          if (!RESOURCES.includes(resource)) throw new errors.InvalidTarget();
          return { audience: resource, scope: "api", accessTokenFormat: "jwt", accessTokenTTL: 600, jwt: { sign: { alg } } };
        },
      },
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === "/jwks") jwksFetches += 1;
    await next();
  });
  handle = provider.callback();
}

const server = createServer((req, res) => handle(req, res));
await new Promise((resolve) => server.listen(Number(port), "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
keys = [newKey()];
build();

const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
console.log(JSON.stringify({ issuer: discovery.issuer, jwks_uri: discovery.jwks_uri }));

// --- the token endpoint, and a browser for the authorization code flow ------------------------

async function tokenRequest(clientId, secret, params) {
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}` },
    body: new URLSearchParams(params),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
  return body;
}

// Follows redirects by hand, keeping cookies, and fills in the login and consent forms it meets,
// until the provider redirects to the client with a code.
async function authorizationCode(login, resource) {
  const cookies = new Map();
  const request = async (url, form) => {
    const response = await fetch(new URL(url, issuer), {
      method: form ? "POST" : "GET",
      body: form && new URLSearchParams(form),
      headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; ") },
      redirect: "manual",
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [, name, value] = cookie.match(/^([^=]+)=([^;]*)/);
      if (value) cookies.set(name, value);
      else cookies.delete(name);
    }
    return response;
  };
  const query = new URLSearchParams({
    client_id: PORTAL.client_id,
    response_type: "code",
    scope: "openid api",
    redirect_uri: PORTAL.redirect_uris[0],
    resource,
    state: "state-1",
    nonce: "nonce-1",
  });
  let response = await request(`/auth?${query}`);
  for (let step = 0; step < 10; step += 1) {
    const location = response.headers.get("location");
    if (location?.startsWith(PORTAL.redirect_uris[0])) {
      const callback = new URL(location).searchParams;
      if (!callback.has("code")) throw new Error(`authorization failed: ${location}`);
      return callback.get("code");
    }
    if (location) {
      response = await request(location);
      continue;
    }
    const page = await response.text();
    const prompt = page.match(/name="prompt" value="(\w+)"/)?.[1];
    if (!response.ok || !prompt) throw new Error(`unexpected page ${response.status}: ${page.slice(0, 500)}`);
    response = await request(response.url, prompt === "login" ? { prompt, login, password: "any" } : { prompt });
  }
  throw new Error("too many redirects");
}

// --- commands -----------------------------------------------------------------------------------

const commands = {
  client({ id }) {
    clients = [...clients, { client_id: id, client_secret: `secret-${id}`, grant_types: ["client_credentials"], redirect_uris: [], response_types: [] }];
    build();
    return {};
  },
  async token({ client, resource }) {
    const { access_token } = await tokenRequest(client, `secret-${client}`, { grant_type: "client_credentials", resource });
    return { access_token };
  },
  async login({ login, resource }) {
    const code = await authorizationCode(login, resource);
    const { access_token, id_token } = await tokenRequest(PORTAL.client_id, PORTAL.client_secret, {
      grant_type: "authorization_code",
      code,
      redirect_uri: PORTAL.redirect_uris[0],
      resource,
    });
    return { access_token, id_token };
  },
  rotate() {
    keys = [newKey(), ...keys];
    build();
    return { kid: keys[0].kid };
  },
  retire() {
    keys = keys.slice(0, 1);
    build();
    return { kids: keys.map((key) => key.kid) };
  },
  status: () => ({}),
};

for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    const command = JSON.parse(line);
    answer = await commands[command.op](command);
  } catch (error) {
    answer = { error: String(error?.stack ?? error) };
  }
  console.log(JSON.stringify({ ...answer, jwks_fetches: jwksFetches }));
}
server.close();
process.exit(0);
