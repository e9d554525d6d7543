/**
 * The HTML report's stylesheet and script, inlined into every page (allowed by the page's
 * Content-Security-Policy through their SHA-256 hashes, so no other script or style can run).
 * Hand-written, no library: the timeline, the ladder and the table are a few hundred lines of
 * plain DOM and SVG. The script inserts packet-derived text only as text (textContent, SVG <title>
 * and <text> nodes, attribute values), never as markup. No template literals in the script (it is
 * itself a template string here).
 */

export const PAGE_CSS = `
:root { --problem: #b3261e; --inconclusive: #8a5300; --healthy: #1e6b34; --density: #3b5b92; --ink: #1b1b1f; --muted: #5d5f66; --line: #c9cbd1; --sel: #fff3b0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); }
body { margin: 0 auto; max-width: 1280px; padding: 0 16px 48px; line-height: 1.4; }
h1 { font-size: 1.35rem; margin: 16px 0 4px; word-break: break-all; }
h2 { font-size: 1.15rem; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.02rem; margin: 16px 0 6px; }
h4 { font-size: .95rem; margin: 10px 0 4px; font-weight: 600; }
code, .mono, td { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: .85rem; }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 16px; top: 8px; background: #fff; padding: 4px 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; font-size: .9rem; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-word; }
.badge { display: inline-block; border: 1.5px solid currentColor; border-radius: 3px; padding: 0 5px; font-size: .78rem; font-weight: 600; white-space: nowrap; }
.badge.problem, .problem > h3, tr.problem td:first-child { color: var(--problem); }
.badge.inconclusive { color: var(--inconclusive); border-style: dashed; }
.badge.healthy { color: var(--healthy); border-style: dotted; }
article.problem { border-left: 4px solid var(--problem); padding: 2px 0 2px 12px; margin: 8px 0 14px; }
article.problem.inconclusive { border-left: 4px dashed var(--inconclusive); }
article.problem h4 { margin: 0; font-weight: 600; word-break: break-word; } article.problem h4 a { font-family: ui-monospace, monospace; }
.by { color: var(--muted); font-weight: 400; }
.summary { margin: 2px 0; } ul.evidence { margin: 2px 0; padding-left: 20px; color: #2f3137; font-size: .9rem; } .check { margin: 4px 0; color: #0b4a6f; }
.more, .hint, .note { color: var(--muted); font-size: .9rem; }
table.counts { border-collapse: collapse; } table.counts td, table.counts th { border: 1px solid var(--line); padding: 2px 10px; text-align: left; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin: 6px 0; font-size: .9rem; }
button { font: inherit; padding: 2px 10px; border: 1px solid #888; background: #f6f6f8; border-radius: 4px; cursor: pointer; }
button:focus-visible, input:focus-visible, [tabindex]:focus-visible, a:focus-visible { outline: 3px solid #1a73e8; outline-offset: 1px; }
input[type=search] { font: inherit; padding: 3px 6px; min-width: 18em; }
.timeline { overflow-x: hidden; border: 1px solid var(--line); background: #fcfcfd; }
.timeline svg { display: block; user-select: none; touch-action: none; }
.timeline .lane-label { font-size: 11px; fill: var(--ink); }
.timeline .lane-bg { fill: transparent; } .timeline .lane-bg.odd { fill: #f1f2f5; }
.timeline .axis { font-size: 10px; fill: var(--muted); } .timeline .tick { stroke: #dcdde2; }
.bar { cursor: pointer; } .bar.healthy { fill: var(--healthy); fill-opacity: .55; }
.bar.problem { fill: url(#hatch-problem); stroke: var(--problem); stroke-width: 1.2; }
.bar.inconclusive { fill: url(#dots-inconclusive); stroke: var(--inconclusive); stroke-width: 1.2; stroke-dasharray: 3 2; }
.bar.sel { stroke: #000; stroke-width: 2.5; stroke-dasharray: none; }
.dens { fill: var(--density); } .dens.problem { fill: var(--problem); }
.legend { font-size: .85rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 16px; }
.legend svg { vertical-align: middle; margin-right: 4px; }
#table table { border-collapse: collapse; width: 100%; font-size: .85rem; }
#table th { text-align: left; border-bottom: 2px solid var(--line); padding: 0; position: sticky; top: 0; background: #fff; }
#table th button { border: 0; background: none; padding: 4px 6px; font-weight: 600; width: 100%; text-align: left; }
#table td { border-bottom: 1px solid #e4e5e9; padding: 2px 6px; vertical-align: top; word-break: break-word; }
#table tbody tr { cursor: pointer; } #table tbody tr:hover { background: #f3f5fa; }
#table tr.sel { background: var(--sel); } #table tr.sel td:first-child::before { content: "▶ "; }
.ladder text { font-size: 12px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; fill: var(--ink); }
.ladder .rail { stroke: #777; stroke-width: 1.5; } .ladder .rail.mid { stroke-dasharray: 4 4; }
.ladder .arrow { stroke: #333; stroke-width: 1.5; } .ladder .decides-bg { fill: var(--sel); stroke: var(--problem); stroke-width: 1; }
.ladder .head { font-weight: 600; } .ladder .decides { font-weight: 700; fill: var(--problem); } .ladder .info { fill: var(--muted); }
#detail .verdict { font-weight: 600; }
@media print {
  .controls, .skip, .hint, button, #timeline-controls { display: none !important; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  article.problem, .ladder, tr { break-inside: avoid; }
  #flows { break-before: page; }
  .timeline { border: 0; }
}
`;

