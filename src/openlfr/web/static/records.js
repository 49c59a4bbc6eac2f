// The auditor's page: published records (download), each deployment's alerts and outcomes, the audit chain.
"use strict";
(() => {
  const { api, el, showError, when } = LFR;
  const error = document.getElementById("records-error");

  async function alerts(dep, name) {
    document.getElementById("alerts-of").textContent = `of ${name}`;
    const rows = await api("GET", `/api/v1/alerts?deployment=${encodeURIComponent(dep)}`);
    document.getElementById("alerts").replaceChildren(...rows.map((a) => el("tr", { "data-alert-id": a.id },
      el("td", { text: when(a.raised_at) }), el("td", { text: a.camera_id }), el("td", { text: a.category }),
      el("td", { text: `${a.score.toFixed(3)} / ${a.threshold.toFixed(3)}` }),
      el("td", { text: a.state.operator || "–" }), el("td", { text: a.state.engagement || "–" }), el("td", { text: a.state.outcome || "–" }))));
  }

  async function records() {
    try {
      const rows = await api("GET", "/api/v1/records");
      document.getElementById("records").replaceChildren(...rows.map((r) => el("tr", { "data-deployment": r.deployment_id },
        el("td", { text: r.name }), el("td", { text: r.location }), el("td", { text: r.status }), el("td", { text: r.faces_seen }),
        el("td", { text: r.alerts }), el("td", { class: "true-alerts", text: r.true_alerts }), el("td", { text: r.false_alerts }), el("td", { text: r.arrests }),
        el("td", {}, el("button", { type: "button", class: "quiet", onclick: () => alerts(r.deployment_id, r.name).catch((e) => { error.textContent = e.message; }) }, "Alerts ", el("span", { class: "sr-only", text: `of ${r.name}` }))))));
    } catch (err) { error.textContent = err.message; }
  }

  async function verdict(path) {
    const v = await api("GET", path);
    document.getElementById("verdict").replaceChildren(...Object.entries(v).flatMap(([k, x]) =>
      [el("dt", { text: k.replace(/_/g, " ") }), el("dd", { text: typeof x === "object" ? JSON.stringify(x) : String(x) })]));
  }
  document.getElementById("verify").addEventListener("click", () => verdict("/api/v1/audit/verify").catch((e) => { error.textContent = e.message; }));
  document.getElementById("head").addEventListener("click", () => verdict("/api/v1/audit/head").catch((e) => { error.textContent = e.message; }));

  document.getElementById("audit-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const q = new URLSearchParams({ last: "200" });
    if (f.actor.value) q.set("actor", f.actor.value);
    if (f.action.value) q.set("action", f.action.value);
    try {
      const rows = await api("GET", `/api/v1/audit?${q}`);
      LFR.clearErrors(f);
      document.getElementById("entries").replaceChildren(...rows.map((e) => el("tr", {},
        el("td", { text: e.seq }), el("td", { text: when(e.at) }), el("td", { text: e.actor }), el("td", { text: e.action }),
        el("td", { text: e.deployment_id || "" }), el("td", { text: e.target || "" }))));
    } catch (err) { showError(f, err); }
  });
  records();
})();
