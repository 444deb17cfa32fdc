"""Subscribes to the viewer's notifications with the `gql` client over WebSocket (the legacy
`graphql-ws` protocol, its default), prints the first one as JSON, and completes.
Usage: python subscribe.py <ws-url> <token>"""

import asyncio
import json
import sys

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport


async def main(url: str, token: str) -> None:
    transport = WebsocketsTransport(url=url, init_payload={"authorization": f"Bearer {token}"})
    async with Client(transport=transport) as session:
        print(json.dumps({"connected": True}), flush=True)
        subscription = gql("subscription { notifications { id kind title } }")
        async for result in session.subscribe(subscription):
            print(json.dumps({"data": result}), flush=True)
            break
    print(json.dumps({"complete": True}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
