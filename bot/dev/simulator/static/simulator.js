// The simulator page: builds nothing itself; the server signs/encrypts and posts to the real webhook.
"use strict";
const $ = (id) => document.getElementById(id);
const chats = new Map();          // openid -> array of rendered nodes, so switching citizens keeps each chat
const seenPushes = new Map();     // openid -> last push id shown

function currentOpenid() { return $("citizen").value; }

function chatFor(openid) {
  if (!chats.has(openid)) chats.set(openid, []);
  return chats.get(openid);
}

function show(openid, node) {
  chatFor(openid).push(node);
  if (openid === currentOpenid()) {
    $("chat").appendChild(node);
    $("chat").scrollTop = $("chat").scrollHeight;
  }
}

function redraw() {
  $("chat").replaceChildren(...chatFor(currentOpenid()));
  $("chat").scrollTop = $("chat").scrollHeight;
}

// Text with line breaks and clickable links; never innerHTML, so nothing the bot echoes can run.
function richText(text) {
  const frag = document.createDocumentFragment();
  const parts = String(text).split(/(https?:\/\/[^\s，。）)]+)/);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      const a = document.createElement("a");
      a.href = part; a.textContent = part; a.target = "_blank"; a.rel = "noopener";
      frag.appendChild(a);
    } else {
      frag.appendChild(document.createTextNode(part));
    }
  });
  return frag;
}

function bubble(who, content) {
  const row = document.createElement("div");
  row.className = "msg " + who;
  const b = document.createElement("div");
  b.className = "bubble";
  b.appendChild(typeof content === "string" ? richText(content) : content);
  row.appendChild(b);
  return row;
}

function note(text) {
  const n = document.createElement("div");
  n.className = "note";
  n.textContent = text;
  return n;
}

