// Subscribes to the viewer's notifications with the reference `graphql-ws` client, prints the
// first one as JSON, and completes. Usage: node subscribe.mjs <ws-url> <token>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { authorization: `Bearer ${token}` },
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});

const fail = (error) => {
  console.error(JSON.stringify({ error: String(error?.reason ?? error?.message ?? error) }));
  process.exit(1);
};

const subscription = client.iterate({ query: "subscription { notifications { id kind title } }" });
try {
  for await (const result of subscription) {
    console.log(JSON.stringify(result));
    break; // leaving the loop completes the subscription
  }
  await client.dispose();
  console.log(JSON.stringify({ complete: true }));
  process.exit(0);
} catch (error) {
  fail(error);
}
