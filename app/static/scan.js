// foodai scan page: submit photos, watch the job over graphql-transport-ws, review and confirm items.
// Plain JavaScript, no build step and no dependencies.
"use strict";

const CONFIG = JSON.parse(document.getElementById("foodai-config").textContent);
const GRAPHQL_URL = new URL(CONFIG.graphqlPath, location.href).toString();
const WS_URL = GRAPHQL_URL.replace(/^http/, "ws");
const TOKEN_KEY = "foodai.token";
const UNITS = ["pcs", "g", "kg", "ml", "l"];
const CATEGORIES = ["produce", "dairy", "meat", "fish", "bakery", "frozen", "pantry", "beverages", "snacks",
  "household", "other"];
const HISTORY_PAGE = 10;
// Photos are scaled in the browser so their long side is at most 2000 px before upload: receipt OCR
// needs about 1500-2000 px on the long side to read small print, and the server scales anything
// larger down to 2000 px before OCR anyway (app/recognition/local.py), so a phone's 12-megapixel,
// 3-6 MB photo would only cost upload time on a mobile connection. Smaller photos go up untouched.
const MAX_SIDE = 2000;
const JPEG_QUALITY = 0.9;

const JOB_FIELDS = `
  id jobType status lang imageCount imagesDone error createdAt completedAt confirmedAt
  confirmedItems { name quantity unit category rawText price }
  result {
    items { name rawText quantity unit category price confidence imageIndex box { x y } }
    images { index status itemCount durationMs error note }
    receipt { merchant purchasedAt currency total totalMatches }
  }`;
const Q = {
  me: "query { me { id plan } }",
  submit: (kind) => `mutation Submit($images: [ImageInput!]!, $lang: String!) {
    ${kind === "products" ? "submitProducts" : "submitReceipt"}(images: $images, lang: $lang) { ${JOB_FIELDS} } }`,
  job: `query Job($id: ID!) { productJob(id: $id) { ${JOB_FIELDS} } }`,
  watch: `subscription Watch($id: ID!) { productJob(id: $id) { ${JOB_FIELDS} } }`,
  confirm: `mutation Confirm($id: ID!, $items: [ConfirmedItemInput!]!) {
    confirmProductJob(id: $id, items: $items) { ${JOB_FIELDS} } }`,
  history: `query History($first: Int!, $after: String) {
    productJobHistory(first: $first, after: $after) {
      edges { cursor node { id jobType status imageCount createdAt confirmedAt result { items { name } } } }
      pageInfo { hasNextPage endCursor } } }`,
};

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
};
const svgEl = (tag, attrs) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};

const state = {
  token: localStorage.getItem(TOKEN_KEY) || CONFIG.devToken || "",
  files: [],          // {file, url}
  job: null,          // the job shown
  photos: [],         // object URLs of the shown job's images (when submitted from this page)
  photoIndex: 0,
  socket: null,
  historyCursor: null,
};

// ---------- GraphQL over HTTP and graphql-transport-ws ----------

class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message + (e.extensions && e.extensions.code ? ` (${e.extensions.code})` : "")).join("; "));
    this.errors = errors;
  }
}

async function gql(query, variables = {}) {
  const response = await fetch(GRAPHQL_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(state.token ? { Authorization: "Bearer " + state.token } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try { body = await response.json(); } catch { throw new Error(`HTTP ${response.status}`); }
  if (body.errors && body.errors.length) throw new GraphQLError(body.errors);
  return body.data;
}

/** One graphql-transport-ws connection carrying one subscription; returns a function that closes it. */
function subscribe(query, variables, { next, error, complete }) {
  const socket = new WebSocket(WS_URL, "graphql-transport-ws");
  let finished = false;
  const finish = (fn, arg) => { if (!finished) { finished = true; fn && fn(arg); } };
  socket.onopen = () => socket.send(JSON.stringify({
    type: "connection_init", payload: state.token ? { Authorization: "Bearer " + state.token } : {},
  }));
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
    } else if (msg.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    } else if (msg.type === "next" && msg.id === "1") {
      if (msg.payload.errors && msg.payload.errors.length) finish(error, new GraphQLError(msg.payload.errors));
      else next(msg.payload.data);
    } else if (msg.type === "error" && msg.id === "1") {
      finish(error, new GraphQLError(msg.payload));
    } else if (msg.type === "complete" && msg.id === "1") {
      finish(complete);
      socket.close(1000);
    }
  };
  socket.onclose = (event) => {
    if (!finished) finish(error, new Error(event.code === 4403 ? "the token was refused" :
      `the live connection closed (${event.code}${event.reason ? ": " + event.reason : ""})`));
  };
  return () => { finished = true; if (socket.readyState <= 1) socket.close(1000); };
}

