// Shared by every page: calls to /api/v1 (session cookie + the CSRF token of the page's session),
// the API's refusals shown beside the fields they name, element building, logout.
"use strict";

const LFR = (() => {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  class ApiError extends Error {
    constructor(status, body) {
      super(body.message || `the server answered ${status}`);
      this.status = status;
      this.code = body.error || "http_error";
      this.problems = body.problems || [];
    }
  }

  async function api(method, path, body, raw) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf();
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, { message: "the server cannot be reached: check the connection and try again" });
    }
    if (r.status === 401 && !path.startsWith("/api/v1/auth/")) {
      location.assign("/login");
      throw new ApiError(401, { message: "your session has ended: log in again" });
    }
    if (!r.ok) {
      let b = {};
      try { b = await r.json(); } catch (e) { /* not JSON */ }
      throw new ApiError(r.status, b);
    }
    if (raw) return r;
    if (r.status === 204) return null;
    return (r.headers.get("content-type") || "").includes("json") ? r.json() : r.text();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function clearErrors(form) {
    for (const p of form.querySelectorAll("[data-error-for]")) p.replaceChildren();
    for (const f of form.querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
  }

  // A problem such as "body.reason: String should have at least 10 characters" goes beside the field
  // it names; the rest (and the message) go at the top of the form.
  function showError(form, err) {
    clearErrors(form);
    const general = form.querySelector('[data-error-for="_form"]');
    const rest = [];
    for (const p of err.problems || []) {
      const m = /^(?:body|query|form)\.([A-Za-z_0-9]+)(?:\.[^:]*)?:\s*(.*)$/.exec(p);
      const slot = m && form.querySelector(`[data-error-for="${m[1]}"]`);
      if (slot) {
        slot.append(el("span", { text: m[2] + " " }));
        const field = form.querySelector(`[name="${m[1]}"]`);
        if (field) field.setAttribute("aria-invalid", "true");
      } else rest.push(p);
    }
    if (!general) return;
    const placed = (err.problems || []).length > rest.length;
    general.append(el("span", { text: placed && !rest.length ? "Not saved: see the fields marked below." : err.message }));
    if (rest.length) general.append(el("ul", {}, ...rest.map((p) => el("li", { text: p }))));
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  async function deployments(select, wanted) {
    const list = await api("GET", "/api/v1/deployments");
    const order = { live: 0, authorised: 1, draft: 2, ended: 3, closed: 4 };
    list.sort((a, b) => (order[a.status] - order[b.status]) || a.name.localeCompare(b.name));
    const ask = new URLSearchParams(location.search).get("deployment");
    select.replaceChildren(...list.filter(wanted || (() => true)).map((d) =>
      el("option", { value: d.id, text: `${d.name} (${d.status})`, selected: d.id === ask })));
    return list;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      try { await api("POST", "/api/v1/auth/logout"); } finally { location.assign("/login"); }
    });
  });

  return { api, el, showError, clearErrors, when, deployments, ApiError };
})();
