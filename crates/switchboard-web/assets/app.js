// Switchboard's browser workspace. Written for this project; no libraries.
// Pages are rendered by the server. This script adds: forms that call the JSON API
// (data-api) with the session's CSRF token, live updates from /api/v1/stream, keyboard
// navigation, SLA countdowns, suggested answers, and presence (who views or types).
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function say(text) {
    const live = $("#live");
    if (live) live.textContent = text;
  }

  // An answer that is not JSON (a proxy's HTML error page): its status in words, not its markup.
  function notJson(status, text) {
    if (!text.trimStart().startsWith("<")) return { detail: text };
    return { detail: status === 413
      ? "The file is larger than a server in front of Switchboard accepts (413)."
      : `The server answered ${status} without saying why.` };
  }

  async function api(method, url, body) {
    const opts = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    let data = null;
    const text = await r.text();
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = notJson(r.status, text); }
    return { ok: r.ok, status: r.status, data };
  }

  // ---- forms that call the API -------------------------------------------------------
  // A form's fields become a JSON body: empty fields are left out, data-type="bool" sends
  // true, "json" parses, "list" splits on commas, "lines" on line breaks, "list-checked"
  // gathers every value of its name (ticked boxes anywhere on the page with form="…");
  // data-path fields fill {placeholders} of data-api-template instead of the body.
  function bodyOf(form) {
    const out = {};
    const fd = new FormData(form);
    const seen = new Set();
    let url = form.dataset.apiTemplate || form.dataset.api;
    for (const [name] of fd.entries()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const el = form.elements[name] || document.querySelector(`[name="${name}"][form="${form.id}"]`);
      const field = el && el.length !== undefined && !el.tagName ? el[0] : el;
      const type = field && field.dataset ? field.dataset.type : undefined;
      const values = fd.getAll(name).map(String);
      if (field && field.dataset && field.dataset.path) {
        url = url.replace(`{${field.dataset.path}}`, encodeURIComponent(values[0]));
        continue;
      }
      if (type === "list-checked") {
        out[name] = values.filter((v) => v !== "");
        continue;
      }
      const value = values[0];
      const unchangedOptional = field && field.dataset && field.dataset.optional === "unchanged";
      if (unchangedOptional && value === field.defaultValue) continue;
      // An optional field emptied on purpose is sent empty (the server says what it needs),
      // never dropped: dropped, it would mean "as it was".
      if (value === "" && !unchangedOptional) continue;
      if (type === "bool") out[name] = true;
      else if (type === "list") out[name] = value.split(",").map((s) => s.trim()).filter(Boolean);
      else if (type === "lines") out[name] = value.split("\n").map((s) => s.trim()).filter(Boolean);
      else if (type === "json") {
        try { out[name] = JSON.parse(value); } catch (e) {
          throw { field: name, detail: `${name} is not valid JSON: ${e.message}` };
        }
      } else out[name] = value;
    }
    return { url, body: out };
  }

  function showError(form, problem) {
    const box = $(".form-error", form) || $(".form-error", form.parentElement);
    $$("[aria-invalid]", form).forEach((el) => el.removeAttribute("aria-invalid"));
    let text = (problem && (problem.detail || problem.title)) || "That did not work.";
    if (problem && problem.field) {
      const el = form.elements[problem.field];
      if (el && el.setAttribute) { el.setAttribute("aria-invalid", "true"); el.focus(); }
      if (!text.startsWith(`${problem.field}:`)) text = `${problem.field}: ${text}`;
    }
    if (box) box.textContent = text;
    // Problems at places in a text (the playbook's): one line each, a click goes there.
    const area = $("textarea", form);
    const placed = problem && Array.isArray(problem.errors)
      ? problem.errors.filter((e) => Number.isInteger(e.line)) : [];
    if (box && area && placed.length) {
      box.textContent = problem.detail.split(":")[0] + ":";
      const list = document.createElement("ul");
      for (const e of placed) {
        const li = document.createElement("li");
        const go = document.createElement("button");
        go.type = "button";
        go.className = "link";
        go.textContent = `Line ${e.line}, column ${e.column}`;
        go.addEventListener("click", () => goToLine(area, e.line, e.column));
        li.append(go, `: ${e.message}`);
        list.append(li);
      }
      box.append(list);
      goToLine(area, placed[0].line, placed[0].column);
      box.scrollIntoView({ block: "nearest" });
    } else if (box && !area && problem && Array.isArray(problem.errors) && problem.errors.length) {
      // Problems in a file sent (an import): one line each, the first twenty.
      const list = document.createElement("ul");
      for (const e of problem.errors.slice(0, 20)) {
        const where = Number.isInteger(e.line) ? `Line ${e.line}${e.field ? ` (${e.field})` : ""}: ` : "";
        list.append(el("li", `${where}${e.message || e.detail || JSON.stringify(e)}`));
      }
      if (problem.errors.length > 20) list.append(el("li", `and ${problem.errors.length - 20} more`));
      box.append(list);
    }
    say(text);
  }

  // Puts the caret at a line and column of a text box (1-based) and scrolls it into view.
  function goToLine(area, line, column) {
    const lines = area.value.split("\n");
    let at = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) at += lines[i].length + 1;
    // The server counts columns in characters; the box's positions are UTF-16 units.
    at += Array.from(lines[line - 1] || "").slice(0, Math.max(0, (column || 1) - 1)).join("").length;
    area.focus();
    area.setSelectionRange(at, at);
    const style = getComputedStyle(area);
    const height = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
    area.scrollTop = Math.max(0, (line - 3) * height);
    showCaret(area);
  }

  // A text box with data-caret names the caret's line and column beside it.
  function showCaret(area) {
    const out = area.dataset.caret && document.getElementById(area.dataset.caret);
    if (!out) return;
    const before = area.value.slice(0, area.selectionStart);
    const line = before.split("\n").length;
    const column = Array.from(before.slice(before.lastIndexOf("\n") + 1)).length + 1;
    out.textContent = `Line ${line} of ${area.value.split("\n").length}, column ${column}`;
  }
  for (const kind of ["keyup", "click", "input", "focus"]) {
    document.addEventListener(kind, (ev) => {
      if (ev.target && ev.target.dataset && ev.target.dataset.caret) showCaret(ev.target);
    }, true);
  }
  // A held arrow key moves the caret without a keyup: follow the selection itself.
  document.addEventListener("selectionchange", () => {
    const a = document.activeElement;
    if (a && a.dataset && a.dataset.caret) showCaret(a);
  });

  // The playbook's Check and Simulate, in words and tables.
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function table(heads, rows) {
    const t = el("table", undefined, "grid");
    const head = el("tr");
    for (const h of heads) { const th = el("th", h); th.scope = "col"; head.append(th); }
    t.append(el("thead"));
    t.tHead.append(head);
    const body = el("tbody");
    for (const r of rows) {
      const tr = el("tr");
      for (const c of r) {
        const td = el("td");
        if (c instanceof Node) td.append(c); else td.textContent = String(c);
        tr.append(td);
      }
      body.append(tr);
    }
    t.append(body);
    const wrap = el("div", undefined, "scroll");
    wrap.append(t);
    return wrap;
  }
  function showPlaybook(box, d) {
    box.textContent = "";
    if (d.valid) {
      box.append(el("p", `The playbook is valid: ${d.teams} team${d.teams === 1 ? "" : "s"}, `
        + `${d.rules} rule${d.rules === 1 ? "" : "s"}. Simulate it to see what it would do, then publish.`));
      return;
    }
    const day = (t) => String(t).slice(0, 10);
    box.append(el("p", `Replayed ${d.cases} case${d.cases === 1 ? "" : "s"} created from ${day(d.since)} `
      + `to ${day(d.until)}: ${d.routed_differently} would be routed differently, `
      + `${d.unmatched} match no rule.`));
    if (d.cases === 0) return;
    box.append(el("h3", "Rules"));
    box.append(table(["Rule", "Line", "Cases it fires on"], d.rules.map((r) => [r.rule, r.line, r.matched])));
    let teams = {};
    try { teams = JSON.parse(box.dataset.teams || "{}"); } catch (_) { teams = {}; }
    let purposes = {};
    try { purposes = JSON.parse(box.dataset.purposes || "{}"); } catch (_) { purposes = {}; }
    const name = (n) => (n === null ? "none" : purposes[n] || n);
    const team = (t) => (t === null ? "none" : teams[t] || t);
    box.append(el("h3", "Teams"));
    box.append(table(["Team", "Would get", "Got"], d.teams.map((t) => [team(t.name), t.simulated, t.actual])));
    box.append(el("h3", "Purposes"));
    box.append(table(["Purpose", "Would get", "Got"], d.purposes.map((t) => [name(t.name), t.simulated, t.actual])));
    if (d.examples.length) {
      box.append(el("h3", `Cases routed differently (${d.examples.length} of ${d.routed_differently})`));
      const route = (r) => `${name(r.purpose)} · ${team(r.team)}`;
      const link = (x) => {
        const a = el("a", day(x.created_at));
        a.href = `/cases/${encodeURIComponent(x.case_id)}`;
        return a;
      };
      box.append(table(["Case", "First message", "Now", "Would be", "Rules that fire"], d.examples.map((x) =>
        [link(x), x.text, route(x.actual), route(x.simulated), x.fired.join(", ") || "none"])));
    }
  }

  // A form marked data-warn-unsaved asks before the page is left with edits not yet saved.
  document.addEventListener("input", (ev) => {
    const form = ev.target && ev.target.form;
    if (form && form.dataset.warnUnsaved !== undefined) form.dataset.dirty = "1";
  });
  window.addEventListener("beforeunload", (ev) => {
    if (document.querySelector("form[data-dirty]")) { ev.preventDefault(); ev.returnValue = ""; }
  });

  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!form.dataset || !(form.dataset.api || form.dataset.apiTemplate)) return;
    ev.preventDefault();
    const submitter = ev.submitter || $("button[type=submit]", form);
    if (submitter && submitter.dataset.confirm && !window.confirm(submitter.dataset.confirm)) return;
    let req;
    try { req = bodyOf(form); } catch (problem) { showError(form, problem); return; }
    const url = (submitter && submitter.dataset.api) || req.url;
    const method = (submitter && submitter.dataset.method) || form.dataset.method || "POST";
    if (submitter) submitter.disabled = true;
    form.setAttribute("aria-busy", "true");
    // What the last try said goes: an old "Done." or a stale result never sits beside a new
    // answer (the playbook's "valid": true next to a failed check).
    $$(".form-done, .result", form).forEach((el) => { el.textContent = ""; });
    try {
      const r = await api(method, url, req.body);
      if (!r.ok) { showError(form, r.data); return; }
      const box = $(".form-error", form);
      if (box) box.textContent = "";
      // A button may say what follows it (the playbook's Publish reloads; Check shows).
      const after = (submitter && submitter.dataset.after) || form.dataset.after || "reload";
      // Saved: leaving the page loses nothing now.
      if (after === "reload" || after === "open") delete form.dataset.dirty;
      if (after === "show") {
        const pre = $("pre.result", form);
        if (pre) pre.textContent = JSON.stringify(r.data, null, 2);
        say("Done.");
      } else if (after === "playbook") {
        const box = $(".result", form);
        if (box) { showPlaybook(box, r.data || {}); box.scrollIntoView({ block: "start" }); }
        // The summary sentence, not every table, is read out.
        const summary = box && $("p", box);
        say(summary ? summary.textContent : "Done.");
      } else if (after === "done") {
        const done = $(".form-done", form);
        if (done) done.textContent = form.dataset.done || "Done.";
        say(form.dataset.done || "Done.");
      } else if (after === "test") {
        // A test message: say where it was filed, with a link to its case.
        const done = $(".form-done", form);
        const c = r.data && r.data.case;
        if (done) {
          done.textContent = "";
          if (c && c.id) {
            done.append(`Filed${r.data.team ? ` for ${r.data.team}` : " without a team"} (${c.purpose}). `);
            const a = document.createElement("a");
            a.href = `/cases/${encodeURIComponent(c.id)}`;
            a.textContent = "Open the case";
            done.append(a);
          } else {
            done.textContent = "Sent; it is still being filed: look in the inbox in a moment.";
          }
        }
        say(done ? done.textContent : "Sent.");
      } else if (after === "expert" || after === "channel") {
        // What to do next, in words, with the link or the one-time secret to copy.
        const box = $(".form-done", form);
        const d = r.data || {};
        const line = (label, value, href) => {
          const p = document.createElement("p");
          p.append(`${label} `);
          const v = document.createElement(href ? "a" : "code");
          if (href) v.href = value;
          v.textContent = value;
          p.append(v);
          return p;
        };
        if (box) {
          box.textContent = "";
          if (after === "expert") {
            if (d.mailed) {
              box.append(`Sent: ${d.link && d.link.email ? d.link.email : "the expert"} has the link by e-mail.`);
            } else {
              box.append(`Not mailed${d.mail_error ? ` (${d.mail_error})` : ""}: send them this link yourself.`);
              box.append(line("Link:", d.url, true));
            }
            form.reset();
          } else {
            box.append(`Connected "${d.name || "the channel"}".`);
            if (d.webhook_url) box.append(line("Webhook URL to give the provider:", d.webhook_url));
            if (d.secret) box.append(line("Signing secret (shown only now; copy it):", d.secret));
            const again = document.createElement("a");
            again.href = window.location.pathname;
            again.textContent = "Show it in the list";
            const p = document.createElement("p");
            p.append(again);
            box.append(p);
          }
        }
        say(box ? box.textContent : "Done.");
      } else if (after === "open" && r.data && r.data.id) {
        window.location.assign(`/cases/${r.data.id}`);
      } else {
        window.location.reload();
      }
    } catch (e) {
      showError(form, { detail: `The server could not be reached (${e.message}).` });
    } finally {
      if (submitter) submitter.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  // ---- a file sent as it is ----------------------------------------------------------
  // A form with data-upload posts its chosen file, unchanged, as the body to that URL; its
  // other fields become the query string (empty ones left out; an unticked box sends its
  // data-unchecked value). With no "format" chosen, the file's first line says: JSON Lines
  // when it opens with "{"; TSV where the form offers it, when the file is named .tsv or .tab
  // or its first line holds more tabs than commas; else CSV. data-max-bytes refuses a larger
  // file before sending it; data-after says what the answer becomes.
  const FILE_TYPES = { csv: "text/csv", tsv: "text/tab-separated-values", jsonl: "application/x-ndjson" };
  const megabytes = (n) => `${(n / 1048576).toFixed(n < 10485760 ? 1 : 0)} MB`;
  function uploaded(after, d) {
    if (after === "model") {
      const s = d.summary || {};
      const acc = typeof s.holdout_accuracy === "number"
        ? `; ${(s.holdout_accuracy * 100).toFixed(1)}% right on its own held-out tenth` : "";
      const fromFile = typeof s.examples_from_file === "number" && s.examples_from_file !== s.examples
        ? ` (${s.examples_from_file} from your file, the rest the shipped posts)` : "";
      return `Trained version ${d.version}${s.labels ? ` with ${s.labels} labels` : ""} from `
        + `${s.examples ?? "the"} examples${fromFile}${acc}. It is in force now.`;
    }
    if (after === "kb") {
      const n = (k, one, many) => `${k} ${k === 1 ? one : many}`;
      if (!d.articles && !d.canned) {
        return `Nothing new: ${d.skipped === 1 ? "its entry is" : `all ${d.skipped} entries are`} here already, word for word.`;
      }
      let text = `Imported ${n(d.articles, "article", "articles")} and ${n(d.canned, "canned response", "canned responses")}.`;
      if (d.skipped) text += ` ${n(d.skipped, "entry was", "entries were")} here already, word for word, and not added again.`;
      return text;
    }
    return "Done.";
  }
  async function formatOf(file, form) {
    const head = (await file.slice(0, 4096).text()).replace(/^\uFEFF/, "").replace(/^[\r\n ]+/, "");
    if (head.startsWith("{")) return "jsonl";
    const line = head.split("\n", 1)[0];
    const count = (c) => line.split(c).length - 1;
    const tsv = $("select[name=format] option[value=tsv]", form)
      && (/\.(tsv|tab)$/i.test(file.name) || count("\t") > count(","));
    return tsv ? "tsv" : "csv";
  }
  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!form.dataset || !form.dataset.upload) return;
    ev.preventDefault();
    const input = $("input[type=file]", form);
    const file = input && input.files && input.files[0];
    if (!file) { showError(form, { field: input ? input.name : undefined, detail: "Choose a file first." }); return; }
    const max = Number(form.dataset.maxBytes || 0);
    if (max && file.size > max) {
      showError(form, { field: input.name, detail: `The file is ${megabytes(file.size)}; at most ${megabytes(max)} can be sent.` });
      return;
    }
    const params = new URLSearchParams();
    for (const field of form.elements) {
      if (!field.name || field.type === "file") continue;
      if (field.type === "checkbox") {
        if (field.checked) params.set(field.name, field.value);
        else if (field.dataset.unchecked) params.set(field.name, field.dataset.unchecked);
      } else if (field.value !== "") params.set(field.name, field.value);
    }
    const submitter = ev.submitter || $("button[type=submit]", form);
    const done = $(".form-done", form);
    const box = $(".form-error", form);
    if (submitter) submitter.disabled = true;
    form.setAttribute("aria-busy", "true");
    if (box) box.textContent = "";
    $$("[aria-invalid]", form).forEach((e) => e.removeAttribute("aria-invalid"));
    if (done) done.textContent = form.dataset.busy || "Sending…";
    try {
      if (!params.get("format")) {
        try { params.set("format", await formatOf(file, form)); } catch (e) {
          if (done) done.textContent = "";
          showError(form, { field: input.name, detail: `The file cannot be read (${e.message}); choose it again.` });
          return;
        }
      }
      const headers = { "X-CSRF-Token": csrf(), "Content-Type": FILE_TYPES[params.get("format")] || "application/octet-stream" };
      const r = await fetch(`${form.dataset.upload}?${params}`,
        { method: "POST", headers, body: file, credentials: "same-origin" });
      const text = await r.text();
      let data;
      try { data = text ? JSON.parse(text) : {}; } catch (_) { data = notJson(r.status, text); }
      if (done) done.textContent = "";
      if (!r.ok) { showError(form, data); return; }
      const d = data || {};
      const message = uploaded(form.dataset.after, d);
      // Nothing added: nothing to show.
      const added = form.dataset.after !== "kb" || Boolean(d.ids && d.ids.length);
      if (done && !added) done.textContent = message;
      else if (done) {
        done.append(`${message} `);
        // To what was made: the model's section, or the first entry imported.
        const anchor = form.dataset.after === "kb" && Array.isArray(d.ids) && d.ids.length
          ? `kb-${d.ids[0]}` : form.dataset.anchor;
        const again = el("a", form.dataset.again || "Show it on the page");
        again.href = window.location.pathname + (anchor ? `#${anchor}` : "");
        again.addEventListener("click", (e) => {
          e.preventDefault();
          window.location.assign(again.href);
          window.location.reload();
        });
        done.append(again);
      }
      form.reset();
      // Sent: leaving the page loses nothing now.
      delete form.dataset.dirty;
    } catch (e) {
      if (done) done.textContent = "";
      showError(form, { detail: `The server could not be reached (${e.message}).` });
    } finally {
      if (submitter) submitter.disabled = false;
      form.removeAttribute("aria-busy");
      // The disabled button let the focus fall to the page: give it back.
      if (submitter && (document.activeElement === document.body || !document.activeElement)) submitter.focus();
    }
  });

  // A canned response goes into the reply box.
  document.addEventListener("change", (ev) => {
    const sel = ev.target;
    if (!sel.dataset || !sel.dataset.insert || !sel.value) return;
    const box = document.getElementById(sel.dataset.insert);
    if (box) { box.value = sel.value; box.focus(); }
    sel.value = "";
  });

  // ---- suggested answers -------------------------------------------------------------
  async function loadSuggestions() {
    const box = $("#suggestions");
    if (!box) return;
    const r = await api("GET", box.dataset.src);
    if (!r.ok || !r.data) return;
    const items = [];
    for (const a of r.data.articles || []) items.push({ title: a.title, text: a.answer, conf: a.confidence, kind: "article" });
    for (const c of r.data.canned || []) items.push({ title: c.name, text: c.text, conf: c.confidence, kind: "canned" });
    if (!items.length) return;
    const h = document.createElement("h3");
    h.textContent = "Suggested answers";
    const ul = document.createElement("ul");
    for (const it of items.slice(0, 4)) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = `Insert “${it.title}”`;
      b.addEventListener("click", () => {
        const t = $("#reply-text");
        if (t) { t.value = it.text || ""; t.focus(); }
      });
      const conf = document.createElement("span");
      conf.className = "hint";
      conf.textContent = ` ${it.kind}, ${Math.round((it.conf || 0) * 100)}% sure`;
      li.append(b, conf);
      ul.append(li);
    }
    box.replaceChildren(h, ul);
  }

  // ---- SLA countdowns ----------------------------------------------------------------
  function human(ms) {
    const m = Math.round(Math.abs(ms) / 60000);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d`;
  }
  function tick() {
    for (const el of $$("[data-due]")) {
      const left = Date.parse(el.dataset.due) - Date.now();
      el.textContent = left >= 0 ? `due in ${human(left)}` : `overdue by ${human(left)}`;
      el.classList.toggle("overdue", left < 0);
    }
  }

  // ---- live updates ------------------------------------------------------------------
  const KINDS = ["case.created", "case.updated", "case.merged", "case.split", "case.routed",
    "case.transferred", "case.referred", "case.deflected", "case.reopened", "case.status_changed",
    "message.created", "message.updated", "message.delivered", "message.failed",
    "message.approved", "message.rejected", "message.held_for_approval", "message.note_added",
    "sla.warning", "sla.breached", "expert.answered", "expert.invited"];

  let pending = null;
  function refreshSoon(fn) {
    if (pending) return;
    pending = setTimeout(async () => { pending = null; await fn(); }, 25);
  }

  async function swap(selector) {
    const el = $(selector);
    if (!el) return;
    const url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    const r = await fetch(url, { credentials: "same-origin" });
    if (!r.ok) return;
    const html = await r.text();
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    const fresh = tpl.content.querySelector(selector);
    if (!fresh) return;
    const selected = selectedCase();
    el.replaceWith(fresh);
    if (selected) select(rows().findIndex((li) => li.dataset.case === selected), false);
    document.dispatchEvent(new CustomEvent("sb:refreshed"));
  }

  // A live refresh must not take away what the person is doing: a form they typed in, are
  // sending or that shows a result stays as it is (the same element, so a reply on its way
  // still lands in it), and opened sections and ticked boxes stay opened and ticked.
  document.addEventListener("input", (ev) => {
    const form = ev.target.form;
    if (form && form.id) form.dataset.dirty = "1";
  });
  function inUse(form) {
    const shown = $(".result, .form-done", form);
    return form.dataset.dirty === "1" || form.contains(document.activeElement)
      || form.hasAttribute("aria-busy") || Boolean(shown && shown.textContent.trim());
  }
  function keepWork(old, fresh) {
    for (const d of $$("details[id]", old)) {
      const f = fresh.querySelector(`details#${CSS.escape(d.id)}`);
      if (f) f.open = d.open;
    }
    for (const form of $$("form[id]", old)) {
      const f = fresh.querySelector(`form#${CSS.escape(form.id)}`);
      if (f && inUse(form)) f.replaceWith(form);
    }
    const ticked = $$("input[type=checkbox]", old).filter((b) => b.checked)
      .map((b) => `${b.getAttribute("form")}|${b.name}|${b.value}`);
    for (const b of $$("input[type=checkbox]", fresh)) {
      if (ticked.includes(`${b.getAttribute("form")}|${b.name}|${b.value}`)) b.checked = true;
    }
  }

  async function refreshCase() {
    const r = await fetch(window.location.href, { credentials: "same-origin" });
    if (!r.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = await r.text();
    // Moving a kept form takes its focus away: give it back, with the caret where it was.
    const focused = document.activeElement;
    let caret = null;
    try { caret = [focused.selectionStart, focused.selectionEnd]; } catch (_) { caret = null; }
    for (const sel of ["#timeline", "aside.side", ".case-head .badges"]) {
      const fresh = tpl.content.querySelector(sel);
      const old = $(sel);
      if (!fresh || !old) continue;
      keepWork(old, fresh);
      old.replaceWith(fresh);
    }
    if (focused && focused !== document.activeElement && focused.isConnected) {
      focused.focus({ preventScroll: true });
      if (caret && caret[0] !== null && caret[0] !== undefined) {
        try { focused.setSelectionRange(caret[0], caret[1]); } catch (_) { /* not a text field */ }
      }
    }
    tick();
    document.dispatchEvent(new CustomEvent("sb:refreshed"));
  }

  const presence = new Map();
  function showPresence() {
    const box = $("#presence");
    if (!box) return;
    const now = Date.now();
    const parts = [];
    for (const [who, p] of presence) {
      if (now - p.at > p.ttl) { presence.delete(who); continue; }
      parts.push(p.kind === "typing" ? `${who} is typing…` : `${who} is viewing`);
    }
    box.textContent = parts.join(" · ");
  }

  function listen() {
    const inbox = $("#inbox-live");
    const dash = $("#dash-live");
    const caseEl = $(".case[data-case]");
    if (!inbox && !dash && !caseEl) return;
    // Resume from the moment the page was read, so a change in between is not missed.
    const root = inbox || dash || caseEl;
    const seq = root.dataset.seq;
    const es = new EventSource(seq ? `/api/v1/stream?last_event_id=${encodeURIComponent(seq)}` : "/api/v1/stream");
    const onEvent = (ev) => {
      let data = {};
      try { data = JSON.parse(ev.data); } catch (_) { return; }
      if (inbox) refreshSoon(() => swap("#inbox-live"));
      if (dash) refreshSoon(() => swap("#dash-live"));
      if (caseEl && data.case_id === caseEl.dataset.case) refreshSoon(refreshCase);
    };
    for (const k of KINDS) es.addEventListener(k, onEvent);
    const me = document.body.dataset.user;
    const onPresence = (ev) => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (_) { return; }
      // A visitor typing in the chat shows in the timeline, not here; my own pings are mine.
      if (!caseEl || d.case_id !== caseEl.dataset.case || d.from !== "agent" || d.user_id === me) return;
      const who = d.author || "A colleague";
      if (d.left) { presence.delete(who); showPresence(); return; }
      presence.set(who, { kind: ev.type, at: Date.now(), ttl: ev.type === "typing" ? 5000 : 25000 });
      showPresence();
    };
    es.addEventListener("typing", onPresence);
    es.addEventListener("viewing", onPresence);
    // A notification for me (a mention, an SLA warning, an expert's answer) counts in the
    // navigation at once, and is read out.
    es.addEventListener("notification.created", (ev) => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (_) { return; }
      const n = d.data && d.data.notification;
      if (!n || n.user_id !== me) return;
      const link = $("#nav-notifications");
      if (!link) return;
      let badge = $(".count", link);
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "count";
        badge.textContent = "0";
        link.append(" ", badge);
      }
      const count = (parseInt(badge.textContent, 10) || 0) + 1;
      badge.textContent = String(count);
      badge.setAttribute("aria-label", `${count} unread`);
      say(`New notification: ${n.body}`);
    });
    setInterval(showPresence, 1000);
    window.addEventListener("beforeunload", () => es.close());
  }

  // Tell colleagues this case is open, and that a reply is being written.
  function announce() {
    const caseEl = $(".case[data-case]");
    if (!caseEl) return;
    const id = caseEl.dataset.case;
    const ping = () => api("POST", `/api/v1/cases/${id}/viewing`).catch(() => {});
    ping();
    setInterval(ping, 10000);
    // Leaving: colleagues stop showing me now, not when my last ping runs out.
    window.addEventListener("pagehide", () => {
      fetch(`/api/v1/cases/${id}/viewing?left=true`, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() },
      }).catch(() => {});
    });
    let last = 0;
    document.addEventListener("input", (ev) => {
      const t = ev.target;
      if (!t.dataset || !t.dataset.typing) return;
      const now = Date.now();
      if (now - last < 2500) return;
      last = now;
      api("POST", t.dataset.typing).catch(() => {});
    });
  }

  // ---- keyboard ----------------------------------------------------------------------
  const rows = () => $$("#rows > li");
  let current = -1;
  function selectedCase() {
    const li = rows()[current];
    return li ? li.dataset.case : null;
  }
  function select(i, focus = true) {
    const all = rows();
    if (!all.length || i < 0) { current = -1; return; }
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((li, j) => li.classList.toggle("selected", j === current));
    const a = $("a", all[current]);
    if (a && focus) { a.focus(); }
  }

  function typingInField(ev) {
    const t = ev.target;
    return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }

  document.addEventListener("keydown", async (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape" && typingInField(ev)) { ev.target.blur(); return; }
    if (typingInField(ev)) return;
    const inInbox = !!$("#rows");
    const caseEl = $(".case[data-case]");
    if (ev.key === "/") {
      const q = $("#q");
      if (q) { ev.preventDefault(); q.focus(); q.select(); }
      else if (!inInbox) { window.location.assign("/inbox"); }
      return;
    }
    if (inInbox) {
      if (ev.key === "j") { ev.preventDefault(); select(current + 1); }
      else if (ev.key === "k") { ev.preventDefault(); select(current < 0 ? 0 : current - 1); }
      else if (ev.key === "Enter" || ev.key === "o") {
        const id = selectedCase();
        if (id) { ev.preventDefault(); window.location.assign(`/cases/${id}`); }
      } else if (ev.key === "r" || ev.key === "t") {
        const id = selectedCase();
        if (id) { ev.preventDefault(); window.location.assign(`/cases/${id}#${ev.key === "r" ? "reply" : "transfer"}`); }
      } else if (ev.key === "e") {
        const id = selectedCase();
        if (!id) return;
        ev.preventDefault();
        const r = await api("PATCH", `/api/v1/cases/${id}`, { status: "resolved" });
        say(r.ok ? "Resolved." : `Not resolved: ${(r.data && r.data.detail) || r.status}`);
        await swap("#inbox-live");
      }
      return;
    }
    if (caseEl) {
      if (ev.key === "r") { const t = $("#reply-text"); if (t) { ev.preventDefault(); t.focus(); } }
      else if (ev.key === "e") { const b = $("#resolve"); if (b) { ev.preventDefault(); b.click(); } }
      else if (ev.key === "t") { openTransfer(ev); }
    }
  });

  function openTransfer(ev) {
    const d = $("#transfer");
    if (!d) return;
    if (ev) ev.preventDefault();
    d.open = true;
    const s = $("#transfer-team");
    if (s) s.focus();
  }

  // The transfer form offers the people of the team the case will be in (again after a live
  // refresh, which draws the form anew).
  function transferPeople() {
    const team = $("#transfer-team"), person = $("#transfer-person");
    if (!team || !person) return;
    const t = team.value || team.dataset.current || "";
    for (const o of person.options) {
      if (o.dataset.teams === undefined) continue;
      o.hidden = o.disabled = t !== "" && !o.dataset.teams.split(" ").includes(t);
    }
    if (person.selectedOptions[0] && person.selectedOptions[0].disabled) person.value = "";
  }
  document.addEventListener("change", (ev) => {
    if (ev.target.id === "transfer-team") transferPeople();
  });
  document.addEventListener("sb:refreshed", transferPeople);

  // A knowledge gap's "Write the answer" opens the new-article form with its questions.
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest && ev.target.closest("[data-write-article]");
    if (!b) return;
    const box = $("#new-article-box");
    if (!box) return;
    let asked = [];
    try { asked = JSON.parse(b.dataset.writeArticle); } catch (_) { return; }
    if (!Array.isArray(asked) || !asked.length) return;
    box.open = true;
    $("#new-article-title").value = asked[0];
    $("#new-article-questions").value = asked.slice(1).join("\n");
    // In the language they were asked in, when it is one the form offers.
    const language = $("#new-article-language");
    if (language && b.dataset.language && language.querySelector(`option[value="${CSS.escape(b.dataset.language)}"]`)) {
      language.value = b.dataset.language;
    }
    $("#new-article-body").focus();
    box.scrollIntoView({ block: "start" });
  });

  // A part of the page drawn after it (`data-load`: its URL answers the part alone).
  async function loadParts() {
    for (const el of document.querySelectorAll("[data-load]")) {
      const r = await fetch(el.dataset.load, { credentials: "same-origin" });
      if (!r.ok) continue;
      const tpl = document.createElement("template");
      tpl.innerHTML = await r.text();
      const fresh = tpl.content.firstElementChild;
      if (fresh) el.replaceWith(fresh);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    loadParts();
    transferPeople();
    tick();
    setInterval(tick, 1000);
    loadSuggestions();
    listen();
    announce();
    if (window.location.hash === "#reply") { const t = $("#reply-text"); if (t) t.focus(); }
    if (window.location.hash === "#transfer") openTransfer();
  });
})();