// ---------- banner, identity ----------

function showBanner(message, kind = "error") {
  const banner = $("banner");
  banner.textContent = message;
  banner.className = "banner" + (kind === "info" ? " info" : "");
  banner.hidden = !message;
}

async function refreshIdentity() {
  const who = $("who");
  if (!state.token) {
    who.dataset.state = "none";
    who.textContent = "no token: paste one";
    $("token-panel").hidden = false;
    return false;
  }
  try {
    const { me } = await gql(Q.me);
    who.dataset.state = "ok";
    who.textContent = `user ${me.id.slice(0, 8)}… · ${me.plan.toLowerCase()} plan` +
      (state.token === CONFIG.devToken ? " · dev token" : "");
    who.title = me.id;
    return true;
  } catch (err) {
    who.dataset.state = "bad";
    who.textContent = "token refused";
    $("token-panel").hidden = false;
    showBanner(err.message);
    return false;
  }
}

// ---------- picking photos ----------

async function addFiles(files) {
  for (const original of files) {
    if (!original.type.startsWith("image/")) continue;
    if (state.files.length >= 10) { showBanner("At most 10 photos per scan."); break; }
    const { file, note } = await downscaled(original);
    state.files.push({ file, url: URL.createObjectURL(file), note });
    renderThumbs();
  }
}

/** The photo with its long side at most MAX_SIDE (upright, as JPEG), or the file itself when it is small enough. */
async function downscaled(file) {
  let bitmap;
  try { bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }); } catch { return { file, note: "" }; }
  const { width, height } = bitmap;
  const scale = MAX_SIDE / Math.max(width, height);
  if (scale >= 1) { bitmap.close(); return { file, note: `${width}\u00d7${height}` }; }
  const canvas = el("canvas", { width: String(Math.round(width * scale)), height: String(Math.round(height * scale)) });
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  if (!blob) return { file, note: "" };
  const name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
  return { file: new File([blob], name, { type: "image/jpeg" }),
    note: `${width}\u00d7${height} \u2192 ${canvas.width}\u00d7${canvas.height}` };
}

function renderThumbs() {
  const list = $("thumbs");
  list.replaceChildren(...state.files.map((entry, i) => el("li", { "data-size": entry.note, "data-bytes": String(entry.file.size) },
    el("img", { src: entry.url, alt: entry.file.name }),
    el("div", { class: "fname", title: `${entry.file.name} ${entry.note}` }, entry.file.name),
    el("button", { type: "button", title: "Remove", onclick: () => {
      state.files.splice(i, 1);
      renderThumbs();
    } }, "\u2715"))));
  $("submit").disabled = state.files.length === 0;
  $("submit").textContent = state.files.length > 1 ? `Scan ${state.files.length} photos` : "Scan";
}

/** A small receipt drawn on a canvas, for trying the page without a photo at hand. */
async function sampleReceipt() {
  const lines = [["MILK 1L", "1.19"], ["BREAD", "2.10"], ["BANANAS 1.2 KG", "1.79"], ["EGGS 10", "2.99"],
    ["BUTTER 250G", "2.49"], ["APPLE JUICE 1L", "1.79"]];
  const canvas = el("canvas", { width: "420", height: String(190 + lines.length * 34) });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#111"; ctx.font = "bold 26px monospace"; ctx.textAlign = "center";
  ctx.fillText("FRESH MARKET", 210, 50);
  ctx.font = "20px monospace"; ctx.textAlign = "left";
  lines.forEach(([name, price], i) => {
    ctx.fillText(name, 30, 100 + i * 34);
    ctx.textAlign = "right"; ctx.fillText(price, 390, 100 + i * 34); ctx.textAlign = "left";
  });
  const total = lines.reduce((s, [, p]) => s + Number(p), 0).toFixed(2);
  ctx.font = "bold 22px monospace";
  ctx.fillText("TOTAL", 30, 120 + lines.length * 34);
  ctx.textAlign = "right"; ctx.fillText(total, 390, 120 + lines.length * 34);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  addFiles([new File([blob], "sample-receipt.png", { type: "image/png" })]);
}

const toBase64 = (file) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(file);
});

// ---------- submit and watch ----------

