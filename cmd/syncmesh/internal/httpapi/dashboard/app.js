// syncmesh dashboard: plain JavaScript, no build step. It reads the node's
// HTTP API; the live parts come from the /v1/watch Server-Sent Events stream.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_CHANGES = 50;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

// ---- state tree ----
function renderValue(v) {
  if (v === null) return el("span", "lit", "null");
  if (Array.isArray(v)) {
    if (v.length === 0) return el("span", "lit", "[]");
    const ul = el("ul");
    v.forEach((x, i) => {
      const li = el("li");
      li.append(el("span", "key", i + ": "), renderValue(x));
      ul.append(li);
    });
    return ul;
  }
  if (typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 0) return el("span", "lit", "{}");
    const ul = el("ul");
    for (const k of keys) {
      const li = el("li");
      li.dataset.key = k;
      li.append(el("span", "key", k + ": "), renderValue(v[k]));
      ul.append(li);
    }
    return ul;
  }
  if (typeof v === "string") return el("span", "str", JSON.stringify(v));
  if (typeof v === "number") return el("span", "num", String(v));
  return el("span", "lit", String(v));
}

function showState(state) {
  const box = $("state");
  box.replaceChildren(renderValue(state));
  box.classList.remove("flash");
  void box.offsetWidth; // restart the animation
  box.classList.add("flash");
}

// ---- recent changes ----
function describePatch(p) {
  let s = p.op + " " + (p.path === "" ? "/" : p.path);
  if (p.from !== undefined) s += " from " + p.from;
  if (p.value !== undefined) s += " = " + JSON.stringify(p.value);
  if (p.delta !== undefined) s += " (" + (p.delta >= 0 ? "+" : "") + p.delta + ")";
  return s;
}

function addChange(ev) {
  const li = el("li");
  const when = new Date(ev.at);
  li.append(el("span", "when", when.toISOString().slice(11, 23) + " "));
  if (ev.local) {
    li.append(el("span", "local", "local on " + ev.node));
  } else {
    const who = (ev.origins || []).map((o) => o.name || o.replica.slice(0, 8));
    li.append(el("span", "remote", "from " + (who.length ? who.join(", ") : "the mesh")));
  }
  const ps = ev.patches || [];
  for (const p of ps.slice(0, 5)) {
    li.append(el("br"), el("code", "", describePatch(p)));
  }
  if (ps.length > 5) li.append(el("br"), el("span", "note", "… " + (ps.length - 5) + " more"));
  const list = $("changes");
  list.prepend(li);
  while (list.children.length > MAX_CHANGES) list.lastChild.remove();
}

// ---- members, status, convergence ----
let lastStatus = null;

async function refreshMembers() {
  const m = await getJSON("/v1/members");
  $("node-name").textContent = m.self;
  document.title = "syncmesh " + m.self;
  $("member-count").textContent = "(" + m.members.length + " alive)";
  const peers = new Map(((lastStatus && lastStatus.peers) || []).map((p) => [p.name, p]));
  const ul = $("members");
  ul.replaceChildren();
  for (const x of m.members) {
    const li = el("li");
    li.dataset.name = x.name;
    const p = peers.get(x.name);
    const behind = p && !p.in_sync;
    li.append(el("span", behind ? "dot behind" : "dot"), x.name + " ", el("span", "note", x.addr));
    if (x.name === m.self) li.append(el("span", "note", " (this node)"));
    else if (p) li.append(el("span", "note", p.in_sync ? " in sync" : " " + p.ops + " ops"));
    ul.append(li);
  }
}

async function refreshStatus() {
  const s = await getJSON("/v1/status");
  lastStatus = s;
  $("state-ops").textContent = s.ops + " operations";
  const tb = document.querySelector("#versions tbody");
  tb.replaceChildren();
  for (const [r, n] of Object.entries(s.version).sort()) {
    const tr = el("tr");
    const name = s.names && s.names[r] ? s.names[r] + " " : "";
    tr.append(el("td", "", name + r), el("td", "", String(n)));
    tb.append(tr);
  }
  const conv = $("conv");
  if (s.peers && s.peers.length) {
    const ok = s.peers.filter((p) => p.in_sync).length;
    conv.textContent = ok === s.peers.length
      ? "converged with all " + ok + " peers"
      : "syncing: " + ok + "/" + s.peers.length + " peers in sync";
    conv.className = "badge " + (ok === s.peers.length ? "ok" : "warn");
    $("peer-note").textContent = "";
  } else {
    const busy = s.pending + s.quarantined + s.inbox_depth;
    conv.textContent = busy ? "catching up (" + busy + " queued)" : "idle: nothing pending";
    conv.className = "badge " + (busy ? "warn" : "ok");
    $("peer-note").textContent = "Peers' version vectors are not visible from this node; the indicator shows whether it has work pending.";
  }
}

async function refreshConflicts() {
  const c = await getJSON("/v1/conflicts");
  const ul = $("conflicts");
  ul.replaceChildren();
  if (!c.conflicts.length) ul.append(el("li", "note", "none"));
  for (const pc of c.conflicts) {
    const li = el("li");
    li.append(el("code", "", pc.path), " " + (pc.strategy || "") + " → ", el("code", "", JSON.stringify(pc.value)));
    const sub = el("ul");
    for (const v of pc.values) {
      sub.append(el("li", "", (v.winner ? "★ " : "") + JSON.stringify(v.value) + " by " + (v.name || v.replica.slice(0, 8)) +
        " at " + new Date(v.timestamp).toISOString().slice(11, 23)));
    }
    li.append(sub);
    ul.append(li);
  }
}

function safe(f) {
  return () => f().catch((e) => console.warn(e));
}

// Debounce follow-up reads after changes so a burst costs one fetch.
let pending = null;
function afterChange() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    safe(async () => showState(await getJSON("/v1/state")))();
    safe(refreshConflicts)();
    safe(refreshStatus)();
  }, 100);
}

function connect() {
  const es = new EventSource("/v1/watch");
  const badge = $("stream");
  es.onopen = () => { badge.textContent = "live stream: connected"; badge.className = "badge ok"; };
  es.onerror = () => { badge.textContent = "live stream: reconnecting"; badge.className = "badge bad"; };
  es.addEventListener("state", (m) => showState(JSON.parse(m.data)));
  es.addEventListener("change", (m) => {
    addChange(JSON.parse(m.data));
    afterChange();
  });
}

connect();
safe(refreshStatus)().then(safe(refreshMembers));
safe(refreshConflicts)();
setInterval(safe(async () => { await refreshStatus(); await refreshMembers(); }), 1000);
setInterval(safe(refreshConflicts), 5000);
