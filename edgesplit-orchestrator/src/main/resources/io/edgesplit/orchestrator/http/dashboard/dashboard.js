// EdgeSplit's dashboard: reads only the public JSON APIs (/v1/models, /api/plan, /api/cluster,
// /api/stats, /api/events as server-sent events) and draws the cluster, latency, bandwidth and decisions.
"use strict";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"];
let key = sessionStorage.getItem("edgesplit-key") || "";
let models = [];
const decisions = [];

function headers() {
  return key ? { "Authorization": "Bearer " + key } : {};
}

async function get(path) {
  const r = await fetch(path, { headers: headers() });
  if (r.status === 401) {
    document.getElementById("auth").style.display = "inline";
    throw new Error("this API needs an API key");
  }
  if (!r.ok) {
    throw new Error(path + ": " + r.status);
  }
  return r.json();
}

function el(tag, attrs, text) {
  const e = document.createElementNS(tag === "svg" || ["circle", "line", "text", "g", "rect"].includes(tag)
      ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function color(i) {
  return COLORS[i % COLORS.length];
}

async function drawCluster() {
  const cluster = await get("/api/cluster");
  const plans = {};
  for (const m of models) {
    plans[m] = await get("/api/plan?model=" + encodeURIComponent(m));
  }
  const svg = document.getElementById("graph");
  svg.replaceChildren();
  const names = ["gateway", ...cluster.nodes.map(n => n.name)];
  const pos = {};
  const workers = names.length - 1;
  names.forEach((n, i) => { // the gateway on the left, the workers on an arc to its right
    if (i === 0) {
      pos[n] = [70, 160];
      return;
    }
    const a = workers === 1 ? 0 : -Math.PI / 3 + (2 * Math.PI / 3) * (i - 1) / (workers - 1);
    pos[n] = [110 + 330 * Math.cos(a), 160 + 190 * Math.sin(a) * 0.75];
  });
  for (const [link, bw] of Object.entries(cluster.links)) {
    const [a, b] = link.split("->");
    if (!pos[a] || !pos[b] || a > b) continue;
    svg.append(el("line", { x1: pos[a][0], y1: pos[a][1], x2: pos[b][0], y2: pos[b][1], stroke: "#aab", "stroke-width": 1.5 }));
    svg.append(el("text", { x: (pos[a][0] + pos[b][0]) / 2, y: (pos[a][1] + pos[b][1]) / 2 - 3, fill: "#556" },
        (bw / 1e6).toFixed(1) + " MB/s"));
  }
  models.forEach((m, mi) => { // each model's route as a coloured path
    const stages = plans[m].stages || [];
    let prev = "gateway";
    for (const s of [...stages.map(x => x.split(":")[0]), "gateway"]) {
      if (pos[prev] && pos[s] && prev !== s) {
        svg.append(el("line", { x1: pos[prev][0], y1: pos[prev][1] + 4 * mi, x2: pos[s][0], y2: pos[s][1] + 4 * mi,
          stroke: color(mi), "stroke-width": 2.5, "stroke-opacity": 0.7, "data-model": m }));
      }
      prev = s;
    }
  });
  for (const n of names) {
    const node = cluster.nodes.find(x => x.name === n);
    const g = el("g", { "data-node": n });
    g.append(el("circle", { cx: pos[n][0], cy: pos[n][1], r: 26, fill: node && node.drained ? "#eee" : "#fff",
      stroke: "#1d2330", "stroke-width": 1.5 }));
    g.append(el("text", { x: pos[n][0], y: pos[n][1] + 4, "text-anchor": "middle", "font-weight": 600 }, n));
    models.forEach((m, mi) => {
      const held = (plans[m].stages || []).filter(s => s.split(":")[0] === n).map(s => s.split(":")[1]);
      if (held.length) {
        g.append(el("text", { x: pos[n][0], y: pos[n][1] + 40 + 13 * mi, "text-anchor": "middle", fill: color(mi),
          class: "blocks" }, m.replace("builtin:", "") + " blocks " + held.join(",")));
      }
    });
    svg.append(g);
  }
  const table = document.getElementById("plans");
  table.replaceChildren(el("tr", {}, ""));
  table.firstChild.append(el("th", {}, "model"), el("th", {}, "epoch"), el("th", {}, "stages"));
  models.forEach((m, mi) => {
    const tr = el("tr", {});
    tr.append(el("td", { style: "color:" + color(mi) }, m), el("td", {}, String(plans[m].epoch)),
        el("td", { class: "stages" }, (plans[m].stages || []).join("  ")));
    table.append(tr);
    // a privacy class's own route, within the zones the class allows
    for (const [cls, route] of Object.entries(plans[m].privacy_routes || {})) {
      const row = el("tr", {});
      row.append(el("td", { style: "color:" + color(mi) }, m + " [" + cls + "]"), el("td", {}, ""),
          el("td", { class: "class-stages" }, route ? route.join("  ") : "no placement"));
      table.append(row);
    }
  });
  const nodes = document.getElementById("nodes");
  nodes.replaceChildren();
  const head = el("tr", {});
  head.append(el("th", {}, "node"), el("th", {}, "address"), el("th", {}, "ready for"), el("th", {}, "drained"));
  nodes.append(head);
  for (const n of cluster.nodes) {
    const tr = el("tr", {});
    tr.append(el("td", {}, n.name), el("td", {}, n.address || ""), el("td", {}, (n.ready_for || []).join(", ")),
        el("td", {}, n.drained ? "yes" : ""));
    nodes.append(tr);
  }
  drawBandwidth(cluster.link_series || []);
}

function chart(canvas, series, legend) { // series: [{name, points: [[t, v]...]}]
  const c = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 34;
  c.clearRect(0, 0, w, h);
  const all = series.flatMap(s => s.points);
  if (!all.length) return;
  const t0 = Math.min(...all.map(p => p[0])), t1 = Math.max(...all.map(p => p[0]), t0 + 1);
  const vmax = Math.max(...all.map(p => p[1])) * 1.1 || 1;
  c.strokeStyle = "#ccd"; c.fillStyle = "#556"; c.font = "10px sans-serif";
  c.beginPath(); c.moveTo(pad, 4); c.lineTo(pad, h - 16); c.lineTo(w - 4, h - 16); c.stroke();
  c.fillText(vmax.toFixed(1), 2, 12); c.fillText("0", 2, h - 16);
  c.fillText(((t1 - t0) / 1000).toFixed(0) + " s", w - 40, h - 4);
  legend.replaceChildren();
  series.forEach((s, i) => {
    c.strokeStyle = color(i); c.beginPath();
    s.points.forEach((p, j) => {
      const x = pad + (w - pad - 4) * (p[0] - t0) / (t1 - t0), y = (h - 16) - (h - 20) * p[1] / vmax;
      if (j === 0) c.moveTo(x, y); else c.lineTo(x, y);
    });
    c.stroke();
    legend.append(el("span", { style: "color:" + color(i) }, s.name));
  });
}

async function drawLatency() {
  const stats = await get("/api/stats");
  const series = Object.entries(stats.models).map(([m, s]) => ({
    name: m + " (" + s.requests + " requests)",
    points: s.recent.map(r => [r[0], r[1] / r[2]]),
  }));
  chart(document.getElementById("latency"), series, document.getElementById("latency-legend"));
}

function drawBandwidth(samples) {
  const byLink = {};
  for (const s of samples) (byLink[s.link] = byLink[s.link] || []).push([s.time_ms, s.bandwidth_bytes_per_s / 1e6]);
  chart(document.getElementById("bandwidth"), Object.entries(byLink).map(([name, points]) => ({ name, points })),
      document.getElementById("bandwidth-legend"));
}

function showDecision(e) {
  if (!["initial", "switch", "recover", "kept", "node-joined", "node-dead", "node-draining", "policy"].includes(e.kind)) return;
  decisions.unshift(e);
  const ul = document.getElementById("events");
  const li = el("li", { "data-kind": e.kind });
  const when = new Date(e.time_ms).toLocaleTimeString();
  li.append(el("span", { class: "kind" }, when + " " + (e.model || "") + " " + e.kind), document.createTextNode(" "
      + (e.chosen_plan ? "→ " + e.chosen_plan.join(" ") + " " : "") + (e.node ? "node " + e.node + " " : "")
      + (e.trigger ? "because " + e.trigger : "") + (e.not_switched_because ? " (kept: " + e.not_switched_because + ")" : "")));
  ul.prepend(li);
  while (ul.children.length > 200) ul.lastChild.remove();
}

async function followEvents() { // server-sent events read with fetch, so that the API key goes in a header
  for (;;) {
    try {
      const r = await fetch("/api/events?follow=true", { headers: headers() });
      if (!r.ok) throw new Error("/api/events: " + r.status);
      const reader = r.body.getReader();
      const text = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += text.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of block.split("\n")) {
            if (line.startsWith("data: ")) showDecision(JSON.parse(line.slice(6)));
          }
        }
      }
    } catch (err) {
      document.getElementById("error").textContent = String(err.message || err);
    }
    await new Promise(r => setTimeout(r, 2000));
  }
}

async function refresh() {
  try {
    await drawCluster();
    await drawLatency();
    document.getElementById("error").textContent = "";
  } catch (err) {
    document.getElementById("error").textContent = String(err.message || err);
  }
}

async function start() {
  document.getElementById("auth").addEventListener("submit", ev => {
    ev.preventDefault();
    key = document.getElementById("key").value;
    sessionStorage.setItem("edgesplit-key", key);
    location.reload();
  });
  try {
    models = (await get("/v1/models")).data.map(m => m.id);
    document.getElementById("models").textContent = models.join(" · ");
  } catch (err) {
    document.getElementById("error").textContent = String(err.message || err);
    return;
  }
  followEvents();
  await refresh();
  setInterval(refresh, 1000);
}

start();
