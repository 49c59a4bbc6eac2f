// Retrospective search of a still photo: every face with its ranked candidates (the reason is audited).
"use strict";
(() => {
  const { api, el, showError, clearErrors } = LFR;
  const form = document.getElementById("search-form");
  LFR.deployments(form.deployment_id, (d) => d.status === "live").catch((err) => showError(form, err));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData();
    if (form.image.files[0]) data.append("image", form.image.files[0]);
    data.append("deployment_id", form.deployment_id.value);
    data.append("reason", form.reason.value);
    data.append("top", form.top.value || "5");
    const out = document.getElementById("results");
    out.replaceChildren();
    try {
      const r = await api("POST", "/api/v1/search", data);
      clearErrors(form);
      if (!r.faces.length) out.append(el("p", { text: r.error || "No face found in the photo." }));
      for (const face of r.faces) {
        out.append(el("section", { class: "panel" },
          el("h3", { text: `Face ${face.index + 1}` + (face.quality_ok ? "" : ` (poor quality: ${face.quality_reason})`) }),
          el("ol", { class: "candidates" }, ...face.candidates.map((c) => el("li", {},
            `${c.display_name} — score ${c.score.toFixed(3)} (threshold ${c.threshold.toFixed(3)})${c.score >= c.threshold ? ", above" : ""}`)))));
      }
    } catch (err) { showError(form, err); }
  });
})();