export const PAGE_JS = `
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var HEALTHY = { 'ok': 1, 'dns-ok': 1, 'ping-ok': 1, 'health-check': 1, 'dns-search-miss': 1, 'dns-other-family': 1, 'dns-referral': 1, 'dns-update-ok': 1, 'dns-notify-ok': 1 };
  var INCONCLUSIVE = { 'capture-ended': 1, 'midstream': 1 };
  var SYMBOL = { problem: '\\u2716', inconclusive: '?', healthy: '\\u2714' };
  function cls(v) { return HEALTHY[v] ? 'healthy' : INCONCLUSIVE[v] ? 'inconclusive' : 'problem'; }
  function $(id) { return document.getElementById(id); }
  function node(ns, tag, attrs, kids) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    if (kids) for (var i = 0; i < kids.length; i++) { var c = kids[i]; if (c === null || c === undefined) continue; e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c); }
    return e;
  }
  function h(tag, attrs) { return node(null, tag, attrs, Array.prototype.slice.call(arguments, 2)); }
  function s(tag, attrs) { return node(SVGNS, tag, attrs, Array.prototype.slice.call(arguments, 2)); }
  function secs(x) {
    if (x === 0) return '0 s';
    var a = Math.abs(x);
    if (a < 1e-3) return (x * 1e6).toFixed(0) + ' \\u00b5s';
    if (a < 1) return (x * 1e3).toFixed(a < 0.01 ? 2 : 1) + ' ms';
    if (a < 120) return x.toFixed(a < 10 ? 3 : 2) + ' s';
    if (a < 7200) return (x / 60).toFixed(1) + ' min';
    return (x / 3600).toFixed(2) + ' h';
  }
  function ends(r) { return r.c + ' \\u2192 ' + r.s; }
  function badge(v, c) { c = c || cls(v); return h('span', { 'class': 'badge ' + c }, SYMBOL[c] + ' ' + v); }
  function whole() { var w = Math.max(D.span, 1e-3); return { from: -0.02 * w, to: 1.03 * w }; }

  var D, byId = new Map(), order = [], selected = null;

  function inflate(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text();
  }

  // ---------------------------------------------------------------- timeline
  var LANE_H = 22, LABEL_W = 230, AXIS_H = 22, LANES_SHOWN = 40;
  var view = { from: 0, to: 1 }, allLanes = false, laneOrder = [];

  function timelineInit() {
    view = whole();
    laneOrder = D.lanes.map(function (l, i) { return i; }).sort(function (a, b) { return (D.lanes[b].problems - D.lanes[a].problems) || (D.lanes[b].flows - D.lanes[a].flows) || (a - b); });
    var c = $('timeline-controls');
    c.appendChild(h('button', { type: 'button', id: 'zoom-in', 'aria-label': 'Zoom in' }, '+'));
    c.appendChild(h('button', { type: 'button', id: 'zoom-out', 'aria-label': 'Zoom out' }, '\\u2212'));
    c.appendChild(h('button', { type: 'button', id: 'zoom-reset' }, 'Whole capture'));
    if (D.lanes.length > LANES_SHOWN) c.appendChild(h('button', { type: 'button', id: 'lanes-all', 'aria-pressed': 'false' }, 'All ' + D.lanes.length + ' lanes'));
    c.appendChild(h('span', { 'class': 'note', id: 'view-span' }));
    c.appendChild(h('span', { 'class': 'note' }, 'Keys on the timeline: \\u2190 \\u2192 previous/next flow, + \\u2212 zoom, 0 whole capture; drag to pan, wheel to zoom.'));
    $('zoom-in').addEventListener('click', function () { zoom(0.5, 0.5); });
    $('zoom-out').addEventListener('click', function () { zoom(2, 0.5); });
    $('zoom-reset').addEventListener('click', function () { view = whole(); drawTimeline(); });
    if ($('lanes-all')) $('lanes-all').addEventListener('click', function (e) { allLanes = !allLanes; e.currentTarget.setAttribute('aria-pressed', String(allLanes)); drawTimeline(); });
    var lg = $('legend');
    function sw(kind, text) { var sv = s('svg', { width: 26, height: 12, 'aria-hidden': 'true' }, patterns(), s('rect', { x: 1, y: 1, width: 24, height: 10, 'class': kind })); lg.appendChild(h('span', null, sv, text)); }
    sw('bar problem', 'problem (hatched, solid outline)');
    sw('bar inconclusive', 'inconclusive (dotted, dashed outline)');
    sw('bar healthy', 'healthy (plain)');
    sw('dens', 'many healthy flows: shade = flows started per time slice');
    if (D.problemsAggregated > 0) sw('dens problem', 'problems past the listed ones, per time slice');
    drawTimeline();
  }

  function patterns() {
    return s('defs', null,
      s('pattern', { id: 'hatch-problem', width: 5, height: 5, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, s('rect', { width: 5, height: 5, fill: '#f6d5d2' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 5, stroke: '#b3261e', 'stroke-width': 2.5 })),
      s('pattern', { id: 'dots-inconclusive', width: 4, height: 4, patternUnits: 'userSpaceOnUse' }, s('rect', { width: 4, height: 4, fill: '#fbecd0' }), s('circle', { cx: 2, cy: 2, r: 1, fill: '#8a5300' })));
  }

  function zoom(f, at) {
    var w = view.to - view.from, c = view.from + w * at, nw = Math.min(Math.max(w * f, 1e-6), Math.max(D.span, 1e-3) * 1.1);
    view.from = Math.max(-0.02 * D.span, c - nw * at); view.to = view.from + nw; drawTimeline();
  }

  function drawTimeline() {
    var box = $('timeline'), W = Math.max(640, box.clientWidth || 1000), PW = W - LABEL_W - 10;
    var lanes = allLanes ? laneOrder : laneOrder.slice(0, LANES_SHOWN);
    var laneY = new Map(); lanes.forEach(function (l, i) { laneY.set(l, AXIS_H + i * LANE_H); });
    var H = AXIS_H + lanes.length * LANE_H + 4;
    var w = view.to - view.from;
    function x(t) { return LABEL_W + (t - view.from) / w * PW; }
    var root = s('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'application', tabindex: '0', id: 'timeline-svg', 'aria-label': 'Timeline of flows, one lane per server, problems on top. Use the arrow keys to move between flows.', 'aria-describedby': 'legend' });
    root.appendChild(patterns());
    lanes.forEach(function (l, i) {
      var L = D.lanes[l], y = AXIS_H + i * LANE_H;
      root.appendChild(s('rect', { 'class': 'lane-bg' + (i % 2 ? ' odd' : ''), x: 0, y: y, width: W, height: LANE_H }));
      var label = L.label.length > 34 ? L.label.slice(0, 33) + '\\u2026' : L.label;
      root.appendChild(s('text', { 'class': 'lane-label', x: 4, y: y + 15 }, s('title', null, L.label + ': ' + L.flows + ' flows, ' + L.problems + ' problems'), (L.problems ? '\\u2716 ' : '') + label));
    });
    var step = niceStep(w / 8);
    for (var t = Math.ceil(view.from / step) * step; t <= view.to; t += step) {
      var xx = x(t); root.appendChild(s('line', { 'class': 'tick', x1: xx, x2: xx, y1: AXIS_H - 4, y2: H }));
      root.appendChild(s('text', { 'class': 'axis', x: xx + 2, y: 12 }, '+' + secs(Math.round(t / step) * step)));
    }
    // density: flows counted per lane and time slice (many healthy flows; problems past the listed ones)
    var dw = D.density.width;
    lanes.forEach(function (l) {
      var L = D.lanes[l], y = laneY.get(l);
      [[L.dh, 'dens'], [L.dp, 'dens problem']].forEach(function (pair) {
        var arr = pair[0]; if (!arr.length) return;
        var max = 1; for (var i = 1; i < arr.length; i += 2) max = Math.max(max, arr[i]);
        for (var j = 0; j < arr.length; j += 2) {
          var t0 = D.density.lo + arr[j] * dw; if (t0 + dw < view.from || t0 > view.to) continue;
          var n = arr[j + 1], x0 = x(t0), ww = Math.max(1.5, x(t0 + dw) - x0);
          root.appendChild(s('rect', { 'class': pair[1], x: x0, y: y + (pair[1] === 'dens' ? 3 : 11), width: ww, height: 8, 'fill-opacity': (0.25 + 0.75 * Math.log(1 + n) / Math.log(1 + max)).toFixed(2) }, s('title', null, n + (pair[1] === 'dens' ? ' healthy' : ' more problem') + ' flow' + (n === 1 ? '' : 's') + ' started in +' + secs(t0) + ' \\u2026 +' + secs(t0 + dw) + ' (' + L.label + ')')));
        }
      });
    });
    // flows listed individually: healthy first, problems drawn last so they are on top
    var rank = { healthy: 0, inconclusive: 1, problem: 2 };
    var rows = D.rows.filter(function (r) { return laneY.has(r.l) && r.t + r.d >= view.from && r.t <= view.to; });
    rows.sort(function (a, b) { return rank[cls(a.v)] - rank[cls(b.v)]; });
    rows.forEach(function (r) {
      var c = cls(r.v), x0 = x(r.t), ww = Math.max(c === 'healthy' ? 2 : 5, x(r.t + r.d) - x0), y = laneY.get(r.l);
      var hh = c === 'healthy' ? 8 : 14;
      var bar = s('rect', { 'class': 'bar ' + c + (selected === r.id ? ' sel' : ''), x: x0, y: y + (LANE_H - hh) / 2, width: ww, height: hh, 'data-id': r.id },
        s('title', null, '#' + r.id + ' ' + SYMBOL[c] + ' ' + r.v + ' \\u00b7 ' + ends(r) + ' \\u00b7 +' + secs(r.t) + ', ' + secs(r.d) + '\\n' + r.sum));
      root.appendChild(bar);
    });
    root.addEventListener('click', function (e) { var id = e.target.getAttribute && e.target.getAttribute('data-id'); if (id) select(Number(id), true); });
    root.addEventListener('keydown', timelineKey);
    root.addEventListener('wheel', function (e) { var r = root.getBoundingClientRect(), at = Math.min(1, Math.max(0, (e.clientX - r.left - LABEL_W) / PW)); e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, at); }, { passive: false });
    var drag = null;
    root.addEventListener('pointerdown', function (e) { if (e.target.getAttribute('data-id')) return; drag = { x: e.clientX, from: view.from, to: view.to }; root.setPointerCapture(e.pointerId); });
    root.addEventListener('pointermove', function (e) { if (!drag) return; var dt = (e.clientX - drag.x) / PW * (drag.to - drag.from); view.from = drag.from - dt; view.to = drag.to - dt; });
    root.addEventListener('pointerup', function () { if (drag && (view.from !== drag.from)) drawTimeline(); drag = null; });
    var had = document.activeElement && document.activeElement.id === 'timeline-svg';
    box.textContent = ''; box.appendChild(root);
    if (had) root.focus();
    $('view-span').textContent = 'showing +' + secs(Math.max(0, view.from)) + ' \\u2026 +' + secs(view.to) + ' of ' + secs(D.span) + (lanes.length < D.lanes.length ? '; ' + lanes.length + ' of ' + D.lanes.length + ' lanes' : '');
  }

  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9)))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  function timelineKey(e) {
    var k = e.key;
    if (k === '+' || k === '=') { zoom(0.5, 0.5); e.preventDefault(); return; }
    if (k === '-' || k === '_') { zoom(2, 0.5); e.preventDefault(); return; }
    if (k === '0') { view = whole(); drawTimeline(); e.preventDefault(); return; }
    if (k !== 'ArrowRight' && k !== 'ArrowLeft' && k !== 'Home' && k !== 'End' && k !== 'Enter') return;
    e.preventDefault();
    if (!order.length) return;
    var i = order.indexOf(selected);
    if (k === 'Home') i = 0; else if (k === 'End') i = order.length - 1;
    else if (k === 'ArrowRight') i = i < 0 ? 0 : Math.min(order.length - 1, i + 1);
    else if (k === 'ArrowLeft') i = i < 0 ? 0 : Math.max(0, i - 1);
    else if (i < 0) i = 0;
    var r = byId.get(order[i]);
    if (r.t < view.from || r.t > view.to) { var w = view.to - view.from; view.from = r.t - w / 2; view.to = view.from + w; }
    select(order[i], false);
  }

  // ---------------------------------------------------------------- detail and ladder
  function select(id, scroll) {
    selected = id;
    if (location.hash !== '#flow-' + id) history.replaceState(null, '', '#flow-' + id);
    drawTimeline(); drawTable(false); drawDetail(id);
    if (scroll) $('detail').scrollIntoView({ block: 'start' });
  }

  function drawDetail(id) {
    var d = $('detail'), r = byId.get(id);
    d.textContent = '';
    d.appendChild(h('h2', { id: 'detail-h' }, 'Selected flow'));
    if (!r) { d.appendChild(h('p', { 'class': 'note' }, 'Flow #' + id + ' is not listed in this report' + (D.healthyListed ? '.' : ': healthy flows are counted per lane (there are ' + D.healthyCount + '), not listed.'))); return; }
    var c = cls(r.v);
    d.appendChild(h('h3', { 'class': 'mono' }, '#' + r.id + '  ' + r.p.toUpperCase() + '  ' + ends(r) + (r.n ? '  (' + r.n + ')' : '')));
    d.appendChild(h('p', { 'class': 'verdict' }, badge(r.v), ' by ' + r.by + (r.ven ? ' (' + r.ven + (r.mac ? ', ' + r.mac : '') + ')' : '')));
    d.appendChild(h('p', { 'class': 'note' }, r.at.replace('T', ' ').replace(/\\d{3}Z$/, ' UTC') + ', ' + r.pk + ' packet' + (r.pk === 1 ? '' : 's') + (r.h ? ', history ' + r.h : '') + (r.st ? ', state ' + r.st : '') + (D.files.length > 1 ? ', ' + D.files[r.f] : '')));
    d.appendChild(h('p', { 'class': 'summary' }, r.sum));
    d.appendChild(h('h4', null, 'Packets'));
    d.appendChild(ladder(r));
    if (r.ev.length) { d.appendChild(h('h4', null, 'Why')); var ul = h('ul', { 'class': 'evidence' }); r.ev.forEach(function (e) { ul.appendChild(h('li', null, e)); }); d.appendChild(ul); }
    var checks = (r.chk ? [r.chk] : []).concat(r.lad ? r.lad.checks : []);
    if (checks.length) { d.appendChild(h('h4', null, 'Next checks')); var ul2 = h('ul', { 'class': 'checks' }); checks.forEach(function (e) { ul2.appendChild(h('li', null, e)); }); d.appendChild(ul2); }
  }

  function ladder(r) {
    var L = r.lad;
    if (!L) return h('p', { 'class': 'note', id: 'ladder-note' }, D.laddersNote.length ? 'No ladder: ' + D.laddersNote.join('; ') : 'No ladder for this flow (only the first flows of a large report get one): pcapdiag explain ' + (D.files[r.f] || '') + ' ' + r.id);
    var X = { c: 150, m: 360, s: 570 }, ROW = 26, TOP = 46, W = 980, n = L.steps.length, H = TOP + Math.max(1, n) * ROW + 10;
    var g = s('svg', { 'class': 'ladder', id: 'ladder', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': 'ladder-title' });
    g.appendChild(s('title', { id: 'ladder-title' }, 'Ladder of flow #' + r.id + ': ' + n + ' packets between client, middle and server' + (r.fr ? '; packet #' + r.fr + ' decides the verdict' : '')));
    g.appendChild(s('defs', null, s('marker', { id: 'arrowhead', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#333' }))));
    g.appendChild(s('text', { 'class': 'head', x: X.c, y: 14, 'text-anchor': 'middle' }, 'client'));
    g.appendChild(s('text', { 'class': 'head', x: X.m, y: 14, 'text-anchor': 'middle' }, 'middle'));
    g.appendChild(s('text', { 'class': 'head', x: X.s, y: 14, 'text-anchor': 'middle' }, 'server'));
    g.appendChild(s('text', { 'class': 'info', x: X.c, y: 30, 'text-anchor': 'middle' }, r.c.length > 30 ? r.c.slice(0, 29) + '\\u2026' : r.c));
    g.appendChild(s('text', { 'class': 'info', x: X.m, y: 30, 'text-anchor': 'middle' }, (L.box || '').trim().slice(0, 40)));
    g.appendChild(s('text', { 'class': 'info', x: X.s, y: 30, 'text-anchor': 'middle' }, r.s.length > 30 ? r.s.slice(0, 29) + '\\u2026' : r.s));
    g.appendChild(s('line', { 'class': 'rail', x1: X.c, x2: X.c, y1: TOP - 8, y2: H - 4 }));
    g.appendChild(s('line', { 'class': 'rail mid', x1: X.m, x2: X.m, y1: TOP - 8, y2: H - 4 }));
    g.appendChild(s('line', { 'class': 'rail', x1: X.s, x2: X.s, y1: TOP - 8, y2: H - 4 }));
    L.steps.forEach(function (st, i) {
      var frame = st[0], tl = st[1], from = st[2], to = st[3], label = st[4], len = st[5], ttl = st[6], note = st[7];
      var y = TOP + i * ROW + 14, decides = frame === r.fr;
      var row = s('g', { 'class': 'step' + (decides ? ' decides-row' : ''), 'data-frame': frame });
      if (decides) row.appendChild(s('rect', { 'class': 'decides-bg', x: 2, y: y - 17, width: W - 4, height: ROW - 2, rx: 3 }));
      row.appendChild(s('text', { x: 96, y: y + 4, 'text-anchor': 'end' }, tl));
      var x1 = X[from], x2 = X[to];
      row.appendChild(s('line', { 'class': 'arrow', x1: x1, x2: x2 + (x2 > x1 ? -2 : 2), y1: y, y2: y, 'marker-end': 'url(#arrowhead)' }));
      if (from === 'm') row.appendChild(s('circle', { cx: x1, cy: y, r: 4, fill: '#333' }));
      row.appendChild(s('text', { x: (x1 + x2) / 2, y: y - 4, 'text-anchor': 'middle' }, label));
      var info = '#' + frame + (len >= 0 ? ' len ' + len : '') + (ttl >= 0 ? ' TTL ' + ttl : '') + (note ? '  ' + note : '');
      row.appendChild(s('text', { 'class': 'info', x: X.s + 14, y: y + 4 }, info));
      if (decides) row.appendChild(s('text', { 'class': 'decides', x: W - 8, y: y + 4, 'text-anchor': 'end' }, '\\u25c0 decides'));
      g.appendChild(row);
    });
    if (!n) g.appendChild(s('text', { x: X.c, y: TOP + 14 }, '(no packets of this flow found in its time span)'));
    var wrap = h('div', { 'class': 'ladder-wrap' }, g);
    if (L.note) wrap.appendChild(h('p', { 'class': 'note' }, 'Shown: ' + L.note));
    return wrap;
  }

  // ---------------------------------------------------------------- table
  var COLS = [['id', 'id', function (r) { return r.id; }], ['verdict', 'verdict', function (r) { return r.v; }], ['by', 'by', function (r) { return r.by; }], ['client', 'client', function (r) { return r.c; }], ['server', 'server', function (r) { return r.s; }], ['names', 'names', function (r) { return r.n; }], ['start', 'start', function (r) { return r.t; }], ['duration', 'duration', function (r) { return r.d; }]];
  var sortBy = 0, sortDir = 1, query = '', classes = { problem: true, inconclusive: true, healthy: true }, limit = 500, filtered = [];

  function tableInit() {
    var c = $('table-controls');
    var counts = { problem: 0, inconclusive: 0, healthy: 0 };
    D.rows.forEach(function (r) { counts[cls(r.v)]++; });
    c.appendChild(h('label', { 'for': 'search' }, 'Search '));
    var q = h('input', { type: 'search', id: 'search', placeholder: 'address, name, verdict, #id, text', 'aria-controls': 'table' });
    c.appendChild(q);
    ['problem', 'inconclusive', 'healthy'].forEach(function (k) {
      var cb = h('input', { type: 'checkbox', id: 'show-' + k, checked: 'checked' });
      cb.addEventListener('change', function () { classes[k] = cb.checked; limit = 500; drawTable(true); });
      c.appendChild(h('label', { 'for': 'show-' + k }, cb, ' ', badge(k === 'problem' ? 'problems' : k === 'inconclusive' ? 'inconclusive' : 'ok', k), ' ' + counts[k]));
    });
    c.appendChild(h('span', { id: 'table-count', 'class': 'note', role: 'status' }));
    q.addEventListener('input', function () { query = q.value.trim().toLowerCase(); limit = 500; drawTable(true); });
    drawTable(true);
  }

  function matches(r) {
    if (!classes[cls(r.v)]) return false;
    if (!query) return true;
    if (query.charAt(0) === '#') return String(r.id) === query.slice(1);
    return (r.id + ' ' + r.v + ' ' + r.by + ' ' + r.c + ' ' + r.s + ' ' + r.n + ' ' + r.sum).toLowerCase().indexOf(query) >= 0;
  }

  function drawTable(refilter) {
    if (refilter) {
      var key = COLS[sortBy][2];
      filtered = D.rows.filter(matches).sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : a.id - b.id) * sortDir; });
    }
    var focusedRow = document.activeElement && document.activeElement.closest && document.activeElement.closest('#table tbody tr');
    var t = h('table', { 'aria-label': 'Flows', 'aria-rowcount': filtered.length + 1 });
    var tr = h('tr');
    COLS.forEach(function (col, i) {
      var b = h('button', { type: 'button', 'data-col': col[0] }, col[1] + (i === sortBy ? (sortDir > 0 ? ' \\u25b2' : ' \\u25bc') : ''));
      b.addEventListener('click', function () { if (sortBy === i) sortDir = -sortDir; else { sortBy = i; sortDir = 1; } drawTable(true); b = null; var again = document.querySelector('#table th button[data-col="' + col[0] + '"]'); if (again) again.focus(); });
      tr.appendChild(h('th', { scope: 'col', 'aria-sort': i === sortBy ? (sortDir > 0 ? 'ascending' : 'descending') : 'none' }, b));
    });
    t.appendChild(h('thead', null, tr));
    var body = h('tbody');
    var shown = filtered.slice(0, limit), selIdx = -1;
    shown.forEach(function (r, i) { if (r.id === selected) selIdx = i; });
    shown.forEach(function (r, i) {
      var row = h('tr', { 'class': cls(r.v) + (r.id === selected ? ' sel' : ''), id: 'row-' + r.id, 'data-id': r.id, tabindex: i === (selIdx < 0 ? 0 : selIdx) ? '0' : '-1', 'aria-selected': String(r.id === selected) },
        h('td', null, '#' + r.id), h('td', null, badge(r.v)), h('td', null, r.by), h('td', null, r.c), h('td', null, r.s), h('td', null, r.n), h('td', null, '+' + secs(r.t)), h('td', null, secs(r.d)));
      row.title = r.sum;
      body.appendChild(row);
    });
    body.addEventListener('click', function (e) { var tr = e.target.closest('tr'); if (tr) { select(Number(tr.getAttribute('data-id')), true); } });
    body.addEventListener('keydown', tableKey);
    t.appendChild(body);
    var box = $('table'); box.textContent = ''; box.appendChild(t);
    if (filtered.length > limit) {
      var more = h('button', { type: 'button', id: 'table-more' }, 'Show ' + Math.min(500, filtered.length - limit) + ' more');
      more.addEventListener('click', function () { limit += 500; drawTable(false); });
      box.appendChild(more);
    }
    var notListed = D.healthyListed ? '' : '; ' + D.healthyCount + ' healthy flows are counted in the timeline, not listed';
    $('table-count').textContent = 'showing ' + shown.length + ' of ' + filtered.length + ' matching flows (' + D.rows.length + ' listed' + notListed + (D.problemsAggregated ? '; ' + D.problemsAggregated + ' further problems counted, not listed' : '') + ')';
    if (focusedRow) { var again = $('row-' + selected) || $(focusedRow.id); if (again) again.focus(); }
  }

  function tableKey(e) {
    var tr = e.target.closest('tr'); if (!tr) return;
    var next = null;
    if (e.key === 'ArrowDown') next = tr.nextElementSibling;
    else if (e.key === 'ArrowUp') next = tr.previousElementSibling;
    else if (e.key === 'Home') next = tr.parentNode.firstElementChild;
    else if (e.key === 'End') next = tr.parentNode.lastElementChild;
    else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(Number(tr.getAttribute('data-id')), true); return; }
    else return;
    e.preventDefault();
    if (next) { var id = Number(next.getAttribute('data-id')); select(id, false); var f = $('row-' + id); if (f) { f.focus(); } }
  }

  // ---------------------------------------------------------------- start
  function fromHash() {
    var m = /^#flow-(\\d+)$/.exec(location.hash);
    if (m && Number(m[1]) !== selected) select(Number(m[1]), true);
  }

  inflate($('data').textContent.trim()).then(function (text) {
    performance.mark('pcapdiag-inflated');
    D = JSON.parse(text);
    performance.mark('pcapdiag-parsed');
    D.rows.forEach(function (r) { byId.set(r.id, r); });
    order = D.rows.slice().sort(function (a, b) { return a.t - b.t || a.id - b.id; }).map(function (r) { return r.id; });
    timelineInit();
    performance.mark('pcapdiag-timeline');
    tableInit();
    performance.mark('pcapdiag-table');
    window.addEventListener('hashchange', fromHash);
    var resized = 0;
    window.addEventListener('resize', function () { clearTimeout(resized); resized = setTimeout(drawTimeline, 150); });
    fromHash();
    document.body.setAttribute('data-ready', 'true');
    // the first frame with everything drawn: after the next animation frame's paint
    requestAnimationFrame(function () { setTimeout(function () { performance.mark('pcapdiag-painted'); }, 0); });
  }).catch(function (e) {
    $('timeline').textContent = 'The report data could not be read: ' + e;
    document.body.setAttribute('data-ready', 'error');
  });
})();
`;
