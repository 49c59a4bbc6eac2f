// The supervisor's deployments: create, watchlist upload with its per-image report, threshold,
// what start still needs, authorise, start, end, close, publication.
"use strict";
(() => {
  const { api, el, showError, clearErrors, when } = LFR;
  const table = document.getElementById("deployments");
  const detail = document.getElementById("detail");
  const stepResult = document.getElementById("step-result");
  let current = null;

  async function list() {
    const rows = await api("GET", "/api/v1/deployments");
    table.replaceChildren(...rows.map((d) => el("tr", {},
      el("td", { text: d.name }), el("td", { text: d.location_name }), el("td", { text: d.status }),
      el("td", { text: d.published ? "published" : "–" }),
      el("td", {}, el("button", { type: "button", class: "quiet", onclick: () => show(d.id, true) }, "Open ", el("span", { class: "sr-only", text: d.name }))))));
    return rows;
  }

  async function show(id, focus) {
    const r = await api("GET", `/api/v1/deployments/${id}`, undefined, true);
    const d = await r.json();
    current = d;
    const missing = r.headers.get("X-LFR-Not-Ready");
    const facts = [
      ["Name", d.name], ["Status", d.status], ["Place", d.location_name], ["Purpose", d.purpose], ["Legal basis", d.legal_basis],
      ["Planned", `${when(d.planned_start)} – ${when(d.planned_end)}`],
      ["Cameras", d.cameras.map((c) => c.id).join(", ")],
      ["Watchlist", d.watchlist_name ? `${d.watchlist_name}: ${d.entries.length} entries` : "none yet"],
      ["Threshold", d.threshold != null ? `${d.threshold} (${d.threshold_source})` : "not set"],
      ["Created by", d.created_by], ["Authorised by", d.authorised_by || "not yet"],
      ["Public notice", d.published ? "published" : "not published"],
    ];
    if (missing !== null) facts.push(["Before it can start", missing === "0" ? "nothing is missing" : `${missing} item(s) missing: Start lists them`]);
    document.getElementById("facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    document.getElementById("detail-h").textContent = `Deployment: ${d.name}`;
    detail.hidden = false;
    const editable = ["draft", "authorised"].includes(d.status);
    for (const f of detail.querySelectorAll("form")) f.hidden = !editable;
    const allowed = { authorise: d.status === "draft", start: d.status === "authorised", end: ["draft", "authorised", "live"].includes(d.status), close: d.status === "ended", publish: !d.published, unpublish: d.published };
    for (const b of detail.querySelectorAll("[data-step]")) b.hidden = !allowed[b.dataset.step];
    if (focus) document.getElementById("detail-h").focus();
  }
  document.getElementById("detail-h").setAttribute("tabindex", "-1");

  for (const button of detail.querySelectorAll("[data-step]")) {
    button.addEventListener("click", async () => {
      const step = button.dataset.step;
      clearErrors(stepResult);
      try {
        if (step === "publish" || step === "unpublish") await api("POST", `/api/v1/deployments/${current.id}/publish`, { published: step === "publish" });
        else await api("POST", `/api/v1/deployments/${current.id}/${step}`);
        stepResult.querySelector(".error").textContent = "";
        await list();
        await show(current.id);
      } catch (err) {
        showError(stepResult, err);
      }
    });
  }

  document.getElementById("create-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const iso = (v) => (v ? new Date(v).toISOString() : "");
    const num = (v) => (v === "" ? null : Number(v));
    const body = {
      name: f.name.value, location_name: f.location_name.value, purpose: f.purpose.value, legal_basis: f.legal_basis.value,
      planned_start: iso(f.planned_start.value), planned_end: iso(f.planned_end.value),
      latitude: num(f.latitude.value), longitude: num(f.longitude.value),
      cameras: f.camera_id.value || f.camera_source.value
        ? [{ id: f.camera_id.value, source: f.camera_source.value, realtime: f.camera_realtime.checked }] : [],
    };
    try {
      const d = await api("POST", "/api/v1/deployments", body);
      clearErrors(f);
      f.reset();
      await list();
      await show(d.id, true);
    } catch (err) {
      err.problems = err.problems.map((p) => p.replace(/^body\.cameras\.\d+\.id:/, "body.camera_id:").replace(/^body\.cameras\.\d+\.source:/, "body.camera_source:"));
      showError(f, err);
    }
  });

  document.getElementById("watchlist-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const data = new FormData();
    if (f.manifest.files[0]) data.append("manifest", f.manifest.files[0]);
    for (const img of f.images.files) data.append("images", img);
    data.append("name", f.wl_name.value || "watchlist");
    for (const line of f.under_18.value.split("\n").map((l) => l.trim()).filter(Boolean)) data.append("under_18", line);
    if (f.cohort.value.trim()) data.append("cohort", f.cohort.value.trim());
    if (f.cohort.value.trim() && f.fpir.value.trim()) data.append("fpir", f.fpir.value.trim());
    const report = document.getElementById("report");
    report.hidden = true;
    try {
      const r = await api("POST", `/api/v1/deployments/${current.id}/watchlist`, data);
      clearErrors(f);
      report.querySelector("tbody").replaceChildren(...r.report.map((line) => el("tr", {},
        el("td", { text: line.subject_id }), el("td", { text: line.image }), el("td", { text: line.accepted ? "yes" : "no" }), el("td", { text: line.reason || "" }))));
      report.hidden = false;
      await show(current.id);
    } catch (err) {
      showError(f, err);
    }
  });

  document.getElementById("threshold-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const manual = f.source.value === "manual";
    const body = manual ? { value: f.value.value === "" ? null : Number(f.value.value), justification: f.justification.value } : {};
    try {
      await api("POST", `/api/v1/deployments/${current.id}/threshold`, body);
      clearErrors(f);
      await show(current.id);
    } catch (err) {
      showError(f, err);
    }
  });

  list().then((rows) => {
    const ask = new URLSearchParams(location.search).get("deployment");
    if (ask && rows.some((d) => d.id === ask)) show(ask);
  });
})();