async function submit() {
  showBanner("");
  if (!state.token) { showBanner("Paste a token first (Token, top right)."); return; }
  const kind = document.querySelector("input[name=kind]:checked").value;
  const button = $("submit");
  button.disabled = true;
  button.textContent = "Uploading…";
  try {
    const images = await Promise.all(state.files.map(async (f) => ({ base64: await toBase64(f.file) })));
    const data = await gql(Q.submit(kind), { images, lang: $("lang").value });
    const job = data.submitReceipt || data.submitProducts;
    const photos = state.files.map((f) => f.url);
    state.files = [];
    renderThumbs();
    showJob(job, photos);
    watch(job.id);
    prependHistory(job);
  } catch (err) {
    showBanner("Could not submit: " + err.message);
    renderThumbs();
  }
}

function watch(jobId) {
  if (state.socket) state.socket();
  state.socket = subscribe(Q.watch, { id: jobId }, {
    next: (data) => {
      if (state.job && state.job.id === jobId) showJob(data.productJob, state.photos);
      updateHistoryEntry(data.productJob);
    },
    error: (err) => showBanner("Live progress stopped: " + err.message),
    complete: () => { state.socket = null; updateHistoryEntry(state.job); },
  });
}

// ---------- the job card ----------

const TERMINAL = new Set(["DONE", "FAILED"]);

function imageState(job, index) {
  const outcome = job.result && job.result.images.find((i) => i.index === index);
  if (outcome) return outcome.status === "done" ? ["done", `${outcome.itemCount} item${outcome.itemCount === 1 ? "" : "s"} · ${(outcome.durationMs / 1000).toFixed(1)} s`, outcome.note]
    : ["failed", "failed", outcome.error];
  if (job.status === "PENDING") return ["waiting", "queued"];
  if (job.status === "PROCESSING") return ["reading", "reading"];
  return ["failed", job.error || "failed"];
}

function showJob(job, photos) {
  const changedJob = !state.job || state.job.id !== job.id;
  state.job = job;
  state.photos = photos || [];
  if (changedJob) state.photoIndex = 0;
  $("job").hidden = false;
  $("placeholder").hidden = true;
  $("job-title").textContent = `${job.jobType === "PRODUCTS" ? "Products" : "Receipt"} · ${new Date(job.createdAt).toLocaleString()}`;
  const pill = $("job-status");
  pill.textContent = job.status;
  pill.className = "pill " + job.status;
  const fraction = job.imageCount ? job.imagesDone / job.imageCount : 0;
  const fill = $("job-fill");
  fill.style.width = `${Math.max(TERMINAL.has(job.status) ? 100 : 4, fraction * 100)}%`;
  fill.classList.toggle("busy", !TERMINAL.has(job.status));
  $("job-progress").textContent = job.status === "PENDING" ? "waiting for a worker…"
    : `${job.imagesDone} of ${job.imageCount} image${job.imageCount === 1 ? "" : "s"} read`;
  $("image-states").replaceChildren(...Array.from({ length: job.imageCount }, (_, i) => {
    const [name, text, why] = imageState(job, i);
    const thumb = state.photos[i] ? el("img", { src: state.photos[i], alt: "" }) : el("span", { class: "noimg" }, String(i + 1));
    const label = el("span", { class: "state" });
    if (name === "reading" || name === "waiting") label.append(el("span", { class: name === "reading" ? "spinner" : "" }), " ");
    label.append(text);
    if (why) label.append(el("span", { class: "why" }, why));
    return el("li", { "data-state": name, "data-index": String(i) }, thumb, el("span", {}, `Photo ${i + 1}`), label);
  }));
  $("job-error").hidden = !job.error;
  $("job-error").textContent = job.error || "";
  if (TERMINAL.has(job.status) && job.result) {
    if (changedJob || $("result").hidden || $("result").dataset.job !== job.id || $("result").dataset.status !== job.status) renderResult(job);
  } else {
    $("result").hidden = true;
  }
  markActiveHistory();
}

