// Runs graphql-http's server audits (the GraphQL over HTTP spec's checks) against one URL and
// prints one JSON array, in the suite's order: [{id, name, status: "ok"|"notice"|"warn"|"error", reason?}].
//
//   node tests/audit/audit.mjs http://127.0.0.1:8000/graphql
//
// The audits ask only for `__typename` and `__type`, which foodai answers without a token.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url })) {
  const { id, name, status, reason } = await audit.fn(); // one at a time: the results read in order
  results.push({ id, name, status, ...(reason === undefined ? {} : { reason }) });
}
console.log(JSON.stringify(results, null, 1));
