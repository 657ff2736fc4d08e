/* The curators' editor: places on a map (settlement search, a click, a dragged marker or typed coordinates — the
   fields and the marker stay in sync), a check of each point's region, phones checked as they are typed, rows
   added and removed without a round trip. Without JavaScript the same form works: coordinates are typed, a
   settlement name is looked up on save, "add" buttons submit and come back with a new empty row. */
(function () {
  "use strict";

  var form = document.getElementById("editor");
  if (!form) { return; }
  document.documentElement.className += " js";
  var cfg = {
    suggest: form.dataset.suggestUrl, point: form.dataset.pointUrl, phone: form.dataset.phoneUrl,
    tiles: form.dataset.tiles, attribution: form.dataset.attribution, region: form.dataset.region,
    center: form.dataset.center ? JSON.parse(form.dataset.center) : null
  };
  var T = JSON.parse(document.getElementById("editor-text").textContent);  // the editor's words, page's language
  var fill = function (t, o) { return t.replace(/\{(\w+)\}/g, function (m, k) { return k in o ? o[k] : m; }); };
  var L = window.L;
  var outsideRows = {};  // location rows whose point lies outside the curator's regions

  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }
  function input(row, name) {
    return row.querySelector('[name="' + row.dataset.row + "[" + row.dataset.index + "]." + name + '"]');
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function debounce(fn, ms) {
    var t = null;
    return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); };
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); });
    });
  }
  function num(raw) {
    var s = (raw || "").trim().replace(",", ".");
    return /^-?\d{1,3}(\.\d+)?$/.test(s) ? parseFloat(s) : null;
  }
  function fmt(x) { return x.toFixed(6).replace(/0+$/, "").replace(/\.$/, ""); }
  function distanceKm(a, b) {
    var r = Math.PI / 180, dLat = (b.lat - a.lat) * r, dLon = (b.lon - a.lon) * r;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
            Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 12742 * Math.asin(Math.sqrt(h));
  }

  /* --- the exception for points outside the curator's regions ------------------------------------------ */
  var exception = document.getElementById("exception");
  function updateException() {
    var reason = document.getElementById("f-region_exception_reason");
    var any = Object.keys(outsideRows).some(function (k) { return outsideRows[k]; });
    exception.hidden = !(any || (reason && reason.value.trim()) || exception.classList.contains("has-problem"));
  }

  /* --- a place: map, marker, coordinates, settlement --------------------------------------------------- */
  function initLocation(row) {
    var lat = input(row, "lat"), lon = input(row, "lon"), sid = input(row, "settlement_id");
    var sq = input(row, "settlement_label"), list = row.querySelector(".suggest");
    var check = row.querySelector(".loc-check"), box = row.querySelector(".locmap");
    var state = { map: null, marker: null, suggestions: [], active: -1, pending: null };
    box._curate = state;

    function point() {
      var a = num(lat.value), b = num(lon.value);
      return a !== null && b !== null && Math.abs(a) <= 90 && Math.abs(b) <= 180 ? { lat: a, lon: b } : null;
    }

    function place(p, view) {
      if (!state.map) { return; }
      var ll = L.latLng(p.lat, p.lon);
      if (!state.marker) {
        state.marker = L.marker(ll, { draggable: true, autoPan: true, title: T.markerTitle,
                                      alt: T.markerAlt }).addTo(state.map);
        state.marker.on("dragend", function () { write(state.marker.getLatLng().wrap()); });
      } else {
        state.marker.setLatLng(ll);
      }
      if (view === "zoom") { state.map.setView(ll, Math.max(state.map.getZoom(), 14), { animate: false }); }
      else if (view) { state.map.panTo(ll, { animate: false }); }
    }

    function write(ll) {
      lat.value = fmt(ll.lat);
      lon.value = fmt(ll.lng);
      checkPoint();
    }

    if (L && box) {
      try {
        state.map = L.map(box, { scrollWheelZoom: false, keyboard: true });
        L.tileLayer(cfg.tiles, { maxZoom: 18, attribution: cfg.attribution }).addTo(state.map);
        var p = point(), c = cfg.center;
        if (p) { state.map.setView([p.lat, p.lon], 15); place(p, false); }
        else if (c) { state.map.fitBounds([[c.south, c.west], [c.north, c.east]]); }
        else { state.map.setView([56, 45], 4); }
        state.map.on("click", function (e) { place({ lat: e.latlng.lat, lon: e.latlng.lng }, true); write(e.latlng.wrap()); });
      } catch (e) {
        state.map = null;
      }
    }
    var hint = row.querySelector(".nojs-only");
    if (hint && state.map) { hint.hidden = true; }

    var fromFields = debounce(function () {
      var pair = /^\s*(-?\d{1,2}(?:[.,]\d+)?)\s*[;,\s]\s*(-?\d{1,3}(?:[.,]\d+)?)\s*$/.exec(lat.value);
      if (pair && !/^\s*-?\d{1,2}(,\d+)?\s*$/.test(lat.value)) {  // "55.78, 38.45" pasted into the latitude
        lat.value = pair[1].replace(",", ".");
        lon.value = pair[2].replace(",", ".");
      }
      var p = point();
      if (p) { place(p, true); checkPoint(); }
    }, 350);
    lat.addEventListener("input", fromFields);
    lon.addEventListener("input", fromFields);

    /* the point's region and nearest settlement */
    var checkPoint = debounce(function () {
      var p = point();
      if (!p) { return; }
      var url = cfg.point + "?lat=" + encodeURIComponent(p.lat) + "&lon=" + encodeURIComponent(p.lon);
      getJSON(url).then(function (res) {
        check.textContent = "";
        var line = el("p", res.may_edit ? "ok" : "warn", res.message);
        check.appendChild(line);
        outsideRows[row.dataset.index] = !res.may_edit;
        updateException();
        var s = res.settlement;
        if (s && String(s.id) !== sid.value) {
          var adopt = el("button", "btn small", fill(T.adopt, { name: s.name }));
          adopt.type = "button";
          adopt.addEventListener("click", function () {
            sid.value = s.id;
            sq.value = s.label;
            adopt.remove();
            refreshLocationLabels();
          });
          var near = el("p", "near", fill(T.nearest, { label: s.label }) + " ");
          near.appendChild(adopt);
          check.appendChild(near);
        }
      }, function (err) {
        check.textContent = "";
        check.appendChild(el("p", "warn", (err && err.error && err.error.message) || T.pointFailed));
      });
    }, 250);
    if (point()) { checkPoint(); }

    /* settlement suggestions (the public /api/v1/settlements) */
    function closeList() {
      list.hidden = true;
      list.textContent = "";
      sq.setAttribute("aria-expanded", "false");
      sq.removeAttribute("aria-activedescendant");
      state.active = -1;
    }
    function highlight(i) {
      var items = all(list, "li.opt");
      items.forEach(function (li, n) { li.classList.toggle("active", n === i); li.setAttribute("aria-selected", n === i ? "true" : "false"); });
      state.active = i;
      if (items[i]) { sq.setAttribute("aria-activedescendant", items[i].id); items[i].scrollIntoView({ block: "nearest" }); }
    }
    function pick(s) {
      sq.value = s.label;
      sid.value = s.id;
      closeList();
      var p = point(), target = { lat: s.lat, lon: s.lon };
      if (!p || distanceKm(p, target) > 15) {
        lat.value = fmt(s.lat);
        lon.value = fmt(s.lon);
        place(target, "zoom");
      } else {
        place(p, "zoom");
      }
      checkPoint();
      refreshLocationLabels();
    }
    var suggest = debounce(function () {
      var q = sq.value.trim();
      if (q.length < 2) { closeList(); return; }
      var mine = ++state.pending;
      getJSON(cfg.suggest + "?limit=8&q=" + encodeURIComponent(q)).then(function (res) {
        if (mine !== state.pending) { return; }
        state.suggestions = res.results || [];
        list.textContent = "";
        if (!state.suggestions.length) {
          list.appendChild(el("li", "none", T.nothing));
        }
        state.suggestions.forEach(function (s, n) {
          var li = el("li", "opt");
          li.id = "opt-" + row.dataset.index + "-" + n;
          li.setAttribute("role", "option");
          li.appendChild(el("strong", null, s.name));
          li.appendChild(el("span", "sub", [s.district, s.region && s.region.name].filter(Boolean).join(", ")));
          li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(s); });
          list.appendChild(li);
        });
        list.hidden = false;
        sq.setAttribute("aria-expanded", "true");
        highlight(state.suggestions.length ? 0 : -1);
      }, function () { closeList(); });
    }, 200);
    state.pending = 0;
    sq.addEventListener("input", function () { sid.value = ""; suggest(); });
    sq.addEventListener("keydown", function (e) {
      var n = state.suggestions.length;
      if (e.key === "ArrowDown" && !list.hidden && n) { e.preventDefault(); highlight((state.active + 1) % n); }
      else if (e.key === "ArrowUp" && !list.hidden && n) { e.preventDefault(); highlight((state.active - 1 + n) % n); }
      else if (e.key === "Enter" && !list.hidden) {
        e.preventDefault();
        if (state.active >= 0 && state.suggestions[state.active]) { pick(state.suggestions[state.active]); }
      } else if (e.key === "Escape" && !list.hidden) { e.preventDefault(); closeList(); }
    });
    sq.addEventListener("blur", function () { setTimeout(closeList, 150); });

    all(row, 'input[name$=".name"], input[name$=".address"]').forEach(function (i) {
      i.addEventListener("change", refreshLocationLabels);
    });
  }

  /* --- a service: delivery, hours ---------------------------------------------------------------------- */
  function initService(row) {
    var radios = all(row, 'input[type=radio][name$=".delivery"]');
    var radius = row.querySelector(".radius");
    function showRadius() {
      var chosen = radios.filter(function (r) { return r.checked; })[0];
      radius.hidden = !(chosen && chosen.value === "outreach") && !radius.querySelector(".problem");
    }
    radios.forEach(function (r) { r.addEventListener("change", showRadius); });
    showRadius();
    var copy = row.querySelector(".copy-weekdays");
    if (copy) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        var monday = row.querySelector('tr[data-day="1"]');
        var values = all(monday, "input[type=time]").map(function (i) { return i.value; });
        [2, 3, 4, 5].forEach(function (d) {
          all(row.querySelector('tr[data-day="' + d + '"]'), "input[type=time]").forEach(function (i, n) { i.value = values[n]; });
        });
      });
    }
  }

  /* --- a phone: checked and shown as it will be dialled ------------------------------------------------ */
  function initPhone(row) {
    var number = input(row, "number"), out = row.querySelector(".phone-check");
    number.addEventListener("change", function () {
      var raw = number.value.trim();
      out.className = "phone-check";
      if (!raw) { out.textContent = ""; return; }
      getJSON(cfg.phone + "?number=" + encodeURIComponent(raw) + "&region=" + encodeURIComponent(cfg.region || ""))
        .then(function (res) {
          out.textContent = res.ok ? "✓ " + res.display : res.message;
          out.className = "phone-check " + (res.ok ? "ok" : "bad");
        }, function () { out.textContent = ""; });
    });
  }

  /* --- rows: add, remove, keep the "which place" lists right ------------------------------------------- */
  function rowsOf(kind) { return all(form, '[data-row="' + kind + '"]'); }

  function refreshLocationLabels() {
    var locs = rowsOf("locations");
    locs.forEach(function (row, n) { var s = row.querySelector(".row-head .n"); if (s) { s.textContent = n + 1; } });
    rowsOf("services").forEach(function (row, n) { var s = row.querySelector(".row-head .n"); if (s) { s.textContent = n + 1; } });
    all(form, "select.loc-select").forEach(function (sel) {
      var value = sel.value;
      var keep = sel.dataset.none ? [sel.options[0]] : [];
      sel.textContent = "";
      keep.forEach(function (o) { sel.appendChild(o); });
      locs.forEach(function (row, n) {
        var what = (input(row, "name").value || input(row, "address").value ||
                    (input(row, "settlement_label").value || "").split(" — ")[0]).trim();
        var o = el("option", null, fill(T.place, { n: n + 1 }) + (what ? ": " + what : ""));
        o.value = row.dataset.index;
        sel.appendChild(o);
      });
      sel.value = value;
      if (sel.value !== value && !sel.dataset.none && sel.options.length) { sel.selectedIndex = 0; }
    });
  }

  function initRow(row) {
    var kind = row.dataset.row;
    if (kind === "locations") { initLocation(row); }
    else if (kind === "services") { initService(row); }
    else if (kind === "phones") { initPhone(row); }
    var remove = row.querySelector(".remove-row");
    if (remove) {
      remove.hidden = false;
      remove.addEventListener("click", function () {
        delete outsideRows[row.dataset.index];
        row.remove();
        refreshLocationLabels();
        updateException();
      });
    }
  }

  all(form, "button.add-row").forEach(function (button) {
    button.addEventListener("click", function (e) {
      e.preventDefault();
      var kind = button.dataset.add;
      var tpl = document.getElementById("tpl-" + kind);
      var container = form.querySelector('.rows[data-rows="' + kind + '"]');
      var next = rowsOf(kind).reduce(function (m, r) { return Math.max(m, parseInt(r.dataset.index, 10) + 1); }, 0);
      var html = tpl.innerHTML.replace(/__i__/g, String(next)).replace(/__n__/g, String(rowsOf(kind).length + 1));
      container.insertAdjacentHTML("beforeend", html);
      var row = rowsOf(kind).filter(function (r) { return r.dataset.index === String(next); })[0];
      initRow(row);
      refreshLocationLabels();
      var first = row.querySelector("select, input:not([type=hidden])");
      if (first) { first.focus(); }
    });
  });

  all(form, "[data-row]").forEach(initRow);
  var reason = document.getElementById("f-region_exception_reason");
  if (reason) { reason.addEventListener("input", updateException); }
  all(form, ".active-flag input").forEach(function (box) {
    box.addEventListener("change", function () { box.closest(".row").classList.toggle("off", !box.checked); });
  });

  var problems = document.getElementById("problems");
  if (problems) { problems.focus(); }
})();