function renderResult(job) {
  const result = $("result");
  result.hidden = false;
  result.dataset.job = job.id;
  result.dataset.status = job.status;
  const items = job.confirmedItems
    ? job.confirmedItems.map((c) => ({ ...c, confidence: 1, imageIndex: matchIndex(job, c), box: matchBox(job, c) }))
    : job.result.items;
  const tbody = $("items").tBodies[0];
  tbody.replaceChildren(...items.map((item, i) => itemRow(item, i)));
  $("empty-items").hidden = items.length > 0;
  $("empty-tip").hidden = items.length > 0;
  renderNotes(job);
  $("confirmed").hidden = !job.confirmedAt;
  $("confirmed").textContent = job.confirmedAt ? `\u2713 Confirmed ${new Date(job.confirmedAt).toLocaleTimeString()}` : "";
  $("confirm").textContent = job.confirmedAt ? "Confirm again" : "Confirm items";
  $("confirm").disabled = job.status !== "DONE";
  const r = job.result.receipt;
  $("receipt-summary").innerHTML = "";
  if (r) {
    const parts = [];
    if (r.merchant) parts.push(`<b>${escapeHtml(r.merchant)}</b>`);
    if (r.purchasedAt) parts.push(escapeHtml(r.purchasedAt));
    if (r.total != null) parts.push(`total <b>${r.total.toFixed(2)}${r.currency ? " " + escapeHtml(r.currency) : ""}</b>`);
    $("receipt-summary").innerHTML = parts.join(" · ");
  }
  renderTotalCheck(job);
  renderPhotoTabs(job);
  renderPhoto();
}

/** Why images gave nothing: each image's note (read, nothing found) and error (could not be read). */
function renderNotes(job) {
  const notes = [];
  for (const image of job.result.images) {
    if (image.error) notes.push(["error", `Photo ${image.index + 1}: ${image.error}`]);
    if (image.note) notes.push(["note", `Photo ${image.index + 1}: ${image.note}`]);
  }
  $("notes").replaceChildren(...notes.map(([kind, text]) => el("li", { "data-kind": kind }, text)));
  $("notes").hidden = notes.length === 0;
  $("empty-why").textContent = notes.length ? "Why:" : "";
}

/** A printed total that the items' prices do not add up to: lines were missed or misread. */
function renderTotalCheck(job) {
  const check = $("total-check");
  const r = job.result.receipt;
  check.hidden = !r || r.total == null;
  if (check.hidden) return;
  const priced = job.result.items.filter((i) => i.price != null);
  const sum = priced.reduce((s, i) => s + i.price, 0);
  check.dataset.state = r.totalMatches ? "match" : "mismatch";
  check.textContent = r.totalMatches ? "\u2713 The items add up to the printed total."
    : `\u26a0 The printed total ${r.total.toFixed(2)} does not match the items: ${priced.length} priced ` +
      `item${priced.length === 1 ? "" : "s"} add up to ${sum.toFixed(2)}. Check for missing or misread lines.`;
}

const matchIndex = (job, c) => { const m = job.result.items.find((i) => i.rawText === c.rawText); return m ? m.imageIndex : 0; };
const matchBox = (job, c) => { const m = job.result.items.find((i) => i.rawText === c.rawText); return m ? m.box : null; };
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function options(select, values, chosen) {
  const all = values.includes(chosen) || chosen == null ? values : [...values, chosen];
  select.replaceChildren(...all.map((v) => el("option", { value: v }, v)));
  select.value = chosen ?? values[0];
}

function itemRow(item, i) {
  const row = $("row-template").content.firstElementChild.cloneNode(true);
  row.dataset.index = String(i);
  row.dataset.image = String(item.imageIndex ?? 0);
  row.dataset.raw = item.rawText || "";
  row.querySelector(".idx").textContent = String(i + 1);
  row.querySelector(".name").value = item.name;
  row.querySelector(".raw").textContent = item.rawText && item.rawText !== item.name ? item.rawText : "";
  row.querySelector(".raw").title = item.rawText || "";
  row.querySelector(".qty").value = item.quantity;
  options(row.querySelector(".unit"), UNITS, item.unit);
  options(row.querySelector(".category"), CATEGORIES, item.category);
  row.querySelector(".price").value = item.price == null ? "" : item.price.toFixed(2);
  const conf = row.querySelector(".conf");
  const pct = Math.round((item.confidence ?? 0) * 100);
  conf.querySelector(".conf-bar div").style.width = `${pct}%`;
  conf.querySelector("span").textContent = `${pct}%`;
  conf.classList.toggle("low", pct < 60);
  row.querySelector(".remove").addEventListener("click", () => { row.remove(); renumber(); renderPhoto(); });
  row.addEventListener("mouseenter", () => highlight(i, true));
  row.addEventListener("mouseleave", () => highlight(i, false));
  row._box = item.box;
  return row;
}

function renumber() {
  [...$("items").tBodies[0].rows].forEach((row, i) => { row.querySelector(".idx").textContent = String(i + 1); });
}

