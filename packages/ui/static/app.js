// The cluster map: draws each view the server pushes (server-sent events), and traces paths.
// Plain DOM and SVG, no framework: every text goes in through textContent.
const SVG = 'http://www.w3.org/2000/svg';
/** The smallest drawing (a bigger cluster gets a bigger one, shown at the same size: zoomed out). */
const W = 760;
const H = 660;
/** Room beyond the outer ring for pods and their labels. */
const MARGIN = 130;
/** Centre to centre, at least, between nodes on a ring (a node is 68 across). */
const NODE_GAP = 84;
let view = null;
/** The last trace's hops, highlighted again after each redraw. */
let lastHops = [];

function el(tag, attrs = {}, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Node positions: reflectors on an inner ring, the other nodes on an outer one, each ring big
 * enough for its nodes; and the drawing's size.
 */
function layout(nodes) {
  const pos = new Map();
  const rings = [nodes.filter((n) => n.role === 'reflector'), nodes.filter((n) => n.role !== 'reflector')];
  const fit = (count) => (count * NODE_GAP) / (2 * Math.PI);
  const inner = rings[0].length > 1 ? Math.max(95, fit(rings[0].length)) : 0;
  const outer = Math.max(rings[0].length ? 200 : 180, fit(rings[1].length), inner + 150);
  const width = Math.max(W, 2 * (outer + MARGIN));
  const height = Math.max(H, 2 * (outer + MARGIN));
  const radius = [inner, outer];
  rings.forEach((ring, r) => {
    ring.forEach((n, i) => {
      // A lone reflector sits in the centre; its pods hang below it.
      const a =
        radius[r] === 0 ? Math.PI / 2 : -Math.PI / 2 + (2 * Math.PI * i) / ring.length + (r === 0 ? Math.PI / 4 : 0);
      pos.set(n.name, { x: width / 2 + radius[r] * Math.cos(a), y: height / 2 + radius[r] * Math.sin(a), a });
    });
  });
  return { pos, width, height };
}

function drawMap() {
  const svg = document.getElementById('map');
  svg.replaceChildren();
  const { pos, width, height } = layout(view.nodes);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const pathLayer = el('svg:g', { id: 'path-layer' });
  const sessions = el('svg:g', { id: 'sessions' });
  for (const s of view.sessions) {
    const a = pos.get(s.a);
    const b = pos.get(s.b);
    if (!a || !b) continue;
    const line = el('svg:line', {
      class: `session ${s.class}`,
      'data-a': s.a,
      'data-b': s.b,
      x1: a.x,
      y1: a.y,
      x2: b.x,
      y2: b.y,
    });
    line.append(el('svg:title', {}, `${s.a} ⇄ ${s.b}: ${s.a} says ${s.stateA}, ${s.b} says ${s.stateB}`));
    sessions.append(line);
  }
  svg.append(pathLayer, sessions);
  const pods = el('svg:g', { id: 'pods' });
  for (const n of view.nodes) {
    const p = pos.get(n.name);
    const mine = view.pods.filter((x) => x.node === n.name);
    mine.forEach((pod, i) => {
      // Pods fan out beyond their node, away from the centre, in at most a third of a turn.
      const spread = Math.min(0.62, 2.1 / mine.length);
      const a = p.a + (i - (mine.length - 1) / 2) * spread;
      const x = p.x + 92 * Math.cos(a);
      const y = p.y + 92 * Math.sin(a);
      pos.set(pod.name, { x, y });
      pods.append(el('svg:line', { class: 'pod-link', x1: p.x, y1: p.y, x2: x, y2: y }));
      const g = el('svg:g', { class: 'pod', 'data-pod': pod.name });
      g.append(el('svg:circle', { cx: x, cy: y, r: 7 }));
      // The label beyond the pod, on the side away from its node.
      g.append(
        el('svg:text', { x: x + 16 * Math.cos(a), y: y + 16 * Math.sin(a) + 4 + (Math.sin(a) > 0.3 ? 6 : 0) }, pod.ip),
      );
      g.append(el('svg:title', {}, `${pod.name} ${pod.ip}${pod.ip6 ? ` ${pod.ip6}` : ''} on ${pod.node}`));
      pods.append(g);
    });
  }
  svg.append(pods);
  for (const n of view.nodes) {
    const p = pos.get(n.name);
    const g = el('svg:g', {
      class: `node${n.role === 'reflector' ? ' reflector' : ''}${n.up ? ' up' : ' down'}`,
      'data-node': n.name,
      tabindex: 0,
    });
    g.append(el('svg:circle', { cx: p.x, cy: p.y, r: 34 }));
    g.append(el('svg:text', { class: 'name', x: p.x, y: p.y + 4 }, n.name));
    // Past a dozen nodes the labels would cover each other: the tooltip and the node's card have them.
    if (view.nodes.length <= 12) {
      g.append(el('svg:text', { class: 'sub', x: p.x, y: p.y + 50 }, n.address));
      if (n.blocks.length) g.append(el('svg:text', { class: 'sub', x: p.x, y: p.y + 64 }, n.blocks.join(' ')));
    }
    g.append(
      el(
        'svg:title',
        {},
        `${n.name} ${n.address} ${n.blocks.join(' ')}${n.up ? '' : ' (not answering)'}${n.note ? `: ${n.note}` : ''}`,
      ),
    );
    g.addEventListener('click', () => {
      showTab('nodes');
      document.getElementById(`card-${n.name}`)?.scrollIntoView({ behavior: 'smooth' });
    });
    svg.append(g);
  }
  highlight(pos);
}

/** Marks the last trace's places on the map and draws its path. */
function highlight(pos) {
  const places = [];
  for (const h of lastHops) if (places[places.length - 1] !== h.at) places.push(h.at);
  for (const at of places) {
    document
      .querySelector(`#map [data-node="${CSS.escape(at)}"], #map [data-pod="${CSS.escape(at)}"]`)
      ?.classList.add('on-path');
  }
  const layer = document.getElementById('path-layer');
  for (let i = 1; i < places.length; i++) {
    const a = pos.get(places[i - 1]);
    const b = pos.get(places[i]);
    if (a && b) layer.append(el('svg:line', { class: 'path', x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
  }
}

function drawNodes() {
  const box = document.getElementById('nodes-tab');
  box.replaceChildren();
  for (const n of view.nodes) {
    const card = el('div', { class: `card${n.up ? '' : ' down'}`, id: `card-${n.name}`, 'data-node': n.name });
    const h = el('h2', {}, `${n.name} `);
    h.append(el('span', { class: 'muted' }, n.address));
    if (n.role === 'reflector') h.append(el('span', { class: 'badge reflector' }, 'route reflector'));
    if (!n.up) h.append(el('span', { class: 'badge down' }, 'not answering'));
    card.append(h);
    if (n.note) card.append(el('div', { class: n.up ? 'muted' : 'error' }, n.note));
    const peers = view.sessions
      .filter((s) => s.a === n.name || s.b === n.name)
      .map((s) => `${s.a === n.name ? s.b : s.a} ${s.a === n.name ? s.stateA : s.stateB}`);
    card.append(el('div', {}, `blocks: ${n.blocks.join(', ') || 'none'}`));
    card.append(el('div', {}, `sessions: ${peers.join(', ') || 'none'}`));
    card.append(
      el(
        'div',
        {},
        `pods: ${
          view.pods
            .filter((p) => p.node === n.name)
            .map((p) => `${p.name} ${p.ip}`)
            .join(', ') || 'none'
        }`,
      ),
    );
    card.append(el('pre', { class: 'routes' }, n.routes.join('\n')));
    box.append(card);
  }
}

function fillPods() {
  // Dual stack: the tracer can follow either family.
  document.getElementById('family-label').hidden = !view.pods.some((p) => p.ip6);
  for (const [id, pick] of [
    ['from', 0],
    ['to', -1],
  ]) {
    const sel = document.getElementById(id);
    const had = sel.value;
    sel.replaceChildren(...view.pods.map((p) => el('option', { value: p.name }, `${p.name} (${p.ip}, ${p.node})`)));
    if (view.pods.some((p) => p.name === had)) sel.value = had;
    else if (view.pods.length) sel.value = view.pods.at(pick).name;
  }
}

function render(v) {
  view = v;
  document.getElementById('title').textContent = v.title;
  document.getElementById('routes-from').textContent = `routes: ${v.routesFrom}`;
  drawMap();
  drawNodes();
  fillPods();
}

function showTab(name) {
  for (const b of document.querySelectorAll('aside nav button')) b.classList.toggle('active', b.dataset.tab === name);
  document.getElementById('nodes-tab').hidden = name !== 'nodes';
  document.getElementById('tracer-tab').hidden = name !== 'tracer';
  location.hash = name;
}

async function trace(ev) {
  ev?.preventDefault();
  const from = document.getElementById('from').value;
  const to = document.getElementById('to').value;
  const list = document.getElementById('hops');
  const error = document.getElementById('trace-error');
  list.replaceChildren();
  error.textContent = '';
  list.dataset.state = 'tracing';
  const family = document.getElementById('family').value;
  const res = await fetch(`api/trace?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&family=${family}`);
  const body = await res.json();
  if (!res.ok) {
    error.textContent = body.error;
    lastHops = [];
  } else {
    lastHops = body.hops;
    for (const h of body.hops) {
      const li = el('li', { 'data-kind': h.kind, 'data-at': h.at });
      li.append(el('span', { class: 'at' }, h.at), el('span', { class: 'kind' }, h.kind), el('br'));
      li.append(el('code', {}, h.text));
      if (h.from) li.append(el('span', { class: 'from' }, h.from));
      list.append(li);
    }
  }
  list.dataset.state = 'done';
  if (view) drawMap();
}

function connect() {
  const live = document.getElementById('live');
  const events = new EventSource('api/events');
  events.addEventListener('view', (e) => render(JSON.parse(e.data)));
  // The server cannot read the cluster (a datastore away): the map is the last one read.
  events.addEventListener('problem', (e) => {
    const { error } = JSON.parse(e.data);
    document.getElementById('problem').textContent = error ? `not updating: ${error}` : '';
  });
  events.onopen = () => {
    live.textContent = 'live';
    live.classList.remove('off');
  };
  events.onerror = () => {
    live.textContent = 'reconnecting';
    live.classList.add('off');
  };
}

for (const b of document.querySelectorAll('aside nav button'))
  b.addEventListener('click', () => showTab(b.dataset.tab));
document.getElementById('trace-form').addEventListener('submit', trace);
if (location.hash === '#tracer') showTab('tracer');
connect();
