/* The page script of "/": place suggestions, "near me", filters, the nearest-help list (/api/v1/nearest), and
   the map's visible-area locations (/map-data/locations) on the map folium made (window[cfg.mapVar]).
   Without this script the page still works: the form is a plain GET form rendered on the server. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('app-config').textContent);
  var T = cfg.t;
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var fmt = function (s, o) { return s.replace(/\{(\w+)\}/g, function (m, k) { return k in o ? o[k] : m; }); };

  var form = $('#search'), place = $('#place'), list = $('#place-list'), sid = $('#settlement');
  var lat = $('#lat'), lon = $('#lon'), statusEl = $('#status'), errorEl = $('#error');
  var results = $('#results'), tpl = $('#card-tpl'), banner = $('#demo-banner');
  var map = window[cfg.mapVar], cluster = window[cfg.clusterVar];
  var allKinds = Object.keys(cfg.kinds);

  function say(msg) { statusEl.textContent = msg || ''; }
  function showError(msg) { errorEl.textContent = msg || ''; errorEl.hidden = !msg; }
  function showBanner() { if (banner) { banner.hidden = false; } }
  /* names in the page's language, as public/i18n.place_name and public/routes.place_label on the server: a
     settlement's Kazakh name on the Kazakh page where the gazetteer has one, else its Russian name */
  function placeName(s) { return (cfg.lang === 'kk' && s.name_kk) || s.name; }
  function placeLabel(s) {
    return placeName(s) + ' — ' + [s.district, cfg.regions[s.region.code] || s.region.name].filter(Boolean).join(', ');
  }

  /* ---------- the query in the URL ---------- */
  function chosenKinds() { return $$('input[name=service]:checked', form).map(function (i) { return i.value; }); }
  function chosen(name) { return $$('input[name=' + name + ']:checked', form).map(function (i) { return i.value; }); }
  function addNeeds(p) {  // the child's condition and the cost: repeatable, as the form sends them
    chosen('condition').forEach(function (c) { p.append('condition', c); });
    chosen('cost').forEach(function (c) { p.append('cost', c); });
  }
  function formParams() {
    var p = new URLSearchParams();
    if (sid.value) { p.set('settlement', sid.value); }
    else if (lat.value && lon.value) { p.set('lat', lat.value); p.set('lon', lon.value); }
    else if (place.value.trim()) { p.set('q', place.value.trim()); }
    var kinds = chosenKinds();
    if (kinds.length) { p.set('service', kinds.join(',')); }
    if ($('#age').value) { p.set('age_months', $('#age').value); }
    if ($('#open-now').checked) { p.set('open_now', '1'); }
    addNeeds(p);
    return p;
  }
  function syncUrl() {
    var q = formParams().toString();
    history.replaceState(null, '', q ? '/?' + q : '/');
  }
  function hasPlace() { return !!(sid.value || (lat.value && lon.value) || place.value.trim()); }

  /* ---------- formatting, as the server does ---------- */
  function km(value, approx) {
    var t;
    /* a confidential place: whole kilometres from its published point, never "10 m" */
    if (approx) { return '≈ ' + fmt(T.km, { km: Math.max(1, Math.round(value)) }); }
    if (value < 1) { t = fmt(T.m, { m: Math.max(10, Math.round(value * 100) * 10) }); }
    else if (value < 10) { t = fmt(T.km, { km: value.toFixed(1).replace('.', cfg.lang === 'en' ? '.' : ',') }); }
    else { t = fmt(T.km, { km: Math.round(value) }); }
    return t;
  }
  function ageMonths(m) {
    var byMonths = m < 24 && m % 12, n = byMonths ? m : Math.floor(m / 12);
    var one = cfg.lang === 'en' ? n === 1 : (n % 10 === 1 && n % 100 !== 11);
    return fmt(byMonths ? (one ? T.monthsOne : T.monthsMany) : (one ? T.yearsOne : T.yearsMany), { n: n });
  }
  function ageRange(s) {
    var lo = s.age_min_months, hi = s.age_max_months;
    if (lo == null && hi == null) { return T.anyAge; }
    if ((lo == null || lo === 0) && hi != null) { return fmt(T.fromBirth, { hi: ageMonths(hi) }); }
    if (hi == null) { return fmt(T.from, { lo: ageMonths(lo) }); }
    return fmt(T.fromTo, { lo: ageMonths(lo), hi: ageMonths(hi) });
  }

  /* ---------- place suggestions (combobox) ---------- */
  var suggestTimer = null, suggestAbort = null, options = [], active = -1;
  function closeList() {
    list.hidden = true; place.setAttribute('aria-expanded', 'false'); place.removeAttribute('aria-activedescendant');
    active = -1;
    clearTimeout(suggestTimer);  // a search sent or a place chosen: no suggestions popping up over the answer
    if (suggestAbort) { suggestAbort.abort(); }
  }
  function setActive(i) {
    var items = $$('li', list);
    items.forEach(function (li, j) { li.setAttribute('aria-selected', j === i ? 'true' : 'false'); });
    active = i;
    if (items[i]) { place.setAttribute('aria-activedescendant', items[i].id); items[i].scrollIntoView({ block: 'nearest' }); }
  }
  function renderOptions(rows) {
    options = rows; list.textContent = '';
    rows.forEach(function (s, i) {
      var li = document.createElement('li');
      li.id = 'place-opt-' + i; li.setAttribute('role', 'option'); li.setAttribute('aria-selected', 'false');
      li.textContent = placeName(s);
      // what tells namesakes apart: the census' kind of place (Russian, as the name), district, region, people
      var sub = document.createElement('span'); sub.className = 'sub';
      sub.textContent = [s.type && s.type_name, [s.district, cfg.regions[s.region.code] || s.region.name].filter(Boolean).join(', '),
                         s.population ? fmt(T.people, { n: s.population.toLocaleString('ru-RU') }) : '']
        .filter(Boolean).join(' · ');
      li.appendChild(sub);
      li.addEventListener('mousedown', function (e) { e.preventDefault(); choose(i); });
      list.appendChild(li);
    });
    if (rows.length) {
      list.hidden = false; place.setAttribute('aria-expanded', 'true');
      say(fmt(T.suggestions, { n: rows.length }));
    } else { closeList(); say(T.noSuggestions); }
  }
  function suggest() {
    var q = place.value.trim();
    if (q.length < 2) { closeList(); return; }
    if (suggestAbort) { suggestAbort.abort(); }
    suggestAbort = new AbortController();
    fetch('/api/v1/settlements?limit=7&q=' + encodeURIComponent(q), { signal: suggestAbort.signal })
      .then(function (r) { return r.json(); })
      .then(function (body) { if (place.value.trim() === q) { renderOptions(body.results || []); } })
      .catch(function () { /* aborted or offline: no suggestions */ });
  }
  function choose(i) {
    var s = options[i];
    if (!s) { return; }
    place.value = placeName(s); sid.value = s.id; lat.value = ''; lon.value = '';
    closeList(); showError('');
    if (chosenKinds().length) { runSearch(true); return; }
    // The place is set, the kinds are not: ask for them rather than answer for every kind at once.
    syncUrl(); say(T.chooseKinds);
    $('input[name=service]', form).focus();
  }
  place.addEventListener('input', function () {
    sid.value = ''; lat.value = ''; lon.value = '';
    clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 200);
  });
  place.addEventListener('keydown', function (e) {
    var open = !list.hidden && options.length;
    if (e.key === 'ArrowDown') { e.preventDefault(); if (!open) { suggest(); } else { setActive((active + 1) % options.length); } }
    else if (e.key === 'ArrowUp') { if (open) { e.preventDefault(); setActive(active <= 0 ? options.length - 1 : active - 1); } }
    else if (e.key === 'Enter') { if (open && active >= 0) { e.preventDefault(); choose(active); } }
    else if (e.key === 'Escape') { if (open) { e.preventDefault(); closeList(); } }
  });
  place.addEventListener('blur', function () { setTimeout(closeList, 150); });

  /* ---------- near me: geolocation only when the button is pressed ---------- */
  var near = $('#near-me');
  if ('geolocation' in navigator) { near.hidden = false; }
  near.addEventListener('click', function () {
    if (!('geolocation' in navigator)) { showError(T.geoUnsupported); return; }
    showError(''); say(T.geoAsking);
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(5); lon.value = pos.coords.longitude.toFixed(5);
      sid.value = ''; place.value = '';
      runSearch(true);
    }, function () { say(''); showError(T.geoDenied); place.focus(); },
    { enableHighAccuracy: false, timeout: 20000, maximumAge: 300000 });
  });

  /* ---------- a typed place that is not one settlement: offer the places, never a guess ---------- */
  var choiceEl = $('#place-choice');
  function placeLinks(rows) {
    var ul = document.createElement('ul');
    rows.forEach(function (s) {
      var li = document.createElement('li'), a = document.createElement('a'), p = formParams();
      p.delete('q'); p.delete('lat'); p.delete('lon'); p.set('settlement', s.id);
      a.href = '/?' + p.toString(); a.textContent = placeLabel(s);
      a.addEventListener('click', function (e) {
        e.preventDefault();
        sid.value = s.id; place.value = placeName(s); lat.value = ''; lon.value = '';
        runSearch(true);
      });
      li.appendChild(a); ul.appendChild(li);
    });
    return ul;
  }
  /* problem: the API's 404 not_found or 409 ambiguous error for q, with its candidates; null hides the choice */
  function showChoice(problem) {
    var places = (problem && problem.candidates) || [], ambiguous = !!problem && problem.code === 'ambiguous';
    var line = function (cls, text) {
      var p = document.createElement('p'); p.className = cls; p.textContent = text; choiceEl.appendChild(p);
    };
    choiceEl.textContent = ''; choiceEl.hidden = !places.length;
    if (!problem) { return; }
    say('');
    if (ambiguous) { line('choice-title', fmt(T.several, { q: problem.name })); }  // read out: the nav is aria-live
    else { showError(fmt(places.length ? T.notFound : T.notFoundNone, { q: place.value.trim() })); }
    if (places.length) { choiceEl.appendChild(placeLinks(places)); }
    if (ambiguous) { line('hint', T.narrow); }
  }

  /* ---------- nearest help ---------- */
  var searchAbort = null;
  function getJson(url, signal) {
    return fetch(url, { signal: signal }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    });
  }
  function runSearch(moveFocus) {
    showError('');
    if (!hasPlace()) { showError(T.noPlace); place.focus(); return; }
    if (searchAbort) { searchAbort.abort(); }
    searchAbort = new AbortController();
    var signal = searchAbort.signal;
    say(T.searching);
    showChoice(null);
    Promise.resolve().then(function () {
      var p = new URLSearchParams();
      if (sid.value) { p.set('settlement', sid.value); }
      else if (lat.value && lon.value) { p.set('lat', lat.value); p.set('lon', lon.value); }
      else { p.set('q', place.value.trim()); }  // the server says whether it is one place (as without JS)
      var kinds = chosenKinds();
      p.set('service', (kinds.length ? kinds : allKinds).join(','));
      if ($('#age').value) { p.set('age_months', $('#age').value); }
      if ($('#open-now').checked) { p.set('open_now', 'true'); }
      addNeeds(p);
      p.set('limit', '10');
      return getJson('/api/v1/nearest?' + p.toString(), signal);
    }).then(function (res) {
      var problem = res.body && res.body.error;
      if (problem && problem.field === 'q' && (problem.code === 'not_found' || problem.code === 'ambiguous')) {
        showChoice(problem); return;
      }
      if (!res.ok) { throw new Error(res.status === 400 && problem ? problem.message : 'failed'); }
      var o = res.body.origin;
      if (!sid.value && !lat.value && o.settlement) { sid.value = o.settlement.id; place.value = placeName(o.settlement); }
      syncUrl();
      render(res.body);
      if (!moveFocus) { offerResults(res.body.results.length + res.body.online.length); }
      say(res.body.nothing_near ? fmt(T.nothingNear, { km: Math.round(Math.max.apply(null, Object.values(res.body.far_km))) })
        : fmt(T.found, { n: res.body.results.length + res.body.online.length }));
      if (moveFocus) { results.focus(); results.scrollIntoView({ block: 'start' }); }
    }).catch(function (err) {
      if (err.name === 'AbortError') { return; }
      say('');
      showError(err.message !== 'failed' ? err.message : T.error);
    });
  }

  function card(r, homeCountry) {
    var li = tpl.content.firstElementChild.cloneNode(true);
    var k = cfg.kinds[r.service.type] || { name: r.service.type, icon: 'info' };
    var loc = r.location, href = '/org/' + r.organization.id + '?back=' + encodeURIComponent(location.pathname + location.search);
    var drop = function (sel) { var el = $(sel, li); if (el) { el.remove(); } };
    $('.kind-icon', li).classList.add('k-' + r.service.type);
    $('.kind-icon use', li).setAttribute('href', cfg.icons + '#i-' + k.icon);
    $('.kind-name', li).textContent = k.name;
    $('.org-link', li).textContent = r.organization.name; $('.org-link', li).href = href;
    if (r.service.name) { $('.service-name', li).textContent = r.service.name; } else { drop('.service-name'); }
    $('.distance', li).textContent = r.service.delivery === 'online' ? T.byPhone : km(r.distance_km, loc.confidential);
    if (loc.settlement) { $('.place', li).textContent = placeName(loc.settlement); } else { drop('.place'); }
    if (r.far) {
      $('.region', li).textContent = (cfg.regions[loc.region] || loc.region || '') +
        (homeCountry && r.country !== homeCountry ? ', ' + (T.countries[r.country] || r.country) : '');
    } else { drop('.region'); }
    if (!r.reaches_you) { drop('.comes'); }
    if (r.service.open_now !== true) { drop('.open'); }
    if (r.service.open_now !== false) { drop('.closed'); }
    $('.ages', li).textContent = T.age + ': ' + ageRange(r.service);
    var needs = cfg.needs || {}, sv = r.service;
    if (sv.cost) {
      $('.cost', li).textContent = [sv.cost].concat(sv.cost_basis || []).map(function (c) { return needs[c] || c; }).join(' · ');
      $('.cost', li).classList.add('cost-' + sv.cost);
    } else { drop('.cost'); }
    if (sv.conditions && sv.conditions.length) {
      $('.conditions', li).textContent = fmt(T.conditions, { list: sv.conditions.map(function (c) { return needs[c] || c; }).join(', ') });
    } else { drop('.conditions'); }
    if (!sv.cost && !(sv.conditions && sv.conditions.length)) { drop('.needs-line'); }
    if (!loc.confidential) { drop('.note'); }
    if (!loc.confidential && loc.address) { $('.address', li).textContent = loc.address; } else { drop('.address'); }
    var phone = r.phones[0];
    if (phone) { $('.call', li).href = 'tel:' + phone.number; $('.call span', li).textContent = phone.display; } else { drop('.call'); }
    $('.more', li).href = href; $('.more .sr-only', li).textContent = ': ' + r.organization.name;
    $('.report-link', li).href = '/org/' + r.organization.id + '/report?back=' + encodeURIComponent(location.pathname + location.search);
    if (r.organization.synthetic) { showBanner(); }
    return li;
  }

  function filteredNote(some) {  // says honestly what the condition and cost filters left out
    var asked = chosen('condition').concat(chosen('cost'));
    if (!asked.length) { return; }
    var what = asked.map(function (c) { return (cfg.needs || {})[c] || c; }).join(', ');
    var box = document.createElement('div'); box.className = 'filtered-note'; box.id = 'filtered-note';
    var p = document.createElement('p'), head = document.createElement(some ? 'span' : 'strong');
    head.textContent = fmt(some ? T.filteredSome : T.filteredNone, { what: what });
    p.appendChild(head); p.appendChild(document.createTextNode(' ' + T.filteredAsk)); box.appendChild(p);
    var p2 = document.createElement('p'), a = document.createElement('a');
    var args = formParams(); args.delete('condition'); args.delete('cost');
    a.href = '/?' + args.toString(); a.textContent = T.withoutFilters; p2.appendChild(a); box.appendChild(p2);
    results.appendChild(box);
  }

  function render(body) {
    var o = body.origin;
    results.textContent = '';
    var h = document.createElement('h2'); h.id = 'results-h';
    h.textContent = o.settlement && !lat.value ? fmt(T.nearest, { place: placeName(o.settlement) }) : T.nearestHere;
    results.appendChild(h);
    if (o.settlement) {
      var label = document.createElement('p'); label.className = 'origin-label'; label.textContent = placeLabel(o.settlement);
      results.appendChild(label);
    }
    if (o.alternatives && o.alternatives.length) {  // "not the right place?", as the page without JS says
      var alt = document.createElement('details'), summary = document.createElement('summary');
      alt.className = 'alternatives'; summary.textContent = T.notRight;
      alt.appendChild(summary); alt.appendChild(placeLinks(o.alternatives)); results.appendChild(alt);
    }
    var list = function (id, rows, homeCountry) {
      var ol = document.createElement('ol'); ol.className = 'cards'; ol.id = id;
      rows.forEach(function (r) { ol.appendChild(card(r, homeCountry)); });
      results.appendChild(ol);
    };
    var heading = function (cls, text) {
      var h3 = document.createElement('h3'); h3.className = cls; h3.textContent = text; results.appendChild(h3);
    };
    var farKm = Math.round(Math.max.apply(null, Object.values(body.far_km || {}).concat([0])));
    if (body.nothing_near) {
      var box = document.createElement('div'); box.className = 'nothing-near'; box.setAttribute('role', 'status');
      var p = document.createElement('p'), strong = document.createElement('strong');
      strong.textContent = fmt(T.nothingNear, { km: farKm }); p.appendChild(strong);
      if (body.results.length) {
        var first = body.results[0];
        p.appendChild(document.createTextNode(' ' + fmt(T.nearestAt, { distance: km(first.distance_km, first.location.confidential) })));
      }
      box.appendChild(p);
      if (body.abroad) { var a = document.createElement('p'); a.textContent = T.abroad; box.appendChild(a); }
      results.appendChild(box);
      if (body.helplines && body.helplines.length) { heading('helplines-h', T.helplines); list('helpline-list', body.helplines); }
    }
    var homeCountry = o.region ? o.region.split('-')[0] : null;
    list('result-list', body.results.filter(function (r) { return !r.far; }));
    var far = body.results.filter(function (r) { return r.far; });
    if (far.length) { heading('far-h', fmt(T.farH, { km: farKm })); list('far-list', far, homeCountry); }
    if (!body.results.length) {
      var empty = document.createElement('p'); empty.className = 'empty'; empty.textContent = T.nothing; results.appendChild(empty);
    }
    filteredNote(body.results.length > 0);
    if (body.online.length) {
      var h3 = document.createElement('h3'); h3.className = 'online-h'; h3.textContent = T.online; results.appendChild(h3);
      var ol2 = document.createElement('ol'); ol2.className = 'cards'; ol2.id = 'online-list';
      body.online.forEach(function (r) { ol2.appendChild(card(r)); });
      results.appendChild(ol2);
    }
    showOrigin(o, body.results.filter(function (r) { return r.service.delivery !== 'online' && !r.far; })
      .slice(0, 3).map(function (r) { return [r.location.lat, r.location.lon]; }));
  }

  /* ---------- results updated below the fold: a button to go to them ---------- */
  var toResults = $('#to-results');
  function offerResults(n) {
    var below = results.getBoundingClientRect().top > window.innerHeight - 40;
    toResults.hidden = !below;
    $('span', toResults).textContent = fmt(T.toResults, { n: n });
  }
  toResults.addEventListener('click', function () {
    toResults.hidden = true; results.focus(); results.scrollIntoView({ block: 'start' });
  });
  window.addEventListener('scroll', function () {
    if (!toResults.hidden && results.getBoundingClientRect().top < window.innerHeight - 40) { toResults.hidden = true; }
  }, { passive: true });

  /* ---------- filters ---------- */
  form.addEventListener('submit', function (e) { e.preventDefault(); closeList(); runSearch(true); });
  $$('input[name=service], input[name=condition], input[name=cost], #age, #open-now', form).forEach(function (el) {
    el.addEventListener('change', function () { if (hasPlace()) { runSearch(false); } else { syncUrl(); } loadMap(); });
  });
  $('#clear-filters').addEventListener('click', function (e) {
    e.preventDefault();
    $$('input[name=service], input[name=condition], input[name=cost]', form).forEach(function (i) { i.checked = false; });
    $('#age').value = ''; $('#open-now').checked = false;
    if (hasPlace()) { runSearch(false); } else { syncUrl(); }
    loadMap();
  });

  /* ---------- the map ---------- */
  if (!map || !cluster) { return; }
  var grid = L.layerGroup().addTo(map), originLayer = L.layerGroup().addTo(map);
  var mapAbort = null, mapTimer = null;

  function pinIcon(type, approx) {
    var k = cfg.kinds[type] || { icon: 'info' };
    var span = document.createElement('span');
    span.className = 'pin k-' + type + (approx ? ' approx' : '');
    span.innerHTML = '<svg class="icon" aria-hidden="true"><use></use></svg>';
    span.querySelector('use').setAttribute('href', cfg.icons + '#i-' + k.icon);
    return L.divIcon({ className: '', html: span, iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -14] });
  }
  function popup(item) {
    var div = document.createElement('div');
    var b = document.createElement('strong'); b.textContent = item.name; div.appendChild(b);
    var kinds = document.createElement('div'); kinds.className = 'popup-kinds';
    kinds.textContent = item.types.map(function (t) { return (cfg.kinds[t] || { name: t }).name; }).join(', ');
    div.appendChild(kinds);
    if (item.place) { var pl = document.createElement('div'); pl.textContent = placeName({ name: item.place, name_kk: item.place_kk }) + (item.approximate ? ' · ' + T.approx : ''); div.appendChild(pl); }
    var a = document.createElement('a'); a.href = '/org/' + item.org; a.textContent = T.details; div.appendChild(a);
    return div;
  }
  function loadMap(moved) {  // after a move (moveend's event) when the map has been still for 120 ms, else now
    clearTimeout(mapTimer);
    mapTimer = setTimeout(function () {
      var b = map.getBounds(), clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
      var bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
        .map(function (v) { return v.toFixed(4); }).join(',');
      var kinds = chosenKinds();
      if (mapAbort) { mapAbort.abort(); }
      mapAbort = new AbortController();
      fetch('/map-data/locations?bbox=' + bbox + (kinds.length ? '&service=' + kinds.join(',') : ''), { signal: mapAbort.signal })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          cluster.clearLayers(); grid.clearLayers();
          if (body.mode === 'points') {
            var markers = body.items.map(function (item) {
              var type = item.types.filter(function (t) { return !kinds.length || kinds.indexOf(t) >= 0; })[0] || item.types[0];
              if (item.synthetic) { showBanner(); }
              var names = item.types.map(function (t) { return (cfg.kinds[t] || { name: t }).name; }).join(', ');
              return L.marker([item.lat, item.lon], { icon: pinIcon(type, item.approximate), title: item.name + ' — ' + names, alt: item.name })
                .bindPopup(function () { return popup(item); });
            });
            cluster.addLayers(markers);
            map.getContainer().setAttribute('data-loaded', String(markers.length));
          } else {
            body.items.forEach(function (c) {
              var size = c.count >= 1000 ? 56 : c.count >= 100 ? 46 : 38;
              var el = document.createElement('span'); el.className = 'grid-count'; el.textContent = c.count;
              L.marker([c.lat, c.lon], { icon: L.divIcon({ className: '', html: el, iconSize: [size, size] }), title: fmt(T.manyHere, { n: c.count }) })
                .on('click', function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 3, 14)); }).addTo(grid);
            });
            map.getContainer().setAttribute('data-loaded', 'grid');
          }
        }).catch(function () { /* aborted, or offline: keep what is shown */ });
    }, moved ? 120 : 0);
  }
  function showOrigin(o, points) {
    originLayer.clearLayers();
    if (!o) { return; }
    L.marker([o.lat, o.lon], { icon: L.divIcon({ className: '', html: '<span class="you-pin"></span>', iconSize: [22, 22] }),
      title: T.you, keyboard: false, zIndexOffset: 1000 }).addTo(originLayer);
    var pts = [[o.lat, o.lon]].concat(points || []);
    if (points && points.length > 1) {  // leave out results far beyond the first one (as the server does)
      var first = map.distance([o.lat, o.lon], points[0]), reach = Math.max(30000, 2 * first);
      pts = pts.filter(function (p) { return map.distance([o.lat, o.lon], p) <= reach; });
    }
    if (pts.length > 1) { map.fitBounds(L.latLngBounds(pts), { padding: [30, 30], maxZoom: 13 }); }
    else { map.setView([o.lat, o.lon], 11); }
  }
  var legend = $('#legend');
  if (legend && window.matchMedia('(min-width: 60rem)').matches) { legend.open = true; }
  map.on('moveend', loadMap);
  if (cfg.origin) { showOrigin(cfg.origin, cfg.focus || []); }
  // Leaflet must measure the container after the layout settles (the grid changes its size on wide screens);
  // then the first view's locations are asked for at once (on slow 3G every 100 ms counts).
  setTimeout(function () { map.invalidateSize(); if (!cfg.origin) { loadMap(); } }, 0);
})();