function renderPhotoTabs(job) {
  const tabs = $("photo-tabs");
  tabs.replaceChildren();
  if (job.imageCount < 2) return;
  for (let i = 0; i < job.imageCount; i++) {
    tabs.append(el("button", { type: "button", class: i === state.photoIndex ? "active" : "", onclick: () => {
      state.photoIndex = i;
      renderPhotoTabs(job);
      renderPhoto();
    } }, `Photo ${i + 1}`));
  }
}

function renderPhoto() {
  const holder = $("photo");
  const url = state.photos[state.photoIndex];
  if (!url) {
    holder.replaceChildren(el("div", { class: "nophoto" }, "The photo stays on the device that took it; the items are below."));
    return;
  }
  const img = el("img", { src: url, alt: `photo ${state.photoIndex + 1}` });
  holder.replaceChildren(img);
  const draw = () => {
    const svg = svgEl("svg", { viewBox: `0 0 ${img.naturalWidth} ${img.naturalHeight}`, preserveAspectRatio: "none" });
    [...$("items").tBodies[0].rows].forEach((row, i) => {
      if (Number(row.dataset.image) !== state.photoIndex || !row._box || row._box.length < 2) return;
      const points = row._box.map((p) => `${p.x},${p.y}`).join(" ");
      const polygon = svgEl("polygon", { points, "data-row": String(i) });
      polygon.addEventListener("mouseenter", () => highlight(i, true));
      polygon.addEventListener("mouseleave", () => highlight(i, false));
      polygon.addEventListener("click", () => row.querySelector(".name").focus());
      const left = Math.min(...row._box.map((p) => p.x));
      const top = Math.min(...row._box.map((p) => p.y));
      const label = svgEl("text", { x: String(Math.max(0, left - 4)), y: String(Math.max(12, top - 3)), "text-anchor": "end" });
      label.textContent = row.querySelector(".idx").textContent;
      svg.append(polygon, label);
    });
    holder.append(svg);
  };
  if (img.complete && img.naturalWidth) draw(); else img.addEventListener("load", draw, { once: true });
}

function highlight(i, on) {
  const row = $("items").tBodies[0].rows[i];
  if (row) row.classList.toggle("hot", on);
  const polygon = document.querySelector(`#photo polygon[data-row="${i}"]`);
  if (polygon) polygon.classList.toggle("hot", on);
}

function addItem() {
  const tbody = $("items").tBodies[0];
  const row = itemRow({ name: "", quantity: 1, unit: "pcs", category: "other", price: null, confidence: 1,
    imageIndex: state.photoIndex, rawText: null, box: null }, tbody.rows.length);
  tbody.append(row);
  $("empty-items").hidden = true;
  $("empty-tip").hidden = true;
  row.querySelector(".name").focus();
}

async function confirmItems() {
  const job = state.job;
  const items = [...$("items").tBodies[0].rows].map((row) => ({
    name: row.querySelector(".name").value.trim(),
    quantity: Number(row.querySelector(".qty").value || 0),
    unit: row.querySelector(".unit").value,
    category: row.querySelector(".category").value,
    rawText: row.dataset.raw || null,
    price: row.querySelector(".price").value === "" ? null : Number(row.querySelector(".price").value),
  })).filter((i) => i.name);
  const button = $("confirm");
  button.disabled = true;
  try {
    const data = await gql(Q.confirm, { id: job.id, items });
    showBanner("");
    state.job = null;  // re-render from the stored answer
    showJob(data.confirmProductJob, state.photos);
    updateHistoryEntry(data.confirmProductJob);
  } catch (err) {
    showBanner("Could not confirm: " + err.message);
    button.disabled = false;
  }
}

// ---------- history ----------

const ICONS = {
  RECEIPT: '<svg viewBox="0 0 24 24" width="20" height="20"><path d="M5 2.5h14v19l-2.33-1.5-2.34 1.5L12 20l-2.33 1.5L7.33 20 5 21.5z" fill="#dcfce7" stroke="#15803d" stroke-width="1.5" stroke-linejoin="round"/><path d="M8.5 7.5h7M8.5 11h7M8.5 14.5h4" stroke="#15803d" stroke-width="1.5" stroke-linecap="round"/></svg>',
  PRODUCTS: '<svg viewBox="0 0 24 24" width="20" height="20"><path d="M4 8h16l-1.5 12.5h-13z" fill="#dbeafe" stroke="#1d4ed8" stroke-width="1.5" stroke-linejoin="round"/><path d="M8.5 8V6.5a3.5 3.5 0 0 1 7 0V8" fill="none" stroke="#1d4ed8" stroke-width="1.5"/></svg>',
};
function kindIcon(jobType) {
  const span = el("span", { class: "kind", title: jobType.toLowerCase() });
  span.innerHTML = ICONS[jobType] || ICONS.RECEIPT;
  return span;
}

