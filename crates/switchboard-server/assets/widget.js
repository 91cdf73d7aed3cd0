/* Switchboard chat widget. Written for Switchboard; no dependencies.
 * Embed: <script src="https://switchboard.example/widget.js" data-channel="CHANNEL_ID" async></script>
 * Optional: data-lang="en|de|fr|es", data-identifier + data-identifier-hash, or data-jwt
 * (a signed-in user of the site). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.SwitchboardChat) return;
  var channel = script.getAttribute("data-channel");
  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var wsBase = origin.replace(/^http/, "ws");
  var STRINGS = {
    en: { open: "Open chat", close: "Close chat", title: "Chat with us", send: "Send", placeholder: "Write a message…", sending: "Sending…", offline: "Reconnecting…", you: "You", agent: "Team", name: "Your name", email: "Your e-mail", start: "Start chat", skip: "Skip", typing: "is typing…", attach: "Attach a file", uploading: "Uploading…", tooLarge: "That file is too large.", badType: "Send an image, a PDF or a text file.", away: "We're away right now.", back: "We'll answer from {when}.", noAnswer: "Nobody has answered yet.", leaveEmail: "Leave your e-mail and we'll answer by e-mail.", emailMe: "Answer me by e-mail", saved: "We'll answer {email} by e-mail if you have left." },
    de: { open: "Chat öffnen", close: "Chat schließen", title: "Schreiben Sie uns", send: "Senden", placeholder: "Nachricht schreiben…", sending: "Wird gesendet…", offline: "Verbindung wird hergestellt…", you: "Sie", agent: "Team", name: "Ihr Name", email: "Ihre E-Mail", start: "Chat beginnen", skip: "Überspringen", typing: "schreibt…", attach: "Datei anhängen", uploading: "Wird hochgeladen…", tooLarge: "Die Datei ist zu groß.", badType: "Senden Sie ein Bild, ein PDF oder eine Textdatei.", away: "Wir sind gerade nicht da.", back: "Wir antworten ab {when}.", noAnswer: "Noch hat niemand geantwortet.", leaveEmail: "Hinterlassen Sie Ihre E-Mail, wir antworten per E-Mail.", emailMe: "Per E-Mail antworten", saved: "Wir antworten an {email}, falls Sie nicht mehr da sind." },
    fr: { open: "Ouvrir le chat", close: "Fermer le chat", title: "Écrivez-nous", send: "Envoyer", placeholder: "Votre message…", sending: "Envoi…", offline: "Reconnexion…", you: "Vous", agent: "Équipe", name: "Votre nom", email: "Votre e-mail", start: "Commencer", skip: "Passer", typing: "écrit…", attach: "Joindre un fichier", uploading: "Envoi du fichier…", tooLarge: "Ce fichier est trop volumineux.", badType: "Envoyez une image, un PDF ou un fichier texte.", away: "Nous sommes absents pour le moment.", back: "Nous répondrons à partir de {when}.", noAnswer: "Personne n'a encore répondu.", leaveEmail: "Laissez votre e-mail, nous répondrons par e-mail.", emailMe: "Me répondre par e-mail", saved: "Nous répondrons à {email} si vous êtes parti." },
    es: { open: "Abrir chat", close: "Cerrar chat", title: "Escríbenos", send: "Enviar", placeholder: "Escribe un mensaje…", sending: "Enviando…", offline: "Reconectando…", you: "Tú", agent: "Equipo", name: "Tu nombre", email: "Tu correo", start: "Empezar", skip: "Omitir", typing: "está escribiendo…", attach: "Adjuntar archivo", uploading: "Subiendo…", tooLarge: "El archivo es demasiado grande.", badType: "Envía una imagen, un PDF o un archivo de texto.", away: "Ahora no estamos.", back: "Responderemos a partir de {when}.", noAnswer: "Nadie ha respondido todavía.", leaveEmail: "Deja tu correo y te responderemos por correo.", emailMe: "Respóndeme por correo", saved: "Responderemos a {email} si te has ido." }
  };
  var lang = (script.getAttribute("data-lang") || navigator.language || "en").slice(0, 2);
  var t = STRINGS[lang] || STRINGS.en;
  var key = "sb-chat-" + channel;
  var store = {
    get: function (k) { try { return localStorage.getItem(key + "-" + k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(key + "-" + k, v); } catch (e) { /* private mode */ } }
  };

  // seq: the last message shown on this page; a new page asks for the whole history again.
  // uploadToken: from the welcome; waitTimer: runs from the visitor's message until an answer.
  var state = { socket: null, seq: 0, pending: [], shown: {}, retry: 1000, open: false, config: {},
    uploadToken: null, followup: null, waitTimer: null };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }

  // A paper clip drawn here (no icon font: not every system has emoji).
  function clip() {
    var ns = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24"); icon.setAttribute("width", "16"); icon.setAttribute("height", "16");
    icon.setAttribute("aria-hidden", "true"); icon.setAttribute("focusable", "false");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("fill", "none"); p.setAttribute("stroke", "currentColor"); p.setAttribute("stroke-width", "2");
    p.setAttribute("stroke-linecap", "round");
    p.setAttribute("d", "M16.5 6.5v9a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10a1.5 1.5 0 0 1-3 0V6.5");
    icon.appendChild(p);
    return icon;
  }

  var root = el("div", { "class": "sb-chat", "data-position": "right" });
  var bubble = el("button", { "class": "sb-bubble", type: "button", "aria-label": t.open, "aria-expanded": "false" });
  // A speech-bubble icon drawn here (no icon font, no image request).
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "26"); svg.setAttribute("height", "26");
  svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  svg.appendChild(path); bubble.appendChild(svg);
  var panel = el("section", { "class": "sb-panel", role: "dialog", "aria-label": t.title, hidden: "" });
  var header = el("header", { "class": "sb-header" });
  var title = el("h2", { "class": "sb-title" }, t.title);
  var closeBtn = el("button", { "class": "sb-close", type: "button", "aria-label": t.close }, "×");
  var status = el("p", { "class": "sb-status", role: "status", "aria-live": "polite" });
  var log = el("ol", { "class": "sb-log", role: "log", "aria-live": "polite", tabindex: "0" });
  var form = el("form", { "class": "sb-form" });
  var input = el("textarea", { "class": "sb-input", rows: "2", "aria-label": t.placeholder, placeholder: t.placeholder, maxlength: "5000" });
  var sendBtn = el("button", { "class": "sb-send", type: "submit" }, t.send);
  // Files: a real (visually hidden) file input behind a labelled button.
  var fileInput = el("input", { "class": "sb-file", type: "file", tabindex: "-1", "aria-hidden": "true" });
  var attachBtn = el("button", { "class": "sb-attach", type: "button", "aria-label": t.attach, title: t.attach });
  attachBtn.appendChild(clip());
  // Away or unanswered: when the team is back, and an e-mail address to answer to.
  var away = el("div", { "class": "sb-away", role: "status", hidden: "" });
  var awayText = el("p", { "class": "sb-away-text" });
  var follow = el("form", { "class": "sb-followup", hidden: "" });
  var followEmail = el("input", { "class": "sb-followup-email", type: "email", required: "", autocomplete: "email", "aria-label": t.email, placeholder: t.email, maxlength: "254" });
  var followBtn = el("button", { "class": "sb-followup-send", type: "submit" }, t.emailMe);
  follow.appendChild(followEmail); follow.appendChild(followBtn);
  away.appendChild(awayText); away.appendChild(follow);
  // The pre-chat form: name and e-mail, asked once when the channel wants them.
  var pre = el("form", { "class": "sb-prechat", hidden: "" });
  var preName = el("input", { "class": "sb-name", type: "text", autocomplete: "name", "aria-label": t.name, placeholder: t.name, maxlength: "100" });
  var preEmail = el("input", { "class": "sb-email", type: "email", autocomplete: "email", "aria-label": t.email, placeholder: t.email, maxlength: "200" });
  var preStart = el("button", { "class": "sb-start", type: "submit" }, t.start);
  var preSkip = el("button", { "class": "sb-skip", type: "button" }, t.skip);
  pre.appendChild(preName); pre.appendChild(preEmail); pre.appendChild(preStart); pre.appendChild(preSkip);
  var typing = el("p", { "class": "sb-typing", "aria-live": "polite" });
  header.appendChild(title); header.appendChild(closeBtn);
  form.appendChild(attachBtn); form.appendChild(fileInput); form.appendChild(input); form.appendChild(sendBtn);
  panel.appendChild(header); panel.appendChild(status); panel.appendChild(away); panel.appendChild(pre); panel.appendChild(log);
  panel.appendChild(typing); panel.appendChild(form);
  root.appendChild(panel); root.appendChild(bubble);

  var css = el("link", { rel: "stylesheet", href: origin + "/widget.css" });

  function needsPrechat() {
    var p = state.config.prechat;
    return (p === "optional" || p === "required") && !store.get("introduced") &&
      !script.getAttribute("data-identifier") && !script.getAttribute("data-jwt");
  }

  function toggle(open) {
    state.open = open;
    if (open) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "");
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? t.close : t.open);
    if (!open) { bubble.focus(); return; }
    if (needsPrechat()) {
      pre.removeAttribute("hidden"); form.setAttribute("hidden", "");
      preEmail.required = state.config.prechat === "required";
      preName.required = state.config.prechat === "required";
      if (state.config.prechat === "required") preSkip.setAttribute("hidden", ""); else preSkip.removeAttribute("hidden");
      preName.focus();
      return;
    }
    input.focus(); connect();
  }

  function introduced(name, email) {
    if (name) store.set("name", name);
    if (email) store.set("email", email);
    store.set("introduced", "1");
    pre.setAttribute("hidden", ""); form.removeAttribute("hidden");
    input.focus(); connect();
  }

  function show(item) {
    // item: {seq?, client_id?, from, text, pending?}
    var id = item.seq ? "s" + item.seq : "c" + item.client_id;
    if (item.seq && state.shown["s" + item.seq]) return;
    var li = item.client_id && state.shown["c" + item.client_id];
    if (!li) {
      li = el("li", { "class": "sb-msg sb-" + item.from });
      li.appendChild(el("span", { "class": "sb-who" }, item.from === "visitor" ? t.you : (item.author || t.agent)));
      if (item.text) li.appendChild(el("span", { "class": "sb-text" }, item.text));
      (item.attachments || []).forEach(function (a) {
        var f = el("span", { "class": "sb-file-name" });
        f.appendChild(clip()); f.appendChild(document.createTextNode(" " + a.name));
        li.appendChild(f);
      });
      log.appendChild(li);
    }
    li.classList.toggle("sb-pending", !!item.pending);
    li.setAttribute("aria-busy", item.pending ? "true" : "false");
    if (item.client_id) state.shown["c" + item.client_id] = li;
    if (item.seq) { state.shown[id] = li; li.setAttribute("data-seq", item.seq); }
    log.scrollTop = log.scrollHeight;
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
  }

  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^A-Za-z0-9-]/g, "");
  }

  function submit(text, files) {
    text = text.trim();
    files = files || [];
    if (!text && !files.length) return;
    var msg = { type: "message", client_id: newId(), text: text };
    if (files.length) msg.attachments = files.map(function (f) { return f.id; });
    state.pending.push(msg);
    store.set("pending", JSON.stringify(state.pending));
    show({ client_id: msg.client_id, from: "visitor", text: text, attachments: files, pending: true });
    send(msg);
    waitForAnswer();
  }

  function formatWhen(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    try {
      return d.toLocaleString(lang, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });
    } catch (e) { return d.toString(); }
  }

  // The away notice: shown when the team is closed, or nobody answered in time.
  function showAway(reason) {
    var text = reason === "closed" ? t.away : t.noAnswer;
    if (reason === "closed" && state.config.next_open) text += " " + t.back.replace("{when}", formatWhen(state.config.next_open));
    if (state.followup) text += " " + t.saved.replace("{email}", state.followup);
    else if (state.config.followup) text += " " + t.leaveEmail;
    awayText.textContent = text;
    away.removeAttribute("hidden");
    if (state.config.followup && !state.followup) {
      follow.removeAttribute("hidden");
      if (!followEmail.value && store.get("email")) followEmail.value = store.get("email");
    } else follow.setAttribute("hidden", "");
  }

  function waitForAnswer() {
    if (state.waitTimer || state.config.open === false) return;
    var minutes = state.config.offline_after_minutes;
    if (typeof minutes !== "number") return;
    state.waitTimer = setTimeout(function () { showAway("unanswered"); }, minutes * 60000);
  }

  function answered() {
    clearTimeout(state.waitTimer); state.waitTimer = null;
    if (state.config.open !== false) away.setAttribute("hidden", "");
  }

  function upload(file) {
    var c = state.config;
    if (c.max_attachment_bytes && file.size > c.max_attachment_bytes) { status.textContent = t.tooLarge; return; }
    if (c.attachment_types && c.attachment_types.indexOf(file.type) < 0) { status.textContent = t.badType; return; }
    if (!state.uploadToken) { status.textContent = t.offline; return; }
    status.textContent = t.uploading;
    fetch(origin + "/chat/" + encodeURIComponent(channel) + "/files?name=" + encodeURIComponent(file.name), {
      method: "POST", body: file, headers: { "Content-Type": file.type, "Authorization": "Bearer " + state.uploadToken }
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (r) {
      if (!r.ok) { status.textContent = (r.body && r.body.message) || t.badType; return; }
      status.textContent = "";
      submit(input.value, [r.body]); input.value = "";
    }).catch(function () { status.textContent = t.offline; });
  }

  function onFrame(f) {
    if (f.type === "welcome") {
      if (f.token) store.set("token", f.token);
      state.uploadToken = f.upload_token;
      state.followup = f.followup || null;
      state.config.open = f.open; state.config.next_open = f.next_open;
      if (f.open === false) showAway("closed");
      status.textContent = "";
      state.retry = 1000;
      // Everything not yet acknowledged goes again: the server stores each once.
      state.pending.forEach(send);
    } else if (f.type === "ack") {
      state.pending = state.pending.filter(function (m) { return m.client_id !== f.client_id; });
      store.set("pending", JSON.stringify(state.pending));
      var li = state.shown["c" + f.client_id];
      if (li) { li.classList.remove("sb-pending"); li.classList.add("sb-sent"); li.setAttribute("aria-busy", "false"); }
    } else if (f.type === "message") {
      if (f.from === "agent") { typing.textContent = ""; answered(); }
      show({ seq: f.seq, client_id: f.client_id, from: f.from, author: f.author, text: f.text, attachments: f.attachments });
      if (f.seq > state.seq) state.seq = f.seq;
    } else if (f.type === "typing") {
      typing.textContent = f.active ? (f.author || t.agent) + " " + t.typing : "";
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(function () { typing.textContent = ""; }, 6000);
    } else if (f.type === "followup_saved") {
      state.followup = f.email;
      store.set("email", f.email);
      showAway(state.config.open === false ? "closed" : "unanswered");
    } else if (f.type === "error") {
      status.textContent = f.message;
    }
  }

  function connect() {
    if (state.socket && state.socket.readyState <= 1) return;
    var ws = new WebSocket(wsBase + "/chat/" + encodeURIComponent(channel));
    state.socket = ws;
    ws.onopen = function () {
      var hello = { type: "hello", last_seq: state.seq };
      if (store.get("name")) hello.name = store.get("name");
      if (store.get("email")) hello.email = store.get("email");
      var token = store.get("token");
      if (script.getAttribute("data-jwt")) hello.jwt = script.getAttribute("data-jwt");
      else if (script.getAttribute("data-identifier")) {
        hello.identifier = script.getAttribute("data-identifier");
        hello.identifier_hash = script.getAttribute("data-identifier-hash");
      } else if (token) hello.token = token;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (e) { try { onFrame(JSON.parse(e.data)); } catch (err) { /* ignore a bad frame */ } };
    ws.onclose = function () {
      if (state.socket !== ws) return;
      status.textContent = t.offline;
      setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  bubble.addEventListener("click", function () { toggle(!state.open); });
  closeBtn.addEventListener("click", function () { toggle(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(input.value); input.value = ""; });
  pre.addEventListener("submit", function (e) { e.preventDefault(); introduced(preName.value.trim(), preEmail.value.trim()); });
  preSkip.addEventListener("click", function () { introduced("", ""); });
  attachBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files[0]) upload(fileInput.files[0]);
    fileInput.value = "";
  });
  follow.addEventListener("submit", function (e) {
    e.preventDefault();
    send({ type: "followup", email: followEmail.value.trim() });
  });
  // Tell the team the visitor is writing: at most every three seconds.
  var lastTyping = 0;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping > 3000 && input.value.trim()) { lastTyping = now; send({ type: "typing" }); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(input.value); input.value = ""; }
  });

  try { state.pending = JSON.parse(store.get("pending") || "[]"); } catch (e) { state.pending = []; }

  fetch(origin + "/chat/" + encodeURIComponent(channel) + "/config").then(function (r) { return r.json(); }).then(function (c) {
    state.config = c;
    if (c.greeting) title.textContent = c.greeting;
    if (c.color) root.style.setProperty("--sb-color", c.color);
    if (c.position) root.setAttribute("data-position", c.position);
    if (c.max_message_chars) input.setAttribute("maxlength", String(c.max_message_chars));
  }).catch(function () { /* defaults */ });

  document.head.appendChild(css);
  document.body.appendChild(root);
  state.pending.forEach(function (m) { show({ client_id: m.client_id, from: "visitor", text: m.text, pending: true }); });

  // For the site (and tests): open, send, and drop the connection (it comes back by itself).
  window.SwitchboardChat = {
    open: function () { toggle(true); },
    send: submit,
    disconnect: function () { if (state.socket) state.socket.close(); },
    upload: upload
  };
})();
