// omega-listen web inspector. Every value that comes from a capture is put
// in the page with textContent (never innerHTML): a body holding markup
// shows as those characters.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const token = document.querySelector('meta[name="omega-listen-token"]').content;
  const ROW_H = 30;
  const PAGE = 200;
  // MAX_ROWS bounds the summaries a page keeps: past it the oldest are
  // dropped (scrolling back reads them again), while the user looks at
  // the newest.
  const MAX_ROWS = 100000;

  // rows: oldest first (by seq), so a new capture is appended; the list
  // shows them newest first (rowAt). byId: id -> summary.
  const state = {
    rows: [], byId: new Map(), filter: "", more: false, loadingOlder: false,
    selected: null, ws: null, wsGen: 0, info: null, stats: null,
    maxSeq: 0, detail: null, raw: false,
  };
  // For tests and benchmarks: what the page has seen.
  window.__omega = {
    rowsInMemory: () => state.rows.length,
    domRows: () => document.querySelectorAll("#list .row").length,
    ready: false,
    firstRowsAt: 0, // ms after navigation when the first rows were drawn
    resyncs: 0, // how often the live feed said it fell behind
  };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  async function api(path, opts) {
    const r = await fetch(path, opts);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || (r.status + " " + r.statusText));
    return body;
  }

  // ---- outcome of a summary, as capture.Outcome decides it
  const F_NOTJSON = 1, F_NOTOMEGA = 2, F_REJECTED = 4, F_BACKFILL = 8;
  function outcome(s) {
    if ((s.flags || 0) & F_REJECTED) return "rejected";
    if (s.state !== "done") return "pending";
    if (s.error || !s.status) return "failed";
    if (s.status >= 200 && s.status < 300) return "ok";
    return "app_error";
  }
  function newer(a, b) { // is a a later state than b?
    return a.state === "done" && b.state !== "done";
  }

  // ---- the list
  function indexOfSeq(seq) { // the first position whose seq is >= seq
    let lo = 0, hi = state.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (state.rows[mid].seq < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  function rowAt(i) { return state.rows[state.rows.length - 1 - i]; } // i-th newest
  function upsert(s) {
    const cur = state.byId.get(s.id);
    if (cur) {
      if (newer(cur, s)) return false;
      const i = indexOfSeq(cur.seq);
      for (let j = i; j < state.rows.length && state.rows[j].seq === cur.seq; j++) {
        if (state.rows[j].id === s.id) { state.rows[j] = s; break; }
      }
      state.byId.set(s.id, s);
      return true;
    }
    const n = state.rows.length;
    if (n === 0 || state.rows[n - 1].seq < s.seq) state.rows.push(s);
    else state.rows.splice(indexOfSeq(s.seq), 0, s);
    state.byId.set(s.id, s);
    if (s.seq > state.maxSeq) state.maxSeq = s.seq;
    return true;
  }
  function remove(id) {
    const cur = state.byId.get(id);
    if (!cur) return;
    const i = state.rows.lastIndexOf(cur);
    if (i >= 0) state.rows.splice(i, 1);
    state.byId.delete(id);
  }

  let renderQueued = false;
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; renderList(); });
  }
  // queueLive redraws for the live feed at most every LIVE_MS: a flood of
  // deliveries shifts every row each time, and ten frames a second is as
  // much as an eye follows (and spares the machine the listener runs on).
  const LIVE_MS = 100;
  let liveTimer = 0, lastLive = 0;
  function queueLive() {
    if (liveTimer) return;
    const wait = Math.max(0, lastLive + LIVE_MS - performance.now());
    liveTimer = setTimeout(() => { liveTimer = 0; lastLive = performance.now(); queueRender(); }, wait);
  }

  function trimRows() {
    const extra = state.rows.length - MAX_ROWS;
    if (extra <= 0 || $("list").scrollTop / ROW_H > MAX_ROWS / 2) return;
    for (const s of state.rows.splice(0, extra)) state.byId.delete(s.id);
    state.more = true;
  }

  const pool = [];
  function renderList() {
    trimRows();
    const list = $("list"), spacer = $("spacer");
    const n = state.rows.length;
    spacer.style.height = (n * ROW_H) + "px";
    const first = Math.max(0, Math.floor(list.scrollTop / ROW_H) - 10);
    const last = Math.min(n, Math.ceil((list.scrollTop + list.clientHeight) / ROW_H) + 10);
    const want = last - first;
    while (pool.length < want) {
      const r = el("div", "row");
      r.append(el("span", "t"), el("span", "ev"), el("span", "st"), el("span", "app"), el("span", "ms"));
      r.addEventListener("click", () => select(r.dataset.id));
      spacer.append(r);
      pool.push(r);
    }
    while (pool.length > want) pool.pop().remove();
    for (let k = 0; k < want; k++) fillRow(pool[k], rowAt(first + k), first + k);
    if (want > 0 && !window.__omega.firstRowsAt) window.__omega.firstRowsAt = performance.now();
    let foot = n + " shown";
    if (state.filter) foot += " matching “" + state.filter + "”";
    if (state.more) foot += " · scroll for older";
    $("list-foot").textContent = foot;
    if (state.more && !state.loadingOlder && last >= n - 20) loadOlder();
  }

  function fmtTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toTimeString().slice(0, 8);
  }
  function fillRow(r, s, i) {
    r.style.top = (i * ROW_H) + "px";
    r.dataset.id = s.id;
    const o = outcome(s);
    r.className = "row o-" + o + (s.replay_of ? " replay" : "") + (s.id === state.selected ? " selected" : "");
    const [t, ev, st, app, ms] = r.children;
    t.textContent = fmtTime(s.received_at);
    ev.textContent = "";
    for (const m of marks(s)) ev.append(el("span", "mark " + m[0], m[1]));
    ev.append(document.createTextNode(s.event_type || (s.method + " " + s.path)));
    st.textContent = s.sent_status || (o === "pending" ? "…" : "");
    st.className = "st st-" + o;
    app.textContent = o === "failed" ? "—" : (s.status || "");
    app.className = "app st-" + o;
    ms.textContent = s.duration ? (s.duration / 1e6).toFixed(1) : "";
  }
  function marks(s) {
    const out = [];
    const o = outcome(s);
    if (s.replay_of) out.push(["replay", "replay"]);
    if ((s.flags || 0) & F_BACKFILL) out.push(["backfill", "backfill"]);
    if (o === "rejected") out.push(["rejected", "rejected"]);
    if (o === "failed") out.push(["failed", "failed"]);
    if (o === "app_error") out.push(["app_error", "app error"]);
    if ((s.flags || 0) & F_NOTJSON) out.push(["notjson", "not JSON"]);
    else if ((s.flags || 0) & F_NOTOMEGA) out.push(["notjson", "not Omega"]);
    return out;
  }

  function qs(params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "" && v !== 0) p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  async function loadFirst(gen) {
    const a = await api("/api/captures" + qs({ filter: state.filter, limit: PAGE }));
    if (gen !== state.wsGen) return;
    for (const s of a.captures) upsert(s);
    state.more = a.more;
    window.__omega.ready = true;
    queueRender();
  }
  async function loadOlder() {
    const gen = state.wsGen;
    const oldest = state.rows[0];
    if (!oldest) return;
    state.loadingOlder = true;
    try {
      const a = await api("/api/captures" + qs({ filter: state.filter, limit: PAGE, before: oldest.seq }));
      if (gen !== state.wsGen) return;
      for (const s of a.captures) upsert(s);
      state.more = a.more;
    } catch (e) {
      notice("loading older captures: " + e.message, true);
    } finally {
      state.loadingOlder = false;
      queueRender();
    }
  }
  // resync re-reads every capture with seq >= from (the live feed missed
  // some). One runs at a time: a resync asked for while one runs is folded
  // into one more run, from the lowest seq asked.
  let resyncing = false, resyncFrom = -1;
  async function resync(from) {
    window.__omega.resyncs++;
    resyncFrom = resyncFrom < 0 ? from : Math.min(resyncFrom, from);
    if (resyncing) return;
    resyncing = true;
    try {
      while (resyncFrom >= 0) {
        const f = resyncFrom;
        resyncFrom = -1;
        await resyncOnce(f);
      }
    } finally {
      resyncing = false;
      resyncFrom = -1;
    }
  }
  async function resyncOnce(from) {
    const gen = state.wsGen;
    let before = 0;
    for (;;) {
      const a = await api("/api/captures" + qs({ filter: state.filter, limit: 1000, after: Math.max(from - 1, 0), before }));
      if (gen !== state.wsGen) return;
      for (const s of a.captures) upsert(s);
      if (!a.more || a.captures.length === 0) break;
      before = a.captures[a.captures.length - 1].seq;
    }
    queueRender();
  }

  // ---- the live feed
  function connect() {
    const gen = ++state.wsGen;
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live" + qs({ filter: state.filter }));
    state.ws = ws;
    let first = true;
    // A fresh list is read at once, beside the websocket's opening: what
    // the feed brings meanwhile is merged by ID (the later state wins).
    const fresh = state.rows.length === 0;
    if (fresh) loadFirst(gen).catch((err) => notice("loading captures: " + err.message, true));
    ws.onmessage = (e) => {
      if (gen !== state.wsGen) return;
      const m = JSON.parse(e.data);
      switch (m.type) {
        case "hello":
          setConn("live", "ok");
          showState(m);
          if (first) {
            first = false;
            if (!fresh) resync(resumeFrom()).catch((err) => notice("re-reading captures: " + err.message, true));
          }
          break;
        case "state": showState(m); break;
        case "notice": notice(m.text, m.warn); break;
        case "resync":
          resync(m.from_seq || 0).catch((err) => notice("re-reading captures: " + err.message, true));
          break;
        case "capture": {
          const s = m.capture;
          if (m.match) upsert(s); else remove(s.id);
          if (s.id === state.selected && m.event === "completed") openDetail(s.id, true);
          queueLive();
          break;
        }
      }
    };
    ws.onclose = (e) => {
      if (gen !== state.wsGen) return;
      if (e.reason) notice(e.reason + ": the page reconnects when it is back.", true);
      setConn("reconnecting…", "warn");
      setTimeout(() => { if (gen === state.wsGen) connect(); }, 1000);
    };
  }
  // resumeFrom: after a reconnect, re-read from the oldest capture still
  // pending here, or after the newest.
  function resumeFrom() {
    let from = state.maxSeq + 1;
    for (const s of state.rows) if (s.state !== "done" && s.seq < from) from = s.seq;
    return from;
  }
  function setConn(text, cls) { const c = $("conn"); c.textContent = text; c.className = "pill " + cls; }

  function showState(m) {
    if (m.info) {
      const i = m.info;
      state.info = i;
      const t = $("tunnel");
      const ts = i.mode === "store" ? "store only" : (i.tunnel_state || (i.tunnel === "none" ? "local" : "connected"));
      t.textContent = (i.tunnel ? i.tunnel + ": " : "") + ts + (i.emulated ? " (emulator)" : "");
      t.className = "pill " + (/connected|local/.test(ts) ? "ok" : /reconnecting|connecting/.test(ts) ? "warn" : ts === "closed" ? "bad" : "");
      t.title = i.tunnel_error || "tunnel state";
      $("public-url").textContent = i.webhook_url || i.public_url || "";
      $("forward").textContent = i.forward ? "→ " + i.forward : (i.replay_to ? "replays → " + i.replay_to : "");
      $("endpoint").textContent = i.endpoint_id ? "endpoint " + i.endpoint_id + (i.events && i.events.length ? " · " + i.events.join(", ") : "") : "";
    }
    if (m.stats) {
      const s = m.stats, c = $("counters");
      c.textContent = "";
      c.append(el("span", "", s.total + " total"), el("span", "st-ok", s.ok + " ok"), el("span", "st-app_error", s.app_error + (s.app_error === 1 ? " app error" : " app errors")),
        el("span", "st-failed", s.failed + " failed"), el("span", "st-rejected", s.rejected + " rejected"));
      if (s.pending) c.append(el("span", "st-pending", s.pending + " in flight"));
    }
  }

  let noticeTimer = 0;
  function notice(text, warn) {
    const n = $("notice");
    n.textContent = text;
    n.className = warn ? "warn" : "";
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, warn ? 15000 : 6000);
  }

  // ---- the filter
  function applyFilter(f) {
    state.filter = f.trim();
    state.rows = []; state.byId = new Map(); state.more = false; state.maxSeq = 0;
    $("list").scrollTop = 0;
    $("har-all").href = "/api/export.har" + qs({ filter: state.filter });
    // Check the syntax before reconnecting: the server answers 400.
    api("/api/captures" + qs({ filter: state.filter, limit: 1 })).then(() => {
      $("filter-error").hidden = true;
      connect();
    }, (e) => {
      const fe = $("filter-error");
      fe.textContent = e.message;
      fe.hidden = false;
    });
    queueRender();
  }

  // ---- a delivery
  async function select(id) {
    state.selected = id;
    queueRender();
    await openDetail(id, false);
  }

  async function openDetail(id, refresh) {
    let d;
    try {
      d = await api("/api/captures/" + encodeURIComponent(id));
    } catch (e) {
      if (!refresh) notice("opening " + id + ": " + e.message, true);
      return;
    }
    if (state.selected !== id) return;
    state.detail = d;
    renderDetail(d);
  }

  function dlRows(dl, pairs) {
    dl.textContent = "";
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === "") continue;
      const dd = el("dd", "", typeof v === "object" ? "" : v);
      if (typeof v === "object") dd.append(v);
      dl.append(el("dt", "", k), dd);
    }
  }
  function headerTable(t, list) {
    t.textContent = "";
    for (const [k, v] of list || []) {
      const tr = el("tr");
      tr.append(el("td", "", k), el("td", "", v));
      t.append(tr);
    }
    if (!list || list.length === 0) {
      const tr = el("tr");
      tr.append(el("td", "muted", "none"));
      t.append(tr);
    }
  }
  function link(id, text) {
    const a = el("a", "mono", text || id);
    a.href = "#";
    a.addEventListener("click", (e) => { e.preventDefault(); select(id); });
    return a;
  }

  function renderDetail(d) {
    $("empty").hidden = true;
    $("detail").hidden = false;
    const o = d.outcome;
    $("d-title").textContent = (d.event_type || "(no event type)") + "  ·  " + d.id;
    const mk = $("d-marks");
    mk.textContent = "";
    for (const m of marks(d)) mk.append(el("span", "mark " + m[0], m[1]));
    const ms = d.duration ? (d.duration / 1e6).toFixed(1) + " ms" : "";
    let app;
    if (o === "rejected") app = "not forwarded: " + (d.reject_reason || "rejected");
    else if (o === "pending") app = "waiting for the app…";
    else if (o === "failed") app = "not reached: " + (d.error || "no answer");
    else app = d.status + (ms ? " in " + ms : "");
    dlRows($("d-outcome"), [
      ["Omega was answered", d.sent_status ? String(d.sent_status) : (o === "pending" ? "…" : "")],
      ["app", app],
      ["error", o === "failed" ? "" : d.error],
      ["forwarded to", d.target],
      ["received", d.received_at],
      ["completed", d.completed_at],
    ]);
    $("d-outcome").querySelectorAll("dd")[1].className = "st-" + o;
    headerTable($("d-resp-headers"), d.response_header_list);
    renderBody($("d-resp-body"), d.response_body, d.response_body_encoding);
    dlRows($("d-request"), [
      ["request", d.method + " " + d.path],
      ["event id", d.event_id],
      ["endpoint", d.endpoint_id],
      ["event created", d.event_created],
      ["from", d.remote_addr],
      ["body", d.body_size + " bytes" + (d.body_encoding === "base64" ? " (binary, shown as base64)" : "")],
    ]);
    headerTable($("d-headers"), d.header_list);
    renderBody($("d-body"), d.body, d.body_encoding);
    $("d-raw").textContent = d.body;
    $("d-raw").hidden = !state.raw;
    $("d-body").hidden = state.raw;
    const lin = $("d-lineage");
    lin.textContent = "";
    if (d.replay_of) {
      const p = el("div", "", "replay of ");
      p.append(link(d.replay_of));
      lin.append(p);
    }
    for (const r of d.replays || []) {
      const p = el("div", "");
      p.append(link(r.id), document.createTextNode("  " + fmtTime(r.received_at) + "  " + (r.sent_status || "…") + "  "));
      for (const m of marks(r)) if (m[0] !== "replay") p.append(el("span", "mark " + m[0], m[1]));
      lin.append(p);
    }
    if (!d.replay_of && (!d.replays || d.replays.length === 0)) lin.append(el("div", "muted", "not replayed yet"));
    const rej = o === "rejected";
    $("replay").disabled = rej;
    $("edit").disabled = rej;
    $("curl").disabled = !d.curl;
    $("har-one").href = "/api/export.har" + qs({ id: d.id });
  }

  // renderBody shows JSON as a folding tree, anything else as text.
  function renderBody(box, text, enc) {
    box.textContent = "";
    box.classList.remove("tree");
    if (!text) { box.append(el("span", "muted", "(empty)")); return; }
    if (enc === "base64") { box.textContent = text; return; }
    let v;
    try { v = JSON.parse(text); } catch (e) { box.textContent = text; return; }
    if (v === null || typeof v !== "object") { box.textContent = text; return; }
    const budget = { n: 20000 };
    const tree = jsonNode(v, null, budget, 0);
    if (budget.n < 0) { box.textContent = JSON.stringify(v, null, 2); return; }
    box.classList.add("tree");
    box.append(tree);
  }
  function scalar(v) {
    if (v === null) return el("span", "z", "null");
    switch (typeof v) {
      case "string": return el("span", "s", JSON.stringify(v));
      case "number": return el("span", "n", String(v));
      case "boolean": return el("span", "b", String(v));
    }
    return el("span", "", String(v));
  }
  function jsonNode(v, key, budget, depth) {
    budget.n--;
    const keyEl = () => key === null ? null : el("span", "k", JSON.stringify(key) + ": ");
    if (v === null || typeof v !== "object") {
      const d = el("div", "kv");
      const k = keyEl();
      if (k) d.append(k);
      d.append(scalar(v));
      return d;
    }
    const arr = Array.isArray(v);
    const entries = arr ? v.map((x, i) => [i, x]) : Object.entries(v);
    const det = el("details");
    det.open = depth < 4;
    const sum = el("summary");
    const k = keyEl();
    if (k) sum.append(k);
    sum.append(document.createTextNode((arr ? "[" : "{") + (entries.length ? "" : (arr ? "]" : "}"))));
    if (entries.length) sum.append(el("span", "muted", "  " + entries.length + (arr ? " item" : " key") + (entries.length === 1 ? "" : "s")));
    det.append(sum);
    for (const [ck, cv] of entries) {
      if (budget.n < 0) break;
      det.append(jsonNode(cv, arr ? null : ck, budget, depth + 1));
    }
    if (entries.length) det.append(el("div", "", arr ? "]" : "}"));
    return det;
  }

  // ---- actions
  function setStatus(text) { $("action-status").textContent = text; }
  async function replay(body, headers) {
    const d = state.detail;
    if (!d) return;
    const req = {};
    if (body !== undefined) req.body = body;
    if (headers !== undefined) req.headers = headers;
    setStatus("replaying…");
    const r = await api("/api/captures/" + encodeURIComponent(d.id) + "/replay", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Omega-Listen-Token": token },
      body: JSON.stringify(req),
    });
    upsert(r);
    queueRender();
    setStatus("replayed as " + r.id + ": " + (r.sent_status || r.status || r.error || ""));
    return r;
  }

  function openEditor() {
    const d = state.detail;
    if (!d) return;
    $("edit-of").textContent = d.id;
    $("edit-body").value = d.body_encoding === "base64" ? "" : d.body;
    $("edit-headers").value = (d.header_list || []).map(([k, v]) => k + ": " + v).join("\n");
    $("edit-error").textContent = d.body_encoding === "base64" ? "The body is binary: it cannot be edited here." : "";
    $("editor").hidden = false;
    validateEdit();
    $("edit-body").focus();
  }
  function isJSON(s) { try { JSON.parse(s); return true; } catch (e) { return false; } }
  function parseHeaderLines(text) {
    const out = [];
    for (const [i, line] of text.split("\n").entries()) {
      if (line.trim() === "") continue;
      const c = line.indexOf(":");
      if (c <= 0) throw new Error("header line " + (i + 1) + ": want \"Name: value\"");
      out.push([line.slice(0, c).trim(), line.slice(c + 1).trim()]);
    }
    return out;
  }
  function validateEdit() {
    const d = state.detail;
    const err = $("edit-error");
    let msg = "";
    if (d.body_encoding === "base64") msg = "The body is binary: it cannot be edited here.";
    else if (isJSON(d.body) && !isJSON($("edit-body").value)) {
      try { JSON.parse($("edit-body").value); } catch (e) { msg = "Not JSON: " + e.message; }
    }
    if (!msg) { try { parseHeaderLines($("edit-headers").value); } catch (e) { msg = e.message; } }
    err.textContent = msg;
    $("edit-send").disabled = msg !== "";
  }
  async function sendEdit() {
    let headers;
    try { headers = parseHeaderLines($("edit-headers").value); } catch (e) { $("edit-error").textContent = e.message; return; }
    $("edit-send").disabled = true;
    try {
      const r = await replay($("edit-body").value, headers);
      $("editor").hidden = true;
      if (r) select(r.id);
    } catch (e) {
      $("edit-error").textContent = e.message;
    } finally {
      $("edit-send").disabled = false;
    }
  }
  async function copyCurl() {
    const d = state.detail;
    if (!d || !d.curl) return;
    try {
      await navigator.clipboard.writeText(d.curl);
      setStatus("curl command copied");
    } catch (e) {
      const t = $("curl-text");
      t.value = d.curl;
      t.hidden = false;
      t.select();
      setStatus("select and copy the command below");
    }
  }

  // ---- wiring
  document.addEventListener("DOMContentLoaded", () => {
    $("list").addEventListener("scroll", queueRender, { passive: true });
    window.addEventListener("resize", queueRender);
    $("filter").addEventListener("keydown", (e) => { if (e.key === "Enter") applyFilter($("filter").value); });
    $("filter").addEventListener("search", () => { if ($("filter").value === "") applyFilter(""); });
    $("replay").addEventListener("click", () => replay().catch((e) => setStatus("replay failed: " + e.message)));
    $("edit").addEventListener("click", openEditor);
    $("edit-cancel").addEventListener("click", () => { $("editor").hidden = true; });
    $("edit-body").addEventListener("input", validateEdit);
    $("edit-headers").addEventListener("input", validateEdit);
    $("edit-send").addEventListener("click", sendEdit);
    $("curl").addEventListener("click", copyCurl);
    $("raw-toggle").addEventListener("click", () => {
      state.raw = !state.raw;
      $("d-raw").hidden = !state.raw;
      $("d-body").hidden = state.raw;
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") $("editor").hidden = true;
      if (e.target === $("list") && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
        e.preventDefault();
        const n = state.rows.length;
        let i = n - 1 - state.rows.findIndex((s) => s.id === state.selected);
        if (i >= n) i = -1;
        i = Math.max(0, Math.min(n - 1, i + (e.key === "ArrowDown" ? 1 : -1)));
        if (rowAt(i)) select(rowAt(i).id);
      }
    });
    connect();
  });
})();
