"use strict";
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  LFR.clearErrors(form);
  try {
    await LFR.api("POST", "/api/v1/auth/login", { username: form.username.value, password: form.password.value });
    location.assign("/");
  } catch (err) {
    LFR.showError(form, err);
  }
});
