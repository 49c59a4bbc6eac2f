// The operator's live console: cameras (polled), alerts over SSE as cards, newest first, undecided
// on top; m / n / c on the focused card records the operator's decision. Nothing decides by itself.
"use strict";
(() => {
  const { api, el, when } = LFR;
  const select = document.getElementById("deployment");
  const list = document.getElementById("alerts");
  const cams = document.getElementById("cameras");
  const state = document.getElementById("stream-state");
  const cue = document.getElementById("cue");
  const error = document.getElementById("console-error");
  const KEYS = { m: "match", n: "no_match", c: "cannot_tell" };
  const LABELS = { match: "Match", no_match: "No match", cannot_tell: "Cannot tell" };
  let source = null;
  let camTimer = null;
  let audio = null;

  function beep() {
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio device: the visible cue remains */ }
  }
  document.getElementById("sound-on").addEventListener("click", () => { audio = audio || new AudioContext(); beep(); });

  function order() {
    const cards = [...list.children];
    cards.sort((a, b) => (a.dataset.decided ? 1 : 0) - (b.dataset.decided ? 1 : 0) || Number(b.dataset.seq) - Number(a.dataset.seq));
    list.append(...cards);
    const open = cards.filter((c) => !c.dataset.decided).length;
    document.getElementById("pending").textContent = open ? `${open} to decide` : "";
  }

  async function decide(card, decision) {
    const buttons = card.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    const slot = card.querySelector(".error");
    slot.textContent = "";
    try {
      await api("POST", `/api/v1/alerts/${card.dataset.alertId}/adjudications`, { stage: "operator", decision });
      card.dataset.decided = decision;
      card.classList.remove("new");
      card.classList.add("decided");
      card.querySelector(".decision").textContent = `Your decision: ${LABELS[decision]}`;
      order();
      const next = list.querySelector(".card:not(.decided)");
      if (next) next.focus();
    } catch (err) {
      slot.textContent = err.message;
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function card(a, live) {
    if (list.querySelector(`[data-alert-id="${a.alert_id}"]`)) return;
    const score = `${a.score.toFixed(3)} (threshold ${a.threshold.toFixed(3)})`;
    const name = a.display_name || a.subject_id || "(name removed)";
    const node = el("li", {
      class: live ? "card new" : "card", tabindex: "0", "data-alert-id": a.alert_id, "data-seq": a.seq || 0,
      "data-captured": a.frame_captured || "", "data-received-at": a.received || "", "aria-label": `Alert: ${name}, score ${score}, camera ${a.camera_id}`,
    },
      el("div", { class: "faces" },
        el("figure", {}, el("img", { src: a.probe_url, alt: `Camera ${a.camera_id}: the face seen`, width: 160, height: 160 }), el("figcaption", { text: "Camera" })),
        el("figure", {}, el("img", { src: a.watchlist_url, alt: `Watchlist image of ${name}`, width: 160, height: 160 }), el("figcaption", { text: "Watchlist" }))),
      el("div", { class: "about" },
        el("h3", { text: name }),
        el("dl", { class: "facts" },
          el("dt", { text: "Category" }), el("dd", { text: a.category }),
          el("dt", { text: "Score" }), el("dd", { text: score + (a.uncalibrated ? " — uncalibrated" : "") }),
          el("dt", { text: "Camera" }), el("dd", { text: a.camera_id }),
          el("dt", { text: "Time" }), el("dd", { text: when(a.frame_captured || a.raised_at) }),
          a.latency_s != null ? el("dt", { text: "Latency" }) : null,
          a.latency_s != null ? el("dd", { text: `${a.latency_s.toFixed(2)} s` }) : null),
        el("div", { class: "actions" }, ...Object.entries(KEYS).map(([key, decision]) =>
          el("button", { type: "button", "aria-keyshortcuts": key, "data-decision": decision, onclick: (ev) => decide(ev.target.closest(".card"), decision) },
            el("kbd", { text: key }), ` ${LABELS[decision]}`))),
        el("p", { class: "decision", "aria-live": "polite" }),
        el("p", { class: "error", role: "alert" })));
    node.addEventListener("keydown", (ev) => {
      if (ev.target !== node || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      const decision = KEYS[ev.key.toLowerCase()];
      if (decision && !node.dataset.decided) { ev.preventDefault(); decide(node, decision); }
    });
    list.prepend(node);
    order();
    if (live) {
      node.dataset.shownAt = String(Date.now());  // in the DOM (measured by the browser tests)
      cue.textContent = `New alert: ${name} on ${a.camera_id}`;
      beep();
    }
  }

  async function cameras(dep) {
    try {
      const rows = await api("GET", `/api/v1/deployments/${dep}/cameras`);
      cams.replaceChildren(...rows.map((c) => el("tr", {},
        el("td", { text: c.camera_id }),
        el("td", {}, el("span", { class: `pill state-${c.state.replace(/\W+/g, "-")}`, text: c.state })),
        el("td", { text: c.running ? Number(c.fps_analysed).toFixed(1) : "–" }))));
    } catch (err) { error.textContent = err.message; }
  }

  async function open(dep) {
    if (source) source.close();
    if (camTimer) clearInterval(camTimer);
    list.replaceChildren();
    error.textContent = "";
    if (!dep) { state.textContent = "no deployment"; return; }
    history.replaceState(null, "", `?deployment=${encodeURIComponent(dep)}`);
    cameras(dep);
    camTimer = setInterval(() => cameras(dep), 2000);
    try {
      const waiting = await api("GET", `/api/v1/alerts?deployment=${encodeURIComponent(dep)}&status=unadjudicated`);
      for (const s of waiting) card({
        alert_id: s.id, seq: 0, camera_id: s.camera_id, subject_id: s.subject_id, display_name: s.display_name,
        category: s.category, score: s.score, threshold: s.threshold, raised_at: s.raised_at, frame_captured: null,
        latency_s: null, probe_url: `/api/v1/alerts/${s.id}/probe.jpg`, watchlist_url: `/api/v1/alerts/${s.id}/watchlist.jpg`,
      }, false);
    } catch (err) { error.textContent = err.message; }
    // EventSource reconnects by itself, sending Last-Event-ID: no alert is missed.
    source = new EventSource(`/api/v1/deployments/${encodeURIComponent(dep)}/alerts/stream`);
    source.addEventListener("open", () => { state.textContent = "connected"; state.className = "pill ok"; });
    source.addEventListener("error", () => { state.textContent = "reconnecting…"; state.className = "pill warn"; });
    source.addEventListener("alert", (ev) => card({ ...JSON.parse(ev.data), received: Date.now() }, true));
  }

  select.addEventListener("change", () => open(select.value));
  LFR.deployments(select).then(() => open(select.value)).catch((err) => { error.textContent = err.message; });
})();
