"use strict";
document.getElementById("password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  LFR.clearErrors(form);
  try {
    await LFR.api("POST", "/api/v1/auth/password", {
      old_password: form.old_password.value, new_password: form.new_password.value,
    });
    location.assign("/login");
  } catch (err) {
    LFR.showError(form, err);
  }
});
