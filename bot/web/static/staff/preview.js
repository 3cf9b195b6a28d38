"use strict";
// The staff preview: the page holds the session and sends it back with every step, so a
// preview never touches anyone's real conversation. No inline script: the page's CSP forbids it.

const state = {
  session: null, draft: null, gen: 0, sms: { n: 0, cyr: 0, lat: 0, costCyr: 0, costLat: 0 },
};
const $ = (id) => document.getElementById(id);
const log = $("log");

function channel() { return document.querySelector("input[name=channel]:checked").value; }
function lang() { return $("lang").value; }

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Telegram HTML from our renderer has only <b>, <i> and the three escapes: rebuild it as DOM
// nodes instead of innerHTML, so nothing in content can ever become markup here.
function telegramHtml(target, html) {
  let node = target;
  for (const part of html.split(/(<\/?[bi]>)/)) {
    if (part === "<b>" || part === "<i>") {
      const child = document.createElement(part === "<b>" ? "b" : "i");
      node.appendChild(child);
      node = child;
    } else if (part === "</b>" || part === "</i>") {
      node = node.parentNode || target;
    } else if (part) {
      node.appendChild(document.createTextNode(
        part.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&")));
    }
  }
}

function showTelegram(messages) {
  for (const msg of messages) {
    const div = el("div", "tg");
    div.dataset.kind = msg.kind;
    telegramHtml(div, msg.html);
    if (msg.buttons.length) {
      const kb = el("div", "keyboard");
      for (const row of msg.buttons) {
        const r = el("div", "row");
        for (const b of row) {
          const button = el("button", "", b.label);
          button.type = "button";
          button.addEventListener("click", () => send({ choice: b.key }, b.label));
          r.appendChild(button);
        }
        kb.appendChild(r);
      }
      div.appendChild(kb);
    }
    log.appendChild(div);
  }
}

function money(x) { return x.toFixed(2); }

function showSms(sms) {
  const grid = el("div", "sms");
  const names = { cyr: "Cyrillic (KIR)", lat: "Latin (LAT)" };
  for (const script of ["cyr", "lat"]) {
    const s = sms.scripts[script];
    const phone = el("div", "phone" + (sms.script === script ? " current" : ""));
    phone.dataset.script = script;
    phone.appendChild(el("h3", "", names[script] + (sms.script === script ? " · this person's" : "")));
    phone.appendChild(el("pre", "", s.text));
    const meta = el("div", "meta" + (s.over_budget ? " over" : ""),
      `${s.segments} segment${s.segments === 1 ? "" : "s"} · ${s.encoding} · ${s.units} units` +
      ` · cost ${money(s.cost)}` + (s.over_budget ? " · over the budget" : ""));
    meta.dataset.segments = String(s.segments);
    phone.appendChild(meta);
    grid.appendChild(phone);
  }
  log.appendChild(grid);
  if (sms.keys.length) {
    const keys = el("div", "keys");
    for (const key of sms.keys) {
      const b = el("button", "", key);
      b.type = "button";
      b.addEventListener("click", () => send({ text: key }, key));
      keys.appendChild(b);
    }
    log.appendChild(keys);
  }
  const t = state.sms;
  t.n += 1; t.cyr += sms.scripts.cyr.segments; t.lat += sms.scripts.lat.segments;
  t.costCyr += sms.scripts.cyr.cost; t.costLat += sms.scripts.lat.cost;
  $("totals").textContent = `This conversation: ${t.n} SMS · Cyrillic ${t.cyr} segments ` +
    `(${money(t.costCyr)}) · Latin ${t.lat} segments (${money(t.costLat)})`;
}

async function post(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  if (res.status === 401) { window.location.reload(); throw new Error("logged out"); }
  const data = await res.json();
  return { res, data };
}

async function send(payload, echo) {
  if (echo) log.appendChild(el("div", "me", echo));
  const gen = state.gen; // an answer to a conversation restarted meanwhile is dropped
  try {
    const body = Object.assign(
      { channel: channel(), lang: lang(), session: state.session, draft: state.draft }, payload);
    const { res, data } = await post("/staff/api/turn", body);
    if (gen !== state.gen) return;
    if (!res.ok) throw new Error(data.error || res.statusText);
    state.session = data.session;
    const first = log.children.length;
    if (data.messages) showTelegram(data.messages);
    if (data.sms) showSms(data.sms);
    if (data.handoff) {
      log.appendChild(el("div", "note", "Here a real conversation is handed to a person " +
        "(the operators are told); the preview tells no one."));
    }
    const start = log.children[first];
    if (start) start.scrollIntoView({ block: "start" });
  } catch (err) {
    log.appendChild(el("div", "error", "⚠ " + err.message));
  }
}

function restart() {
  state.gen += 1;
  state.session = null;
  state.sms = { n: 0, cyr: 0, lat: 0, costCyr: 0, costLat: 0 };
  log.replaceChildren();
  $("totals").textContent = "";
  document.documentElement.lang = lang();
  send({});
}

function showProblems(data) {
  const list = $("problems");
  list.replaceChildren();
  if (data.ok) list.appendChild(el("li", "ok", `No errors: previewing ${data.files.join(", ")}`));
  for (const p of data.problems || []) {
    list.appendChild(el("li", p.includes(": warning: ") ? "warning" : "", p));
  }
  if (!data.ok && !(data.problems || []).length && data.error) {
    list.appendChild(el("li", "", data.error));
  }
}

async function useDraft(body) {
  const { data } = await post("/staff/api/draft", body);
  showProblems(data);
  if (data.ok) {
    state.draft = data.draft;
    $("source").textContent = `draft ${data.version}: ${data.files.join(", ")} (not live)`;
    $("source").classList.add("draft");
    restart();
  }
}

$("upload").addEventListener("click", async () => {
  const files = {};
  for (const f of $("files").files) files[f.name] = await f.text();
  if (!Object.keys(files).length) { showProblems({ problems: ["Pick one or more files first."] }); return; }
  useDraft({ files });
});
$("from-dir").addEventListener("click", () => useDraft({ from_dir: true }));
$("live").addEventListener("click", () => {
  state.draft = null;
  $("source").textContent = "live content";
  $("source").classList.remove("draft");
  $("problems").replaceChildren();
  restart();
});
$("controls").addEventListener("submit", (ev) => { ev.preventDefault(); restart(); });
$("controls").addEventListener("change", restart);
$("say").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  send({ text }, text);
});
restart();
