/**
 * The dashboard's load balancer section (inlined into dashboard.ts's page): one card per virtual
 * server — quorum up/lost, live weight against the quorum, the sorry server (and whether it
 * serves), ha_suspend — and a row per real server: alive, weight in rotation / configured, the
 * drain's phase, where it came from (file or API), each check's state and last detail. A Drain /
 * Undrain button per real server posts to /api/v1/lb/drain with the token. Values go in with
 * textContent only (the page's `el`), as everywhere in the dashboard.
 */
export const LB_CSS = `
  .lbw { font-size:12px; padding:1px 7px; border-radius:10px; border:1px solid var(--line); margin-left:4px;
         white-space:nowrap; }
  .lbw.drain { background:#fff4d6; border-color:#f0b429; }
  .lbw.api { background:#e8f0fd; border-color:var(--backup); }
  .chk { display:block; }
`;

/** Functions inside the page's script (they use its el, kv, button and act). */
export const LB_JS = `
  function lbCheck(c) {
    var st = c.suspended ? "suspended" : c.up ? "up" : "down";
    return el("span", { cls: "chk", "data-testid": "check" }, [
      el("code", { text: c.kind }), " ",
      el("span", { cls: c.suspended ? "init" : c.up ? "up" : "down", text: st }),
      c.failures ? " (" + c.failures + " failed)" : "",
      c.detail ? " — " + c.detail : "",
    ]);
  }
  function lbRow(r) {
    var rs = r.address.indexOf(":") >= 0 ? "[" + r.address + "]:" + r.port : r.address + ":" + r.port;
    var d = r.drain;
    var drainText = d ? d.phase + (d.why ? " (" + d.why + ")" : "") +
      (d.open !== undefined ? ", " + d.open + " open" : "") : "";
    var q = "api/v1/lb/drain?rs=" + encodeURIComponent(rs);
    return el("tr", { "data-rs": rs }, [
      el("td", {}, [el("code", { text: rs }), r.origin !== "api" ? null : el("span", {
        cls: "lbw api", title: "added through the API: gone at the next reload unless the file has it",
        text: "api" })]),
      d && d.phase === "drained" ? el("td", { cls: "init", "data-testid": "alive", text: "out" })
        : el("td", { cls: r.alive ? "up" : "down", "data-testid": "alive", text: r.alive ? "up" : "down" }),
      el("td", { "data-testid": "weight",
        text: (r.weight === null ? "–" : String(r.weight)) + " / " + r.configuredWeight }),
      el("td", {}, [d ? el("span", { cls: "lbw drain", "data-testid": "drain", text: drainText }) : null]),
      el("td", {}, r.checks.length ? r.checks.map(lbCheck)
        : [el("span", { cls: "kv", text: "no checker (always up)" })]),
      el("td", {}, [d ? button("Undrain", q + "&state=off", true, "back into the service")
        : button("Drain", q + "&state=on", true, "weight 0, out of the service when idle or after 300 s")]),
    ]);
  }
  function lbCard(v) {
    var top = el("div", { cls: "top" }, [
      el("span", { cls: "name", text: v.key }),
      el("span", { cls: "state " + (v.quorumUp ? "s-MASTER" : "s-FAULT"), "data-testid": "quorum",
        text: v.quorumUp ? "quorum up" : "quorum lost" }),
      kv("sched", v.sched), kv("method", v.method),
      kv("live weight", v.liveWeight + " (quorum " + v.quorum + (v.hysteresis ? " ± " + v.hysteresis : "") + ")"),
      v.sorry ? el("span", { cls: "kv", "data-testid": "sorry" }, ["sorry server ",
        el("b", { text: v.sorry.address + ":" + v.sorry.port }),
        v.sorryActive ? " (serving)" : " (standing by)"]) : null,
      v.suspended ? el("span", { cls: "maint", "data-testid": "suspended",
        title: "ha_suspend: no address of the service is local", text: "checks suspended" }) : null,
    ]);
    var removed = !(v.removedAtRuntime && v.removedAtRuntime.length) ? null : el("div", { cls: "kv",
      text: "removed through the API (back at the next reload): " + v.removedAtRuntime.join(", ") });
    var head = el("tr", {}, ["real server", "alive", "weight", "drain", "checks", ""].map(function (h) {
      return el("th", { text: h });
    }));
    var table = el("table", {}, [el("thead", {}, [head]), el("tbody", {}, v.realServers.map(lbRow))]);
    return el("div", { cls: "card", "data-vs": v.key }, [top, removed, table]);
  }
  function renderLb(lb) {
    var box = document.getElementById("lb");
    document.getElementById("lbsec").style.display = lb ? "" : "none";
    if (!lb) return;
    var failed = !(lb.lastApply && !lb.lastApply.ok) ? null
      : el("div", { cls: "card reason down", text: "last apply failed: " + (lb.lastApply.error || "") });
    box.replaceChildren.apply(box, (failed ? [failed] : []).concat(lb.virtualServers.map(lbCard)));
  }
`;
