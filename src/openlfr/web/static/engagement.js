// The engagement officer's view (tablet): alerts the operator judged a match; engagement and outcome.
"use strict";
(() => {
  const { api, el, when } = LFR;
  const select = document.getElementById("deployment");
  const list = document.getElementById("alerts");
  const error = document.getElementById("engagement-error");
  const ENGAGEMENT = { engaged_confirmed_true: "Engaged: confirmed true", engaged_confirmed_false: "Engaged: confirmed false", not_engaged: "Not engaged" };
  const OUTCOME = { arrest: "Arrest", other_action: "Other action", none: "None" };

  function group(alert, stage, choices, current) {
    return el("fieldset", { class: "choices" }, el("legend", { text: stage === "engagement" ? "Engagement" : "Outcome" }),
      ...Object.entries(choices).map(([decision, label]) => el("button", {
        type: "button", "data-stage": stage, "data-decision": decision, "aria-pressed": String(current === decision),
        onclick: async (ev) => {
          const slot = ev.target.closest(".card").querySelector(".error");
          slot.textContent = "";
          try {
            await api("POST", `/api/v1/alerts/${alert.id}/adjudications`, { stage, decision });
            await load();
            const again = list.querySelector(`[data-alert-id="${alert.id}"] [data-stage="${stage}"][data-decision="${decision}"]`);
            if (again) again.focus();
          } catch (err) { slot.textContent = err.message; }
        },
      }, label)));
  }

  async function load() {
    error.textContent = "";
    if (!select.value) { list.replaceChildren(el("li", { text: "No deployment." })); return; }
    try {
      const alerts = await api("GET", `/api/v1/alerts?deployment=${encodeURIComponent(select.value)}`);
      const matched = alerts.filter((a) => a.state.operator === "match").reverse();
      list.replaceChildren(...matched.map((a) => {
        const name = a.display_name || a.subject_id || "(name removed)";
        return el("li", { class: "card", "data-alert-id": a.id },
          el("div", { class: "faces" },
            el("figure", {}, el("img", { src: `/api/v1/alerts/${a.id}/probe.jpg`, alt: `Camera ${a.camera_id}: the face seen`, width: 140, height: 140 }), el("figcaption", { text: "Camera" })),
            el("figure", {}, el("img", { src: `/api/v1/alerts/${a.id}/watchlist.jpg`, alt: `Watchlist image of ${name}`, width: 140, height: 140 }), el("figcaption", { text: "Watchlist" }))),
          el("div", { class: "about" },
            el("h3", { text: name }),
            el("p", { text: `${a.category} · camera ${a.camera_id} · ${when(a.raised_at)}` }),
            group(a, "engagement", ENGAGEMENT, a.state.engagement),
            a.state.engagement && a.state.engagement !== "not_engaged" ? group(a, "outcome", OUTCOME, a.state.outcome) : null,
            el("p", { class: "error", role: "alert" })));
      }));
      if (!matched.length) list.replaceChildren(el("li", { class: "note", text: "No alert judged a match yet." }));
    } catch (err) { error.textContent = err.message; }
  }

  select.addEventListener("change", load);
  document.getElementById("refresh").addEventListener("click", load);
  LFR.deployments(select).then(load).catch((err) => { error.textContent = err.message; });
})();
