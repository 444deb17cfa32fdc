// Runs a query through Apollo Client's core (HttpLink, InMemoryCache), the way a typed SPA
// would, then reads it back from the cache: a response with refused fields must be complete
// (every selected key present, `null` where refused), so the cache reports nothing missing.
// Usage: node apollo.mjs <graphql-url> <token> <query>
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [url, token, source] = process.argv.slice(2);
const complaints = [];
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => {
    complaints.push(args.map(String).join(" "));
    original(...args);
  };
}
const cache = new InMemoryCache();
const client = new ApolloClient({
  cache,
  link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
});
const query = gql(source);
const result = await client.query({ query, errorPolicy: "all", fetchPolicy: "network-only" });
const diff = cache.diff({ query, optimistic: false, returnPartialData: true });
console.log(
  JSON.stringify({
    data: result.data ?? null,
    errors: (result.error?.errors ?? []).map((e) => ({ path: e.path, code: e.extensions?.code })),
    cacheComplete: diff.complete,
    cacheMissing: diff.missing ? diff.missing.map((m) => m.message) : [],
    cached: diff.result ?? null,
    complaints,
  }),
);
