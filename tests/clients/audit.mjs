// Runs the GraphQL-over-HTTP server audit of `graphql-http` (the reference implementation of
// the spec) against a server, prints every result as a JSON line, then a summary line.
// Usage: node audit.mjs <graphql-url>
import { auditServer } from "graphql-http";

const [url] = process.argv.slice(2);
const results = await auditServer({ url });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    line.reason = result.reason;
    if (result.response) {
      line.httpStatus = result.response.status;
      line.contentType = result.response.headers.get("content-type");
    }
  }
  console.log(JSON.stringify(line));
}
const count = (status) => results.filter((r) => r.status === status).length;
console.log(
  JSON.stringify({
    summary: `${results.length} audits: ${count("ok")} passed, ${count("error")} MUST failures, ${count("warn")} SHOULD warnings, ${count("notice")} MAY notices`,
    errors: count("error"),
    warnings: count("warn"),
    notices: count("notice"),
  }),
);
