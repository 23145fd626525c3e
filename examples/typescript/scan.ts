// Submit a photo to foodai, watch the job over graphql-transport-ws (graphql-ws), print the items.
//
//   npm install && FOODAI_TOKEN=... npm run scan -- receipt.jpg [--products] [--url http://127.0.0.1:8000]
import { readFile } from "node:fs/promises";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const url = option("--url", process.env.FOODAI_URL ?? "http://127.0.0.1:8000");
const token = option("--token", process.env.FOODAI_TOKEN ?? "");
const products = flag("--products");
const photos = args.filter((a, i) => !a.startsWith("--") && !["--url", "--token", "--lang"].includes(args[i - 1]));
if (!token || photos.length === 0) {
  console.error("usage: FOODAI_TOKEN=... npm run scan -- PHOTO... [--products] [--lang de] [--url URL]");
  process.exit(2);
}
const auth = { Authorization: `Bearer ${token}` };

type Item = { name: string; quantity: number; unit: string; category: string; price: number | null; confidence: number };
type Job = { id: string; status: string; imagesDone: number; imageCount: number; error: string | null;
  result: { items: Item[] } | null };

const field = products ? "submitProducts" : "submitReceipt";
const images = await Promise.all(photos.map(async (p) => ({ base64: (await readFile(p)).toString("base64") })));
const response = await fetch(`${url}/graphql`, {
  method: "POST",
  headers: { "Content-Type": "application/json", ...auth },
  body: JSON.stringify({
    query: `mutation($images: [ImageInput!]!, $lang: String!) { ${field}(images: $images, lang: $lang) { id status } }`,
    variables: { images, lang: option("--lang", "en") },
  }),
});
const submitted = await response.json();
if (submitted.errors) throw new Error(JSON.stringify(submitted.errors));
const job: Job = submitted.data[field];
console.log(`job ${job.id}: ${job.status}`);

const client = createClient({ url: url.replace(/^http/, "ws") + "/graphql", connectionParams: auth, webSocketImpl: WebSocket });
const watch = client.iterate<{ productJob: Job }>({
  query: `subscription($id: ID!) { productJob(id: $id) {
    id status imagesDone imageCount error result { items { name quantity unit category price confidence } } } }`,
  variables: { id: job.id },
});
let last: Job | undefined;
for await (const update of watch) {
  if (update.errors) throw new Error(JSON.stringify(update.errors));
  last = update.data!.productJob;
  console.log(`  ${last.status.padEnd(10)} ${last.imagesDone}/${last.imageCount} images`);
}
await client.dispose();
if (!last || last.status === "FAILED") {
  console.error(last?.error ?? "the subscription ended early");
  process.exit(1);
}
console.table(last.result!.items.map((i) => ({ ...i, confidence: `${Math.round(i.confidence * 100)}%` })));
