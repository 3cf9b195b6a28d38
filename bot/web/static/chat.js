// The web chat: a file, not inline, so the Content-Security-Policy needs no unsafe-inline.
"use strict";
const log = document.getElementById("log");
const input = document.getElementById("text");
const PLACEHOLDER = { ky: "Суроону жазыңыз…", ru: "Напишите вопрос…",
                      tg: "Саволро нависед…", en: "Type your question…" };

function userId() {
  let id = localStorage.getItem("safar-user");
  if (!id) {
    id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now())
      .replace(/[^A-Za-z0-9_-]/g, "");
    localStorage.setItem("safar-user", id);
  }
  return id;
}

function bubble(cls) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  log.appendChild(div);
  return div;
}

function show(reply) {
  const div = bubble("bot");
  if (reply.title) {
    const h = document.createElement("h2");
    h.textContent = reply.title;
    div.appendChild(h);
  }
  div.appendChild(document.createTextNode(reply.text));
  if (reply.hint) {
    const p = document.createElement("div");
    p.className = "hint";
    p.textContent = reply.hint;
    div.appendChild(p);
  }
  if (reply.options.length) {
    const row = document.createElement("div");
    row.className = "options";
    for (const opt of reply.options) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = (opt.key === "0" ? "↩ " : opt.key + ". ") + opt.label;
      b.onclick = () => send({ choice: opt.key }, opt.label);
      row.appendChild(b);
    }
    div.appendChild(row);
  }
}

async function send(payload, echo) {
  if (echo) bubble("me").textContent = echo;
  try {
    const res = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ user: userId() }, payload)),
    });
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.statusText);
    const first = log.children.length;
    data.replies.forEach(show);
    // a long article should be read from its top, not from its last line
    const start = log.children[first];
    if (start) start.scrollIntoView({ block: "start" });
    if (data.lang) {
      document.documentElement.lang = data.lang;
      input.placeholder = PLACEHOLDER[data.lang] || "";
    }
  } catch (err) {
    const div = bubble("bot error");
    div.textContent = "⚠ " + err.message;
    div.scrollIntoView();
  }
}

document.getElementById("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send({ text }, text);
});

send({ command: "start" });
input.focus();