function newsCard(who, articles) {
  const row = document.createElement("div");
  row.className = "msg " + who;
  const card = document.createElement("div");
  card.className = "card";
  articles.forEach((a) => {
    const link = document.createElement("a");
    if (/^https?:\/\//.test(a.url)) { link.href = a.url; link.target = "_blank"; link.rel = "noopener"; }
    if (/^https?:\/\//.test(a.image)) { const img = document.createElement("img"); img.src = a.image; img.alt = ""; link.appendChild(img); }
    const t = document.createElement("div"); t.className = "title"; t.textContent = a.title; link.appendChild(t);
    const d = document.createElement("div"); d.className = "desc"; d.textContent = a.description; link.appendChild(d);
    card.appendChild(link);
  });
  row.appendChild(card);
  return row;
}

// A mass-sent article (mpnews) as WeChat shows it: cover, title and digest, and 阅读原文 (its source link).
function articleCard(who, a) {
  const row = document.createElement("div");
  row.className = "msg " + who;
  const card = document.createElement("div");
  card.className = "card article";
  if (/^(https?:\/\/|\/)/.test(a.cover)) {
    const img = document.createElement("img"); img.src = a.cover; img.alt = "封面"; img.className = "cover";
    card.appendChild(img);
  }
  const t = document.createElement("div"); t.className = "title"; t.textContent = a.title; card.appendChild(t);
  const d = document.createElement("div"); d.className = "desc"; d.textContent = a.digest; card.appendChild(d);
  if (/^https?:\/\//.test(a.source)) {
    const more = document.createElement("a");
    more.className = "read-more"; more.href = a.source; more.target = "_blank"; more.rel = "noopener";
    more.textContent = "阅读原文";
    card.appendChild(more);
  }
  row.appendChild(card);
  return row;
}

function renderReply(openid, reply, who = "bot") {
  if (reply.type === "text") show(openid, bubble(who, reply.content));
  else if (reply.type === "article") show(openid, articleCard(who, reply));
  else if (reply.type === "news") show(openid, newsCard(who, reply.articles));
  else if (reply.type === "image") show(openid, bubble(who, "[图片] " + (reply.media_id || "")));
  else if (reply.type === "error") show(openid, note("服务器返回 " + reply.status));
}

// The server's Chinese explanation of a refused request (bot/error_pages.py), else its status code.
async function errorText(response) {
  try { return (await response.json()).error || String(response.status); } catch (_) { return String(response.status); }
}

async function send(message, echo) {
  const openid = currentOpenid();
  if (echo) show(openid, typeof echo === "string" ? bubble("me", echo) : echo);
  const response = await fetch("api/send", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({...message, openid, aes: $("aes").checked}),
  });
  if (!response.ok) { show(openid, note("发送失败：" + await errorText(response))); return; }
  const data = await response.json();
  $("raw-request").textContent = data.request_xml;
  $("raw-body").textContent = data.request_body;
  $("raw-reply").textContent = data.reply_body;
  $("raw-reply-xml").textContent = data.reply_xml;
  renderReply(openid, data.reply);
}

async function pollPushes() {
  for (const [openid] of chats) {
    const after = seenPushes.get(openid) || 0;
    try {
      const response = await fetch(`api/pushes?openid=${encodeURIComponent(openid)}&after=${after}`);
      if (!response.ok) continue;
      const data = await response.json();
      data.pushes.forEach((p) => {
        seenPushes.set(openid, Math.max(seenPushes.get(openid) || 0, p.id));
        show(openid, note({mass: "群发消息", subscribe: "订阅通知", template: "模板消息"}[p.channel] || "客服/推送消息"));
        renderReply(openid, p.reply, "push");
      });
    } catch (e) { /* the server restarting: try again next tick */ }
  }
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("text").value = "";
  send({type: "text", text}, text);
});
$("citizen").addEventListener("change", () => { chatFor(currentOpenid()); redraw(); });
$("follow").addEventListener("click", () => { show(currentOpenid(), note("你关注了公众号")); send({type: "event", event: "subscribe", key: ""}); });
$("unfollow").addEventListener("click", () => { show(currentOpenid(), note("你取消了关注")); send({type: "event", event: "unsubscribe", key: ""}); });
$("accept-subscribe").addEventListener("click", async () => {
  const openid = currentOpenid();
  const response = await fetch("api/subscribe", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({openid}),
  });
  if (!response.ok) { show(openid, note("订阅失败：" + await errorText(response))); return; }
  const data = await response.json();
  $("raw-request").textContent = data.request_xml;
  show(openid, note(`你在弹窗中同意接收订阅通知（${data.templates.length} 种），每种可收到一条`));
});
$("toggle-extras").addEventListener("click", () => { $("extras").hidden = !$("extras").hidden; });
document.querySelectorAll(".place").forEach((b) => b.addEventListener("click", () => {
  send({type: "location", latitude: b.dataset.lat, longitude: b.dataset.lng, label: b.dataset.label}, "[位置] " + b.dataset.label);
}));
$("send-coords").addEventListener("click", () => {
  const label = $("label").value || `${$("lat").value},${$("lng").value}`;
  send({type: "location", latitude: $("lat").value, longitude: $("lng").value, label}, "[位置] " + label);
});
$("send-voice").addEventListener("click", () => {
  const text = $("voice-text").value;
  $("voice-text").value = "";
  send({type: "voice", text}, "[语音] " + text);
});
$("photo").addEventListener("change", async () => {
  const file = $("photo").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("photo", file);
  const response = await fetch("api/upload", {method: "POST", body: form});
  $("photo").value = "";
  if (!response.ok) { show(currentOpenid(), note("照片上传失败：" + await errorText(response))); return; }
  const media = await response.json();
  const img = document.createElement("img");
  img.src = media.pic_url; img.alt = "照片"; img.style.maxWidth = "160px";
  send({type: "image", media_id: media.media_id, pic_url: media.pic_url}, bubble("me", img));
});
document.querySelectorAll(".menu-open").forEach((b) => b.addEventListener("click", () => {
  const sub = b.nextElementSibling;
  document.querySelectorAll(".submenu").forEach((s) => { if (s !== sub) s.hidden = true; });
  sub.hidden = !sub.hidden;
}));
document.querySelectorAll(".menu-item").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".submenu").forEach((s) => { s.hidden = true; });
  if (b.dataset.type === "view") {
    show(currentOpenid(), note("打开网页：" + b.dataset.url));
    send({type: "event", event: "VIEW", key: b.dataset.url});
  } else {
    show(currentOpenid(), note("点击菜单：" + b.textContent));
    send({type: "event", event: "CLICK", key: b.dataset.key});
  }
}));
chatFor(currentOpenid());
setInterval(pollPushes, 1500);