function historyEntry(job) {
  const count = job.result ? job.result.items.length : null;
  const when = new Date(job.createdAt);
  const title = job.jobType === "PRODUCTS" ? "Products" : "Receipt";
  const meta = [when.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " +
    when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }),
    `${job.imageCount} photo${job.imageCount === 1 ? "" : "s"}`];
  if (count != null) meta.push(`${count} item${count === 1 ? "" : "s"}`);
  if (job.confirmedAt) meta.push("\u2713 confirmed");
  return el("li", { "data-job": job.id, onclick: () => openJob(job.id) },
    kindIcon(job.jobType),
    el("span", { class: "title" }, title),
    el("span", { class: "pill " + job.status }, job.status),
    el("span", { class: "meta" }, meta.join(" · ")));
}

async function loadHistory(reset) {
  if (reset) { state.historyCursor = null; $("history-list").replaceChildren(); }
  try {
    const { productJobHistory: page } = await gql(Q.history, { first: HISTORY_PAGE, after: state.historyCursor });
    $("history-list").append(...page.edges.map((e) => historyEntry(e.node)));
    state.historyCursor = page.pageInfo.endCursor || state.historyCursor;
    $("load-more").hidden = !page.pageInfo.hasNextPage;
    $("history-empty").hidden = $("history-list").children.length > 0;
    markActiveHistory();
  } catch (err) {
    showBanner("Could not load the history: " + err.message);
  }
}

function prependHistory(job) {
  $("history-list").prepend(historyEntry(job));
  $("history-empty").hidden = true;
  markActiveHistory();
}

function updateHistoryEntry(job) {
  if (!job) return;
  const old = document.querySelector(`#history-list li[data-job="${job.id}"]`);
  if (old) old.replaceWith(historyEntry(job));
  markActiveHistory();
}

function markActiveHistory() {
  for (const li of $("history-list").children) li.classList.toggle("active", !!state.job && li.dataset.job === state.job.id);
}

async function openJob(id) {
  if (state.job && state.job.id === id) return;
  try {
    const { productJob: job } = await gql(Q.job, { id });
    if (!job) { showBanner("That job is gone."); return; }
    if (state.socket) { state.socket(); state.socket = null; }
    state.job = null;
    showJob(job, []);
    if (!TERMINAL.has(job.status)) watch(job.id);
    $("job").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (err) {
    showBanner("Could not open the job: " + err.message);
  }
}

// ---------- wiring ----------

function wire() {
  const dz = $("dropzone");
  for (const id of ["file-input", "camera-input"]) {
    $(id).addEventListener("change", async (e) => { await addFiles([...e.target.files]); e.target.value = ""; });
  }
  for (const name of ["dragenter", "dragover"]) dz.addEventListener(name, (e) => { e.preventDefault(); dz.classList.add("over"); });
  for (const name of ["dragleave", "drop"]) dz.addEventListener(name, () => dz.classList.remove("over"));
  dz.addEventListener("drop", (e) => { e.preventDefault(); addFiles([...e.dataTransfer.files]); });
  $("sample").addEventListener("click", sampleReceipt);
  $("submit").addEventListener("click", submit);
  $("confirm").addEventListener("click", confirmItems);
  $("add-item").addEventListener("click", addItem);
  $("load-more").addEventListener("click", () => loadHistory(false));
  $("history-refresh").addEventListener("click", () => loadHistory(true));
  $("token-toggle").addEventListener("click", () => {
    const panel = $("token-panel");
    panel.hidden = !panel.hidden;
    $("token-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("token-input").value = state.token;
  const saveToken = async () => {
    state.token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
    if (state.token) localStorage.setItem(TOKEN_KEY, state.token); else localStorage.removeItem(TOKEN_KEY);
    showBanner("");
    if (await refreshIdentity()) { $("token-panel").hidden = true; loadHistory(true); }
  };
  $("token-save").addEventListener("click", saveToken);
  $("token-input").addEventListener("keydown", (e) => { if (e.key === "Enter") saveToken(); });
  if (!CONFIG.graphiql) $("graphiql-link").hidden = true;
}

wire();
refreshIdentity().then((ok) => { if (ok) loadHistory(true); });
