# ruff: noqa: T201 - a command-line example prints
"""Submit a photo to foodai, watch the job over a subscription, print the items (gql 4).

    pip install -r examples/python/requirements.txt
    FOODAI_TOKEN=... python examples/python/scan.py receipt.jpg [--url http://127.0.0.1:8000] [--products]

`foodai dev` prints a token; `foodai token` mints one. Queries go over HTTP, the
subscription over graphql-transport-ws with the token in connection_init's payload.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
from pathlib import Path

from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

SUBMIT = gql("""
mutation Submit($images: [ImageInput!]!, $lang: String!, $products: Boolean!) {
  receipt: submitReceipt(images: $images, lang: $lang) @skip(if: $products) { id status imageCount }
  products: submitProducts(images: $images, lang: $lang) @include(if: $products) { id status imageCount }
}
""")
WATCH = gql("""
subscription Watch($id: ID!) {
  productJob(id: $id) {
    status imagesDone imageCount error
    result { items { name quantity unit category price confidence } }
  }
}
""")


def encode(paths: list[str]) -> list[dict[str, str]]:
    return [{"base64": base64.b64encode(Path(p).read_bytes()).decode()} for p in paths]


async def main(args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {args.token}"}
    images = encode(args.photos)
    http = HTTPXAsyncTransport(url=f"{args.url}/graphql", headers=headers, timeout=60)
    async with Client(transport=http) as session:
        SUBMIT.variable_values = {
            "images": images,
            "lang": args.lang, "products": args.products,
        }
        submitted = await session.execute(SUBMIT)
    job = submitted.get("receipt") or submitted["products"]
    print(f"job {job['id']}: {job['status']}")

    ws = WebsocketsTransport(url=args.url.replace("http", "ws", 1) + "/graphql", init_payload=headers,
                             subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    async with Client(transport=ws) as session:
        WATCH.variable_values = {"id": job["id"]}
        async for update in session.subscribe(WATCH):
            state = update["productJob"]
            print(f"  {state['status']:<10} {state['imagesDone']}/{state['imageCount']} images")
    if state["status"] == "FAILED":
        raise SystemExit(state["error"])
    for item in state["result"]["items"]:
        price = "" if item["price"] is None else f"{item['price']:.2f}"
        print(f"{item['name']:<24} {item['quantity']:>7g} {item['unit']:<4} {item['category']:<10} {price:>8}"
              f"  {item['confidence']:.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--url", default=os.environ.get("FOODAI_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("FOODAI_TOKEN"), required="FOODAI_TOKEN" not in os.environ)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--products", action="store_true")
    asyncio.run(main(parser.parse_args()))
