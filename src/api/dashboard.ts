/**
 * The web dashboard: one self-contained page (no build step, nothing loaded from elsewhere)
 * that polls /api/v1/status. Every value is put in the page with textContent, never as HTML,
 * so names from a config file cannot inject markup. Check history is kept by the page itself:
 * one dot per check run seen since the page was opened. The operator's verbs (reload,
 * switchover, maintenance, an LB real server's drain: dashboard-lb.ts) are buttons that POST
 * with the token typed into the header; the token lives in the page's memory only (never
 * stored) and is sent with the status polls too, which an off-host listener requires.
 */
import { LB_CSS, LB_JS } from './dashboard-lb.js';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>floatd</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#6b7385; --line:#e2e5eb;
          --master:#1f9d55; --backup:#2f6fd6; --fault:#d64545; --init:#8a8f9c; --stop:#8a8f9c; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg);
         color:var(--ink); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#1d2330; color:#fff; }
  header h1 { margin:0; font-size:18px; letter-spacing:.5px; }
  header .meta { color:#b9c0cf; font-size:13px; }
  header .conn { margin-left:auto; font-size:13px; }
  header .conn.bad { color:#ff9b9b; }
  main { padding:18px 24px; display:grid; gap:18px; grid-template-columns: minmax(0,2fr) minmax(0,1fr); }
  @media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
  section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.8px; color:var(--mute); margin:0 0 8px; }
  .cards { display:grid; gap:12px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
  .card .top { display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
  .card .name { font-weight:600; font-size:16px; }
  .state { font-weight:700; font-size:12px; padding:2px 8px; border-radius:10px; color:#fff; }
  .s-MASTER { background:var(--master); } .s-BACKUP { background:var(--backup); } .s-FAULT { background:var(--fault); }
  .s-INIT, .s-STOP { background:var(--init); }
  .kv { color:var(--mute); font-size:13px; }
  .kv b { color:var(--ink); font-weight:600; }
  .vips { margin:8px 0 4px; display:flex; gap:8px; flex-wrap:wrap; }
  .vip { font-family:ui-monospace, Menlo, monospace; font-size:13px; padding:2px 8px; border-radius:4px;
         border:1px solid var(--line); }
  .vip.held { border-color:var(--master); background:#e8f6ee; }
  .reason { font-size:13px; margin-top:4px; }
  table { width:100%; border-collapse:collapse; margin-top:8px; font-size:13px; }
  th, td { text-align:left; padding:3px 6px; border-top:1px solid var(--line); vertical-align:top; }
  th { color:var(--mute); font-weight:500; }
  .up { color:var(--master); font-weight:600; } .down { color:var(--fault); font-weight:600; }
  .init { color:var(--mute); }
  .hist { display:inline-flex; gap:2px; vertical-align:middle; }
  .hist i { width:6px; height:12px; border-radius:1px; display:inline-block; background:var(--init); }
  .hist i.up { background:var(--master); } .hist i.down { background:var(--fault); }
  .timeline { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:4px 12px;
              max-height:70vh; overflow:auto; }
  .tr { padding:8px 0; border-bottom:1px solid var(--line); }
  .tr:last-child { border-bottom:0; }
  .tr .when { color:var(--mute); font-size:12px; }
  .tr .what { font-weight:600; }
  .tr .why { font-size:13px; }
  .empty { color:var(--mute); font-style:italic; padding:8px 0; }
  code { font-family:ui-monospace, Menlo, monospace; }
  header input { font:13px system-ui, sans-serif; padding:3px 6px; border-radius:4px; border:1px solid #4a5263;
                 background:#2a3140; color:#fff; width:15em; }
  button { font:12px system-ui, sans-serif; padding:3px 9px; border-radius:4px; border:1px solid var(--line);
           background:#fff; cursor:pointer; }
  header button { border-color:#4a5263; background:#2a3140; color:#fff; }
  button:disabled { opacity:.45; cursor:default; }
  .acts { margin-left:auto; display:flex; gap:6px; }
  .maint { font-weight:700; font-size:12px; padding:2px 8px; border-radius:10px; background:#f0b429; color:#1d2330; }
  #actmsg { font-size:13px; color:#b9c0cf; } #actmsg.bad { color:#ff9b9b; }
${LB_CSS}</style>
</head>
<body>
<header>
  <h1>floatd</h1>
  <span class="meta" id="who">connecting…</span>
  <span class="conn" id="conn"></span>
  <input type="password" id="token" placeholder="API token (actions)" autocomplete="off" aria-label="API token">
  <button type="button" id="reload" title="re-read the configuration (SIGHUP)">Reload</button>
  <span id="actmsg" data-testid="actmsg"></span>
</header>
<main>
  <div>
    <section>
      <h2>Instances</h2>
      <div class="cards" id="instances"><div class="empty">no data yet</div></div>
    </section>
    <section style="margin-top:18px">
      <h2>Cloud floating IPs</h2>
      <div class="cards" id="fips"></div>
    </section>
    <section style="margin-top:18px; display:none" id="lbsec">
      <h2>Load balancer</h2>
      <div class="cards" id="lb"></div>
    </section>
  </div>
  <section>
    <h2>Transitions</h2>
    <div class="timeline" id="timeline"></div>
  </section>
</main>
<script>
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var intervalMs = Math.max(250, Number(params.get("interval") || 2000));
  var history = {};      // "instance/tracker" -> [{run, status}]
  var HIST = 30;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function kv(label, value) { return el("span", { cls: "kv" }, [label + " ", el("b", { text: String(value) })]); }
  function ago(iso) {
    if (!iso) return "never";
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 90) return s.toFixed(s < 10 ? 1 : 0) + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }
  function clock(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString() + " " + d.toLocaleDateString();
  }

  function trackerRows(inst) {
    if (!inst.trackers.length) return null;
    var rows = inst.trackers.map(function (t) {
      var key = inst.name + "/" + t.type + "/" + t.name;
      var h = history[key] || (history[key] = []);
      var last = h[h.length - 1];
      if (t.lastRun && (!last || last.run !== t.lastRun)) {
        h.push({ run: t.lastRun, status: t.status });
        if (h.length > HIST) h.shift();
      }
      var dots = el("span", { cls: "hist", title: "results seen since this page opened" }, h.map(function (x) {
        return el("i", { cls: x.status, title: x.run + " " + x.status });
      }));
      return el("tr", { "data-tracker": t.name }, [
        el("td", {}, [el("code", { text: t.name })]),
        el("td", { text: t.type }),
        el("td", { cls: t.status, text: t.status }),
        el("td", { text: t.lastResult || "" }),
        el("td", { text: t.lastDurationMs === undefined ? "" : t.lastDurationMs.toFixed(1) + " ms" }),
        el("td", { text: t.lastRun ? ago(t.lastRun) : "" }),
        el("td", {}, [dots]),
        el("td", { text: t.weight ? (t.weight > 0 ? "+" : "") + t.weight : "" }),
      ]);
    });
    var cols = ["tracked", "type", "status", "last result", "took", "ran", "history", "weight"];
    var head = el("tr", {}, cols.map(function (h) { return el("th", { text: h }); }));
    return el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  var maint = {};
  function token() { return document.getElementById("token").value.trim(); }
  function auth() { var t = token(); return t ? { authorization: "Bearer " + t } : {}; }
  function say(text, bad) {
    var m = document.getElementById("actmsg");
    m.className = bad ? "bad" : "";
    m.textContent = text;
  }
  /** One action: POST with the token; the answer's message (or error) is shown in the header. */
  function act(path) {
    if (!token()) { say("type the API token first", true); return; }
    say("…");
    fetch(path, { method: "POST", cache: "no-store", headers: auth() }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        var e = b.error || {};
        var text = (b.message || e.message || "done") + (e.code ? " (E_" + e.code + ")" : "");
        say((r.ok ? "" : "HTTP " + r.status + ": ") + text, !r.ok);
      });
    }).catch(function (e) { say(e.message, true); });
  }
  function button(label, path, enabled, title) {
    var b = el("button", { text: label, title: title, "data-action": label.toLowerCase().replace(/ /g, "-") });
    b.type = "button"; b.disabled = !enabled;
    b.addEventListener("click", function () { act(path); });
    return b;
  }
  function actions(inst) {
    var p = "api/v1/instances/" + encodeURIComponent(inst.name);
    var inMaint = !!maint[inst.name];
    return el("span", { cls: "acts" }, [
      button("Switchover", p + "/switchover", inst.state === "MASTER",
        "move MASTER to the peer without losing a request"),
      inMaint ? button("Maintenance off", p + "/maintenance?state=off", true, "back to the configured priority")
        : button("Maintenance on", p + "/maintenance?state=on", true,
          "leave MASTER and stay BACKUP until off (kept across restarts)"),
    ]);
  }

  function instanceCard(inst) {
    var held = inst.state === "MASTER";
    var top = el("div", { cls: "top" }, [
      el("span", { cls: "name", text: inst.name }),
      el("span", { cls: "state s-" + inst.state, "data-testid": "state", text: inst.state }),
      kv("VRID", inst.vrid), kv("on", inst.interface), kv("v", inst.version),
      kv("priority", inst.basePriority === inst.effectivePriority ? inst.basePriority
        : inst.basePriority + " → " + inst.effectivePriority),
      held ? kv("master", "this node" + (inst.master ? " (" + inst.master.address + ")" : ""))
        : inst.state === "BACKUP" && inst.master ? kv("master", inst.master.address + " (" + inst.master.priority + ")")
        : null,
      inst.syncGroup ? kv("group", inst.syncGroup) : null,
      maint[inst.name] ? el("span", { cls: "maint", "data-testid": "maintenance", text: "maintenance" }) : null,
      actions(inst),
    ]);
    var vips = el("div", { cls: "vips" }, inst.vips.map(function (v) {
      return el("span", {
        cls: "vip" + (held && v.present ? " held" : ""), "data-testid": "vip",
        title: held ? "held by this node" : "not held here", text: v.address + " " + v.dev,
      });
    }));
    var reason = el("div", { cls: "reason" }, [
      el("span", { cls: "kv", text: inst.state + " since " + ago(inst.since) + " — " }),
      el("span", { "data-testid": "reason", text: inst.lastReason }),
    ]);
    var peerList = inst.peers.map(function (p, i) {
      var heard = p.lastHeard ? " (prio " + p.priority + ", heard " + ago(p.lastHeard) + ")" : " (not heard)";
      return (i ? ", " : "") + p.address + heard;
    });
    var peers = inst.peers.length
      ? el("div", { cls: "kv", style: "margin-top:4px" }, ["peers: "].concat(peerList)) : null;
    var fips = inst.floatingIps.length
      ? el("div", { cls: "kv" }, ["floating IPs: " + inst.floatingIps.join(", ")]) : null;
    return el("div", { cls: "card", "data-instance": inst.name }, [top, vips, reason, peers, fips, trackerRows(inst)]);
  }

  function fipCard(f) {
    var mine = f.holder !== undefined && f.holder === f.self;
    return el("div", { cls: "card", "data-fip": f.name }, [
      el("div", { cls: "top" }, [
        el("span", { cls: "name", text: f.name }),
        el("code", { text: f.address }),
        kv("provider", f.provider),
        kv("holder", f.holder === undefined ? "unknown" : f.holder + (mine ? " (this node)" : "")),
        kv("phase", f.phase),
        kv("HTTP requests", f.calls),
        f.lastConvergeMs !== undefined ? kv("last failover", (f.lastConvergeMs / 1000).toFixed(2) + " s") : null,
      ]),
      f.contested ? el("div", { cls: "reason down", text: f.contested })
        : f.lastError
          ? el("div", { cls: "reason down", text: (f.errorCode ? "E_" + f.errorCode + ": " : "") + f.lastError })
        : f.lastResult ? el("div", { cls: "reason", text: f.lastResult }) : null,
    ]);
  }

${LB_JS}
  function render(s) {
    document.getElementById("who").textContent = s.hostname + " · router_id " + s.routerId + " · floatd " + s.version +
      " · pid " + s.pid + " · up " + ago(s.startedAt).replace(" ago", "");
    var insts = document.getElementById("instances");
    insts.replaceChildren.apply(insts, s.instances.length ? s.instances.map(instanceCard)
      : [el("div", { cls: "empty", text: "no vrrp_instance configured" })]);
    var fips = document.getElementById("fips");
    fips.replaceChildren.apply(fips, s.floatingIps.length ? s.floatingIps.map(fipCard)
      : [el("div", { cls: "empty", text: "none configured" })]);
    var tl = document.getElementById("timeline");
    var rows = s.transitions.slice().reverse().map(function (t) {
      return el("div", { cls: "tr", "data-testid": "transition" }, [
        el("div", { cls: "when", text: clock(t.time) + " · " + ago(t.time) }),
        el("div", { cls: "what" }, [
          t.kind === "GROUP" ? "group " : "", t.instance + " ",
          el("span", { cls: "state s-" + t.from, text: t.from }), " → ",
          el("span", { cls: "state s-" + t.to, text: t.to }),
        ]),
        el("div", { cls: "why" }, [el("code", { text: t.reasonKind }), " " + t.reason]),
      ]);
    });
    tl.replaceChildren.apply(tl, rows.length ? rows : [el("div", { cls: "empty", text: "no transitions yet" })]);
    renderLb(s.lb);
  }

  document.getElementById("reload").addEventListener("click", function () { act("api/v1/reload"); });
  function poll() {
    // The maintenance list is a read of its own; an older daemon without it just shows none.
    var none = { instances: {} };
    var m = fetch("api/v1/maintenance", { cache: "no-store", headers: auth() }).then(function (r) {
      return r.ok ? r.json() : none;
    }, function () { return none; });
    fetch("api/v1/status", { cache: "no-store", headers: auth() }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (s) {
      return m.then(function (x) { maint = x.instances || {}; return s; });
    }).then(function (s) {
      render(s);
      var c = document.getElementById("conn");
      c.className = "conn"; c.textContent = "updated " + new Date().toLocaleTimeString();
    }).catch(function (e) {
      var c = document.getElementById("conn");
      c.className = "conn bad"; c.textContent = "daemon not answering (" + e.message + ")";
    }).then(function () { setTimeout(poll, intervalMs); });
  }
  poll();
})();
</script>
</body>
</html>
`;
