// The sandbox page. It draws what the server's SandboxSession decides (message
// views, suggestions) and sends what the person does. Every piece of message text goes into
// the page through textContent or a DOM node: never HTML. Links open only http(s) URLs.
"use strict";

(function () {
  const POLL_MS = 500;
  const SUGGEST_DELAY_MS = 120;
  const byId = (id) => document.getElementById(id);
  const state = {
    channels: [],
    channel: null,
    acting: "owner",
    shown: new Map(), // message id -> version drawn
    suggestions: [],
    selected: -1,
    suggestSerial: 0,
  };

  // --- the server -----------------------------------------------------------------------

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
    const response = await fetch("/sandbox/api/" + path, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    if (!response.ok && !data.error) data.error = response.statusText || "request failed";
    return data;
  }

  // --- safe building blocks -------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) && url.length <= 2048 ? url : null;
  }

  function link(href, children) {
    const safe = safeHref(href);
    const node = el(safe ? "a" : "span");
    if (safe) {
      node.href = safe;
      node.target = "_blank";
      node.rel = "noopener noreferrer nofollow";
    }
    children.forEach((child) => node.appendChild(child));
    return node;
  }

  // Discord's <t:epoch:style> in the reader's own time zone and language.
  function formatTime(epoch, style) {
    const when = new Date(epoch * 1000);
    if (isNaN(when.getTime())) return String(epoch);
    const f = (options) => new Intl.DateTimeFormat(undefined, options).format(when);
    switch (style) {
      case "t": return f({ hour: "numeric", minute: "2-digit" });
      case "T": return f({ hour: "numeric", minute: "2-digit", second: "2-digit" });
      case "d": return f({ year: "numeric", month: "2-digit", day: "2-digit" });
      case "D": return f({ year: "numeric", month: "long", day: "numeric" });
      case "F": return f({ weekday: "long", year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit" });
      case "R": return relative(when);
      default: return f({ year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit" });
    }
  }

  function relative(when) {
    const seconds = Math.round((when.getTime() - Date.now()) / 1000);
    const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size || unit === "second") return rtf.format(Math.trunc(seconds / size), unit);
    }
    return "";
  }

  function timeNode(epoch, style) {
    const node = el("time", "timestamp", formatTime(epoch, style));
    const when = new Date(epoch * 1000);
    if (!isNaN(when.getTime())) {
      node.dateTime = when.toISOString();
      node.title = formatTime(epoch, "F");
    }
    return node;
  }

  function isoTime(iso) {
    const when = new Date(iso);
    return isNaN(when.getTime()) ? null : Math.floor(when.getTime() / 1000);
  }

  // --- markdown trees (made by discord_emulator/markdown.py) ---------------------------------

  const INLINE_TAGS = { b: "strong", i: "em", u: "u", s: "s", span: "span" };

  function inline(nodes) {
    const out = [];
    for (const node of nodes || []) {
      if (typeof node === "string") { out.push(document.createTextNode(node)); continue; }
      switch (node.t) {
        case "code": out.push(el("code", null, node.text)); break;
        case "time": out.push(timeNode(node.epoch, node.style)); break;
        case "mention": out.push(el("span", "mention", node.text)); break;
        case "link": out.push(link(node.href, inline(node.c))); break;
        case "spoiler": {
          const spoiler = el("span", "spoiler");
          inline(node.c).forEach((child) => spoiler.appendChild(child));
          spoiler.addEventListener("click", () => spoiler.classList.add("shown"));
          out.push(spoiler);
          break;
        }
        default: {
          const wrapper = el(INLINE_TAGS[node.t] || "span");
          inline(node.c).forEach((child) => wrapper.appendChild(child));
          out.push(wrapper);
        }
      }
    }
    return out;
  }

  function blocks(list, container) {
    let quote = null;
    for (const block of list || []) {
      if (block.t === "codeblock") {
        quote = null;
        const pre = el("pre");
        pre.appendChild(el("code", null, block.text));
        container.appendChild(pre);
        continue;
      }
      let node;
      if (block.t === "quote") {
        if (!quote) { quote = el("blockquote", "quote"); container.appendChild(quote); }
        node = el("div", "line");
        inline(block.c).forEach((child) => node.appendChild(child));
        quote.appendChild(node);
        continue;
      }
      quote = null;
      if (block.t === "h1" || block.t === "h2" || block.t === "h3") node = el("h3", block.t);
      else if (block.t === "subtext") node = el("small", "line subtext");
      else if (block.t === "item") { node = el("div", "line"); node.appendChild(document.createTextNode("• ")); }
      else node = el("div", "line");
      inline(block.c).forEach((child) => node.appendChild(child));
      container.appendChild(node);
    }
  }

  function hasText(list) {
    return (list || []).some((block) => block.t === "codeblock" || (block.c && block.c.length));
  }

  // --- messages -------------------------------------------------------------------------

  function embedNode(embed) {
    const box = el("div", "embed");
    if (embed.color && /^#[0-9a-f]{6}$/i.test(embed.color)) box.style.borderLeftColor = embed.color;
    if (embed.author && embed.author.length) {
      const author = el("div", "embed-author");
      const parts = inline(embed.author);
      if (safeHref(embed.author_url)) author.appendChild(link(embed.author_url, parts));
      else parts.forEach((child) => author.appendChild(child));
      box.appendChild(author);
    }
    if (embed.title && embed.title.length) {
      const title = el("div", "embed-title");
      const parts = inline(embed.title);
      if (safeHref(embed.url)) title.appendChild(link(embed.url, parts));
      else parts.forEach((child) => title.appendChild(child));
      box.appendChild(title);
    }
    if (hasText(embed.description)) {
      const description = el("div", "embed-description");
      blocks(embed.description, description);
      box.appendChild(description);
    }
    if (embed.fields && embed.fields.length) {
      const grid = el("div", "fields");
      for (const field of embed.fields) {
        const node = el("div", field.inline ? "field inline" : "field");
        const name = el("div", "field-name");
        inline(field.name).forEach((child) => name.appendChild(child));
        const value = el("div", "field-value");
        blocks(field.value, value);
        node.appendChild(name);
        node.appendChild(value);
        grid.appendChild(node);
      }
      box.appendChild(grid);
    }
    const footerParts = [];
    if (embed.footer && embed.footer.length) footerParts.push(...inline(embed.footer));
    const epoch = embed.timestamp ? isoTime(embed.timestamp) : null;
    if (epoch !== null) {
      if (footerParts.length) footerParts.push(document.createTextNode(" • "));
      footerParts.push(timeNode(epoch, "f"));
    }
    if (footerParts.length) {
      const footer = el("div", "embed-footer");
      footerParts.forEach((child) => footer.appendChild(child));
      box.appendChild(footer);
    }
    return box;
  }

  function componentsNode(view) {
    const box = el("div", "components");
    for (const row of view.components) {
      for (const component of row) {
        const label = [component.emoji, component.label].filter(Boolean).join(" ");
        if (component.kind === "button" && component.style === "link") {
          const anchor = link(component.url, [document.createTextNode(label + " ↗")]);
          anchor.classList.add("link-button");
          box.appendChild(anchor);
        } else if (component.kind === "button") {
          const button = el("button", component.style, label);
          button.type = "button";
          button.disabled = !!component.disabled;
          button.addEventListener("click", () => click(view.id, component.custom_id));
          box.appendChild(button);
        } else {
          const select = el("select");
          select.setAttribute("aria-label", component.placeholder);
          select.disabled = true;
          select.appendChild(el("option", null, component.placeholder));
          box.appendChild(select);
        }
      }
    }
    return box;
  }

  function messageNode(view) {
    const article = el("article", view.ephemeral ? "message ephemeral" : "message");
    article.dataset.id = view.id;
    article.setAttribute("aria-label", "Message from " + view.author);
    article.appendChild(el("div", "avatar", (view.author || "?").charAt(0).toUpperCase()));
    if (view.command) article.appendChild(el("div", "used", view.command.user + " used " + view.command.name));
    const meta = el("div", "meta");
    meta.appendChild(el("span", "author", view.author));
    if (view.bot) meta.appendChild(el("span", "bot-tag", "APP"));
    const epoch = view.timestamp ? isoTime(view.timestamp) : null;
    if (epoch !== null) meta.appendChild(timeNode(epoch, "f"));
    if (view.edited) meta.appendChild(el("span", "edited", "(edited)"));
    article.appendChild(meta);
    if (view.loading) article.appendChild(el("div", "thinking", view.author + " is thinking…"));
    if (hasText(view.content)) {
      const content = el("div", "content");
      blocks(view.content, content);
      article.appendChild(content);
    }
    for (const embed of view.embeds) article.appendChild(embedNode(embed));
    if (view.components.length) article.appendChild(componentsNode(view));
    for (const file of view.attachments) article.appendChild(el("div", "attachment", "📎 " + file.filename + " (" + file.size + " bytes)"));
    if (view.ephemeral) article.appendChild(el("div", "ephemeral-note", "Only you can see this"));
    return article;
  }

  function drawMessages(views) {
    const box = byId("messages");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const wanted = new Set(views.map((v) => v.id));
    for (const node of Array.from(box.children)) {
      if (!wanted.has(node.dataset.id)) { box.removeChild(node); state.shown.delete(node.dataset.id); }
    }
    let previous = null;
    let changed = false;
    for (const view of views) {
      const key = view.version + ":" + state.acting;
      let node = box.querySelector('article[data-id="' + CSS.escape(view.id) + '"]');
      if (!node || state.shown.get(view.id) !== key) {
        const fresh = messageNode(view);
        if (node) box.replaceChild(fresh, node); else box.insertBefore(fresh, previous ? previous.nextSibling : box.firstChild);
        node = fresh;
        state.shown.set(view.id, key);
        changed = true;
      }
      previous = node;
    }
    if (changed && nearBottom) box.scrollTop = box.scrollHeight;
  }

  async function poll() {
    const channel = state.channel;
    if (channel) {
      try {
        const data = await api("messages?channel=" + encodeURIComponent(channel));
        if (data.messages && channel === state.channel) { // not a channel left meanwhile
          if (data.acting !== state.acting) { state.acting = data.acting; byId("acting").value = data.acting; }
          drawMessages(data.messages);
        }
      } catch (e) { /* the sandbox stopped: keep what is shown */ }
    }
    setTimeout(poll, POLL_MS);
  }

  // --- channels and who you are ---------------------------------------------------------

  function drawChannels() {
    const list = byId("channel-list");
    list.textContent = "";
    for (const channel of state.channels) {
      const item = el("li");
      const button = el("button", null, "# " + channel.name);
      button.type = "button";
      if (channel.id === state.channel) button.setAttribute("aria-current", "page");
      button.addEventListener("click", () => openChannel(channel.id));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  function openChannel(id) {
    state.channel = id;
    state.shown.clear();
    byId("messages").textContent = "";
    const channel = state.channels.find((c) => c.id === id);
    byId("channel-title").textContent = "# " + (channel ? channel.name : id);
    byId("message").placeholder = "Message #" + (channel ? channel.name : id) + " (type / for commands, Tab picks a suggestion)";
    drawChannels();
  }

  async function actAs(who) {
    const data = await api("act", { as: who });
    if (data.error) { showError(data.error); return; }
    state.acting = data.acting;
    byId("you").textContent = data.you;
    state.shown.clear();
    byId("messages").textContent = "";
  }

  // --- the message box ------------------------------------------------------------------

  function showError(text) { byId("error").textContent = text || ""; }

  async function send(line) {
    showError("");
    hideSuggestions();
    const data = await api("send", { line: line, channel: state.channel });
    if (data.error) { showError(data.error); return false; }
    return true;
  }

  async function click(messageId, customId) {
    showError("");
    const data = await api("click", { message_id: messageId, custom_id: customId });
    if (data.error) showError(data.error);
  }

  function hideSuggestions() {
    state.suggestions = [];
    state.selected = -1;
    const list = byId("suggestions");
    list.hidden = true;
    list.textContent = "";
    byId("message").removeAttribute("aria-activedescendant");
  }

  function drawSuggestions() {
    const list = byId("suggestions");
    list.textContent = "";
    if (!state.suggestions.length) { hideSuggestions(); return; }
    state.suggestions.forEach((suggestion, index) => {
      const item = el("li");
      item.id = "suggestion-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === state.selected ? "true" : "false");
      item.appendChild(el("span", "label", suggestion.label));
      if (suggestion.description) item.appendChild(el("span", "description", suggestion.description));
      item.addEventListener("mousedown", (event) => { event.preventDefault(); pick(index); });
      list.appendChild(item);
    });
    list.hidden = false;
    if (state.selected >= 0) byId("message").setAttribute("aria-activedescendant", "suggestion-" + state.selected);
  }

  function pick(index) {
    const suggestion = state.suggestions[index];
    if (!suggestion) return;
    const input = byId("message");
    input.value = suggestion.insert;
    input.focus();
    hideSuggestions();
    requestSuggestions();
  }

  let suggestTimer = null;
  function requestSuggestions() {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(async () => {
      const line = byId("message").value;
      const serial = ++state.suggestSerial;
      if (!line.startsWith("/")) { hideSuggestions(); return; }
      const data = await api("suggest", { line: line, channel: state.channel });
      if (serial !== state.suggestSerial || byId("message").value !== line) return; // stale
      state.suggestions = data.suggestions || [];
      state.selected = state.suggestions.length ? 0 : -1;
      drawSuggestions();
    }, SUGGEST_DELAY_MS);
  }

  function setUp() {
    const input = byId("message");
    input.addEventListener("input", () => { showError(""); requestSuggestions(); });
    input.addEventListener("keydown", (event) => {
      const open = state.suggestions.length > 0;
      if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        state.selected = (state.selected + step + state.suggestions.length) % state.suggestions.length;
        drawSuggestions();
      } else if (open && event.key === "Tab") {
        event.preventDefault();
        pick(Math.max(state.selected, 0));
      } else if (event.key === "Escape") {
        hideSuggestions();
      }
    });
    byId("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const line = input.value.trim();
      if (!line) return;
      state.suggestSerial++;
      clearTimeout(suggestTimer);
      if (await send(line)) input.value = "";
    });
    byId("acting").addEventListener("change", (event) => actAs(event.target.value));
  }

  async function start() {
    setUp();
    const data = await api("state");
    byId("guild-name").textContent = data.guild;
    document.title = data.guild + " · " + data.title;
    state.channels = data.channels || [];
    state.acting = data.acting;
    byId("acting").value = data.acting;
    byId("acting").options[0].textContent = data.users.owner + " (the server's owner)";
    byId("acting").options[1].textContent = data.users.member + " (a plain member)";
    byId("you").textContent = data.you;
    if (state.channels.length) openChannel(state.channels[0].id);
    poll();
  }

  start();
})();
