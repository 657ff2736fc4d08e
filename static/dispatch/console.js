/* The dispatch console: keyboard first. Where is the family (suggestions, coordinates, map click) -> what help
   (keys toggle kinds), the child's age -> results grouped by kind, nearest first, within a fraction of a second
   (150 ms debounce, stale requests aborted). C copies a phone, Space picks a card for the referral, R builds it. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var root = $("console");
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var urls = { search: root.dataset.searchUrl, suggest: root.dataset.suggestUrl, referral: root.dataset.referralUrl };
  var whereEl = $("where"), listEl = $("where-list"), ageEl = $("age"), resultsEl = $("results");
  var statusEl = $("status"), originEl = $("origin"), toastEl = $("toast");
  var dialog = $("referral");
  var kindBoxes = Array.prototype.slice.call(document.querySelectorAll("#kinds input[type=checkbox]"));
  var T = JSON.parse($("console-text").textContent);  // the console's words in the page's language
  var fmt = function (t, o) { return t.replace(/\{(\w+)\}/g, function (m, k) { return k in o ? o[k] : m; }); };
  var kindInfo = {};
  kindBoxes.forEach(function (b) { kindInfo[b.value] = { name: b.dataset.name, colour: b.dataset.colour, box: b }; });

  var state = {
    origin: null,        // {settlement: id} or {lat, lon}
    originQuery: null,   // the same as URL parameters of the referral
    suggestions: [], point: null, place: null, active: -1,   // place: what became of the typed name
    listQuery: null,     // the query whose answer the open list shows
    call: newCallId(),
    chosen: [],          // [{sal, name, service, dist}]
    sms: null,           // the referral's SMS: {text, length, parts, included, total}
    cards: [],           // result cards in screen order
    data: null
  };

  function newCallId() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function debounce(fn, ms) {
    var t = null;
    var d = function () { var args = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, args); }, ms); };
    d.now = function () { clearTimeout(t); fn(); };
    return d;
  }

  function toast(text, bad) {
    if (dialog.open) {  // the dialog sits above the page and its toast: say it in the dialog
      $("referral-note").textContent = text;
      $("referral-note").className = "copied" + (bad ? " bad" : "");
      return;
    }
    toastEl.textContent = text;
    toastEl.className = "toast" + (bad ? " bad" : "");
    toastEl.hidden = false;
    clearTimeout(toast.t);
    toast.t = setTimeout(function () { toastEl.hidden = true; }, 2200);
  }

  function copy(text, what) {
    var done = function () { toast(fmt(T.copied, { what: what || text })); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text).then(done, function () { legacyCopy(text) ? done() : toast(T.copyFailed, true); });
    }
    if (legacyCopy(text)) { done(); } else { toast(T.copyFailed, true); }
    return Promise.resolve();
  }

  function legacyCopy(text) {
    var ta = el("textarea");
    ta.value = text;
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }

  /* --- where is the family ------------------------------------------------------------------------------ */
  var suggestCtrl = null;
  var suggest = debounce(function () {
    var q = whereEl.value.trim();
    if (suggestCtrl) { suggestCtrl.abort(); }
    if (!q) { closeList(); return; }
    suggestCtrl = new AbortController();
    fetch(urls.suggest + "?q=" + encodeURIComponent(q), { credentials: "same-origin", signal: suggestCtrl.signal,
                                                          headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { showStatus(res.body.error ? res.body.error.message : T.error, true); return; }
        state.point = res.body.point;
        state.suggestions = res.body.results;
        state.place = res.body.place || null;
        // Enter takes the first line only if it is the place typed (or the coordinates), never a look-alike.
        // A late answer to the query already on screen keeps the line the consultant has moved to.
        var moved = q === state.listQuery && state.active >= 0 && state.active < options().length;
        if (!moved) { state.active = (state.point || (state.place && state.place.status === "found")) ? 0 : -1; }
        state.listQuery = q;
        renderList();
      })
      .catch(function (e) { if (e.name !== "AbortError") { showStatus(T.offline, true); } });
  }, 120);

  function closeList() {
    state.listQuery = null;
    listEl.hidden = true;
    listEl.textContent = "";
    whereEl.setAttribute("aria-expanded", "false");
    whereEl.removeAttribute("aria-activedescendant");
  }

  function options() {
    if (state.point) { return [{ point: true, label: state.point.label, lat: state.point.lat, lon: state.point.lon }]; }
    return state.suggestions;
  }

  function renderList() {
    listEl.textContent = "";
    var opts = options();
    if (!opts.length) {
      var none = el("li", "none", T.noPlace);
      listEl.appendChild(none);
    } else if (!state.point && state.place && state.place.message) {
      listEl.appendChild(el("li", "none", state.place.message));  // several namesakes, or only look-alikes
    }
    opts.forEach(function (o, i) {
      var li = el("li", "opt" + (i === state.active ? " active" : ""));
      li.id = "where-opt-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === state.active ? "true" : "false");
      if (o.point) {
        li.appendChild(el("strong", null, o.label));
      } else {
        li.appendChild(el("strong", null, o.name));
        if (o.type_name) { li.appendChild(el("span", "where-type", o.type_name)); }
        li.appendChild(el("span", "where-sub", [o.district, o.region.name].filter(Boolean).join(", ")));
        if (o.population) { li.appendChild(el("span", "where-pop", fmt(T.people, { n: o.population.toLocaleString(T.numberLocale) }))); }
      }
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
      listEl.appendChild(li);
    });
    listEl.hidden = false;
    whereEl.setAttribute("aria-expanded", "true");
    if (state.active >= 0) { whereEl.setAttribute("aria-activedescendant", "where-opt-" + state.active); }
  }

  function choose(i) {
    var o = options()[i];
    if (!o) { return; }
    if (o.point) {
      setOrigin({ lat: o.lat, lon: o.lon }, o.label, whereEl.value.trim());
    } else {
      setOrigin({ settlement: o.id }, o.label, o.name);
    }
    closeList();
    resultsEl.focus();
  }

  function setOrigin(origin, label, inputText) {
    state.origin = origin;
    originEl.textContent = originEl.title = label ? fmt(T.family, { label: label }) : "";
    if (inputText !== undefined) { whereEl.value = inputText; }
    search.now();
  }

  whereEl.addEventListener("input", suggest);
  whereEl.addEventListener("keydown", function (ev) {
    var n = options().length;
    if (ev.key === "ArrowDown" && !listEl.hidden && n) {
      ev.preventDefault(); state.active = (state.active + 1) % n; renderList();
    } else if (ev.key === "ArrowUp" && !listEl.hidden && n) {
      ev.preventDefault(); state.active = (state.active - 1 + n) % n; renderList();
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      if (!listEl.hidden && state.active >= 0) { choose(state.active); }
      else if (listEl.hidden || whereEl.value.trim() !== state.listQuery) { suggest.now(); }
    } else if (ev.key === "Escape") {
      if (!listEl.hidden) { ev.preventDefault(); closeList(); }
      else if (state.origin) { ev.preventDefault(); resultsEl.focus(); }
    }
  });
  whereEl.addEventListener("blur", function () { setTimeout(closeList, 150); });

  /* --- the child's age ------------------------------------------------------------------------------------ */
  function ageMonths() {
    var raw = ageEl.value.trim().toLowerCase().replace(",", ".");
    if (!raw) { return { ok: true, months: null }; }
    var m = raw.match(/^(\d{1,3})\s*(м|мес|m)\.?$/);
    if (m) { return { ok: +m[1] <= 216, months: +m[1] }; }
    m = raw.match(/^(\d{1,2}(?:\.\d+)?)\s*(г|л|год|года|лет|y)?\.?$/);
    if (m) { var months = Math.round(parseFloat(m[1]) * 12); return { ok: months <= 216, months: months }; }
    return { ok: false, months: null };
  }
  ["condition", "cost"].forEach(function (id) {  // the child's condition and the cost narrow the search at once
    $(id).addEventListener("change", function () { if (state.origin) { runSearch(); } });
  });
  ageEl.addEventListener("input", function () {
    var a = ageMonths();
    ageEl.setAttribute("aria-invalid", a.ok ? "false" : "true");
    if (a.ok) { search(); }
  });
  ageEl.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" || ev.key === "Escape") { ev.preventDefault(); search.now(); resultsEl.focus(); }
  });

  /* --- kinds of help ----------------------------------------------------------------------------------------- */
  kindBoxes.forEach(function (b) { b.addEventListener("change", function () { search(); }); });
  function selectedKinds() { return kindBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); }

  /* --- the search ------------------------------------------------------------------------------------------- */
  var searchCtrl = null, seq = 0;
  var search = debounce(runSearch, 150);

  function showStatus(text, bad) {
    statusEl.textContent = text;
    statusEl.className = "status" + (bad ? " bad" : "");
  }

  function runSearch() {
    var kinds = selectedKinds();
    if (!state.origin) { showStatus(T.startWhere); return; }
    if (!kinds.length) {
      showStatus(fmt(T.chooseKind, { first: kindBoxes[0].dataset.name.toLowerCase() }));
      render(null);
      return;
    }
    var age = ageMonths();
    if (!age.ok) { showStatus(T.badAge, true); return; }
    if (searchCtrl) { searchCtrl.abort(); }
    searchCtrl = new AbortController();
    var mine = ++seq;
    var cond = $("condition").value, cost = $("cost").value;
    var body = { kinds: kinds, age_months: age.months, call: state.call,
                 conditions: cond ? [cond] : [], costs: cost ? [cost] : [] };
    Object.keys(state.origin).forEach(function (k) { body[k] = state.origin[k]; });
    resultsEl.setAttribute("aria-busy", "true");
    var t0 = performance.now();
    fetch(urls.search, {
      method: "POST", credentials: "same-origin", signal: searchCtrl.signal,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
      .then(function (res) {
        if (mine !== seq) { return; }
        resultsEl.removeAttribute("aria-busy");
        if (!res.ok) {
          showStatus(res.status === 401 ? T.expired :
                     (res.body.error ? res.body.error.message : T.searchError), true);
          return;
        }
        state.data = res.body;
        state.originQuery = res.body.origin.query;
        originEl.textContent = originEl.title = fmt(T.family, { label: res.body.origin.label });
        render(res.body);
        var n = res.body.groups.reduce(function (s, g) { return s + g.results.length; }, 0);
        showStatus(fmt(T.found, { n: n, place: res.body.origin.short, ms: Math.round(performance.now() - t0) }));
      })
      .catch(function (e) {
        if (e.name === "AbortError" || mine !== seq) { return; }
        resultsEl.removeAttribute("aria-busy");
        showStatus(T.offlineRetry, true);
      });
  }

  /* --- results ---------------------------------------------------------------------------------------------- */
  function isChosen(sal) { return state.chosen.some(function (c) { return c.sal === sal; }); }

  function card(r, groupName) {
    var a = el("article", "card kb-" + r.kind + (isChosen(r.sal_id) ? " chosen" : ""));
    a.tabIndex = 0;
    a.dataset.sal = r.sal_id;
    a.setAttribute("aria-label", r.distance_text + ", " + r.organization);
    var top = el("div", "card-top");
    top.appendChild(el("span", "dist", r.delivery === "online" ? T.online : r.distance_text));
    if (r.far) { top.appendChild(el("span", "badge warn", T.far)); }
    var phones = el("span", "phones");
    (r.phones.length ? r.phones : []).forEach(function (p, i) {
      var b = el("button", "phone" + (i === 0 ? " main" : ""), p.display);
      b.type = "button";
      b.tabIndex = -1;
      b.title = T.copy + (p.note ? " — " + p.note : "");
      b.dataset.phone = p.display;
      b.addEventListener("click", function (ev) { ev.stopPropagation(); copy(p.display); a.focus(); });
      phones.appendChild(b);
    });
    if (!r.phones.length) { phones.appendChild(el("span", "nophone", T.noPhone)); }
    top.appendChild(phones);
    // Beside the phone, two lines at most until the card has the focus: five cards fit at 1366×768.
    var name = el("div", "card-name");
    name.appendChild(el("strong", null, r.organization));
    if (r.service_name) { name.appendChild(el("span", "svc", " — " + r.service_name)); }
    name.title = name.textContent;
    top.appendChild(name);
    a.appendChild(top);

    var addr = el("div", "card-addr");
    addr.appendChild(el("span", "open " + (r.opening.open_now ? "yes" : r.opening.known ? "no" : "unknown"), r.opening.text));
    addr.appendChild(el("span", "addr", r.address || T.noAddress));
    if (r.confidential) { addr.appendChild(el("span", "badge conf", T.confidential)); }
    a.appendChild(addr);

    var meta = el("div", "card-meta");
    if (r.reaches_you) { meta.appendChild(el("span", "badge reach", T.reaches)); }
    if (r.age) { meta.appendChild(el("span", "badge", r.age)); }
    if (r.capacity) { meta.appendChild(el("span", "badge cap" + (r.capacity.free === 0 ? " warn" : ""), r.capacity.text)); }
    if (r.hours.length) { meta.appendChild(el("span", "hours", r.hours.join("; "))); }
    meta.appendChild(el("span", "badge" + (r.verified.stale ? " warn" : " ok"), (r.verified.stale ? "⚠ " : "") + r.verified.text));
    if (r.needs) { var needs = el("span", "badge needs", r.needs); needs.title = r.needs; meta.appendChild(needs); }
    if (isChosen(r.sal_id)) { meta.appendChild(el("span", "badge pick", "✓ " + T.picked)); }
    a.appendChild(meta);

    a.addEventListener("click", function () { a.focus(); });
    a.addEventListener("dblclick", function () { toggleChosen(r); });
    a._result = r;
    return a;
  }

  function render(data) {
    resultsEl.textContent = "";
    state.cards = [];
    if (!data) { drawMap(null); return; }
    data.groups.forEach(function (g) {
      var sec = el("section", "group");
      var h = el("h2", "group-head");
      if (g.key) { h.appendChild(el("kbd", null, g.key)); }
      h.appendChild(el("span", "dot k-" + g.kind));
      h.appendChild(el("span", "gname", g.name));
      h.appendChild(el("span", "gcount", fmt(T.within, { n30: g.within_30, n100: g.within_100 })));
      sec.appendChild(h);
      if (g.nothing_near && g.results.length) {
        sec.appendChild(el("p", "nothing-near", fmt(T.nothingNear, { km: g.far_km })));
      }
      if (!g.results.length) {
        sec.appendChild(el("p", "empty", data.online.length ? T.noneSeeOnline : T.none));
      }
      g.results.forEach(function (r) { var c = card(r, g.name); sec.appendChild(c); state.cards.push(c); });
      resultsEl.appendChild(sec);
    });
    // services not ranked by distance: the helplines (when a kind has nothing near), the region's online ones
    function listed(cls, title, rows) {
      if (!rows || !rows.length) { return; }
      var sec = el("section", "group " + cls);
      var h = el("h2", "group-head");
      h.appendChild(el("span", "gname", title));
      sec.appendChild(h);
      rows.forEach(function (r) { var c = card(r, ""); sec.appendChild(c); state.cards.push(c); });
      resultsEl.appendChild(sec);
    }
    listed("helplines", T.helplines, data.helplines);
    listed("online", T.onlineRegion, data.online);
    drawMap(data);
  }

  function focusedCard() {
    var a = document.activeElement;
    return a && a.classList && a.classList.contains("card") ? a : null;
  }

  function moveCard(step) {
    if (!state.cards.length) { return; }
    var i = state.cards.indexOf(focusedCard());
    i = i < 0 ? (step > 0 ? 0 : state.cards.length - 1) : Math.max(0, Math.min(state.cards.length - 1, i + step));
    state.cards[i].focus();
    state.cards[i].scrollIntoView({ block: "nearest" });
  }

  function copyPhone(card, which) {
    card = card || state.cards[0];
    if (!card) { toast(T.noResults, true); return; }
    var r = card._result;
    var p = r.phones[which || 0] || r.phones[0];
    if (!p) { toast(T.noPhoneHere, true); return; }
    copy(p.display, p.display + " — " + r.organization);
  }

  /* --- the referral ----------------------------------------------------------------------------------------- */
  function toggleChosen(r) {
    var i = -1;
    state.chosen.forEach(function (c, j) { if (c.sal === r.sal_id) { i = j; } });
    if (i >= 0) { state.chosen.splice(i, 1); } else {
      state.chosen.push({ sal: r.sal_id, name: r.organization, dist: r.distance_text,
                          service: r.service_name || (kindInfo[r.kind] || {}).name || "" });
    }
    renderChosen();
    var cur = focusedCard();
    var sal = cur ? cur.dataset.sal : null;
    if (state.data) { render(state.data); }
    if (sal) { var again = resultsEl.querySelector('.card[data-sal="' + sal + '"]'); if (again) { again.focus(); } }
  }

  function renderChosen() {
    var ol = $("chosen");
    ol.textContent = "";
    state.chosen.forEach(function (c) {  // the service too: two of one organization must be told apart
      var li = el("li");
      li.appendChild(el("strong", null, c.name));
      if (c.service) { li.appendChild(el("span", "svc", " — " + c.service)); }
      li.appendChild(el("span", "hint", " · " + c.dist));
      ol.appendChild(li);
    });
    $("chosen-empty").hidden = state.chosen.length > 0;
  }

  function buildReferral() {
    if (!state.data || !state.originQuery) { toast(T.searchFirst, true); return; }
    var sal = state.chosen.map(function (c) { return c.sal; });
    if (!sal.length) {
      state.data.groups.forEach(function (g) { if (g.results[0]) { sal.push(g.results[0].sal_id); } });
    }
    if (!sal.length) { toast(T.nothingToRefer, true); return; }
    var q = new URLSearchParams(state.originQuery);
    q.set("sal", sal.join(","));
    q.set("card_lang", $("card-lang").value);
    fetch(urls.referral + "?" + q.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { toast(res.body.error ? res.body.error.message : T.error, true); return; }
        $("referral-text").value = res.body.text;
        $("referral-print").href = res.body.print_url;
        showSms(res.body.sms);
        if (!dialog.open) { dialog.showModal(); $("referral-copy").focus(); }
      })
      .catch(function () { toast(T.offline, true); });
  }

  /* The SMS for the family: short (two parts at most), built by the server; S copies it on any device, the link
     opens the phone's messages with it (and the family's number, if typed: it never leaves this window). */
  function smsLink() {
    var to = $("sms-to").value.replace(/[^\d+]/g, "");
    return "sms:" + to + "?&body=" + encodeURIComponent(state.sms ? state.sms.text : "");
  }

  function smsParts(sms) { return sms.parts === 1 ? T.smsOnePart : fmt(T.smsParts, { n: sms.parts }); }  // the server's: 1 or 2

  function showSms(sms) {
    state.sms = sms;
    $("sms-text").textContent = sms.text;
    $("sms-count").textContent = "(" + fmt(T.smsLength, { n: sms.length, parts: smsParts(sms) }) + ")";
    $("sms-left").hidden = sms.included === sms.total;
    $("sms-left").textContent = fmt(T.smsLeft, { n: sms.included, total: sms.total });
    $("referral-sms").href = smsLink();
    $("referral-note").textContent = "";
  }

  $("sms-to").addEventListener("input", function () { $("referral-sms").href = smsLink(); });
  $("sms-copy").addEventListener("click", function () {
    if (state.sms) { copy(state.sms.text, fmt(T.smsForFamily, { parts: smsParts(state.sms) })); }
  });
  $("build-referral").addEventListener("click", buildReferral);
  $("card-lang").addEventListener("change", buildReferral);  // the family's language: the card is made again
  $("referral-copy").addEventListener("click", function () { copy($("referral-text").value, T.referralText); });
  $("referral-close").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("close", function () { resultsEl.focus(); });

  /* --- a new call --------------------------------------------------------------------------------------------- */
  function newCall() {
    if (searchCtrl) { searchCtrl.abort(); }
    state.origin = null; state.originQuery = null; state.data = null; state.chosen = []; state.call = newCallId();
    whereEl.value = ""; ageEl.value = ""; $("condition").value = ""; $("cost").value = ""; originEl.textContent = ""; $("sms-to").value = "";
    kindBoxes.forEach(function (b) { b.checked = false; });
    render(null); renderChosen(); closeList();
    showStatus(T.newCall);
    whereEl.focus();
  }
  $("new-call").addEventListener("click", newCall);

  /* --- keys ---------------------------------------------------------------------------------------------------- */
  function typing() {
    var a = document.activeElement;
    return a && !a.readOnly && (a.tagName === "TEXTAREA" || (a.tagName === "INPUT" && /^(text|tel)$/.test(a.type)) ||
                                a.isContentEditable);
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (dialog.open) {
      if (typing()) { return; }  // the family's number being typed
      if (ev.code === "KeyC") { ev.preventDefault(); $("referral-copy").click(); }
      else if (ev.code === "KeyP") { ev.preventDefault(); $("referral-print").click(); }
      else if (ev.code === "KeyS") { ev.preventDefault(); $("sms-copy").click(); }
      return;
    }
    if (ev.key === "F2") { ev.preventDefault(); whereEl.focus(); whereEl.select(); return; }
    if (typing()) { return; }
    var kindBox = kindBoxes.filter(function (b) { return b.dataset.keyCode && b.dataset.keyCode === ev.code; })[0];
    if (kindBox && !ev.shiftKey) {
      ev.preventDefault();
      kindBox.checked = !kindBox.checked;
      showStatus((kindBox.checked ? "+ " : "− ") + kindBox.dataset.name);
      search();
      return;
    }
    var card = focusedCard();
    switch (ev.code) {
      case "Slash": ev.preventDefault(); whereEl.focus(); whereEl.select(); break;
      case "KeyA": ev.preventDefault(); ageEl.focus(); ageEl.select(); break;
      case "KeyN": ev.preventDefault(); newCall(); break;
      case "KeyR": ev.preventDefault(); buildReferral(); break;
      case "KeyC": ev.preventDefault(); copyPhone(card, ev.shiftKey ? 1 : 0); break;
      case "ArrowDown": case "KeyJ": ev.preventDefault(); moveCard(1); break;
      case "ArrowUp": case "KeyK": ev.preventDefault(); moveCard(-1); break;
      case "Space": case "KeyX":
        if (card) { ev.preventDefault(); toggleChosen(card._result); }
        break;
      case "Enter":
        if (card) { ev.preventDefault(); copyPhone(card, 0); }
        break;
      default: break;
    }
  });

  /* --- the map (optional) ---------------------------------------------------------------------------------- */
  var map = null, layer = null;
  (function initMap() {
    var box = $("map");
    if (!box) { return; }
    if (!window.L) { box.hidden = true; $("map-note").hidden = false; return; }
    try {
      map = window.L.map(box, { keyboard: false, zoomControl: true, attributionControl: true }).setView([56.0, 45.0], 4);
      window.L.tileLayer(box.dataset.tiles, { maxZoom: 18, attribution: box.dataset.attribution }).addTo(map);
      layer = window.L.layerGroup().addTo(map);
      map.on("click", function (e) {
        var lat = Math.round(e.latlng.lat * 1e5) / 1e5, lon = Math.round(e.latlng.lng * 1e5) / 1e5;
        setOrigin({ lat: lat, lon: lon }, fmt(T.point, { p: lat + ", " + lon }), lat + ", " + lon);
      });
    } catch (e) {
      box.hidden = true; $("map-note").hidden = false; map = null;
    }
  })();

  function drawMap(data) {
    if (!map) { return; }
    layer.clearLayers();
    if (!data) { return; }
    var o = [data.origin.lat, data.origin.lon];
    var pts = [o];
    window.L.circleMarker(o, { radius: 9, color: "#000", weight: 3, fillColor: "#ffbf47", fillOpacity: 1 })
      .bindTooltip(T.familyHere).addTo(layer);
    data.groups.forEach(function (g) {
      var colour = (kindInfo[g.kind] || {}).colour || "#333";
      g.results.forEach(function (r, i) {
        if (r.delivery === "online") { return; }
        window.L.circleMarker([r.lat, r.lon], { radius: 7, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 0.95 })
          .bindTooltip(r.distance_text + " · " + r.organization).addTo(layer)
          .on("click", function () {
            var c = resultsEl.querySelector('.card[data-sal="' + r.sal_id + '"]');
            if (c) { c.focus(); c.scrollIntoView({ block: "nearest" }); }
          });
        if (i < 2) { pts.push([r.lat, r.lon]); }
      });
    });
    try { map.fitBounds(window.L.latLngBounds(pts).pad(0.15), { maxZoom: 11, animate: false }); } catch (e) { /* one point */ }
  }
}());
