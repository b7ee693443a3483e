// What the venue team's pages share: calling the REST API with the signed-in session and the page's
// CSRF token (a 401 asks to sign in again and keeps what was typed; a refusal names its fields in
// words), a status line, and a small element builder. `BrigadeTeam.page(csrf, statusBox)` gives them.
(function () {
  "use strict";
  function page(csrf, statusBox) {
    function say(text, kind) {
      statusBox.className = "alert alert-" + (kind || "success");
      statusBox.textContent = text;
      clearTimeout(say.timer);
      if ((kind || "success") === "success") say.timer = setTimeout(() => statusBox.classList.add("d-none"), 5000);
    }
    async function api(method, path, payload) {
      const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
      if (payload !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(path, { method, headers, credentials: "same-origin", body: payload === undefined ? undefined : JSON.stringify(payload) });
      const envelope = await response.json().catch(() => ({ success: false, message: "unreadable answer" }));
      if (response.status === 401) {
        say("Your session has ended: sign in again, then reload (what you typed is still here).", "warning");
        throw new Error("signed out");
      }
      if (!response.ok) {
        const fields = envelope.errors ? Object.entries(envelope.errors).map(([f, p]) => f.replace(/_/g, " ") + ": " + p.join(", ")).join("; ") : "";
        say((envelope.message || "Not saved") + (fields ? " (" + fields + ")" : ""), "danger");
        throw new Error(envelope.message || String(response.status));
      }
      return envelope;
    }
    return { api, say, el };
  }
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => node.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  }
  // Amounts as the API takes them: digits and a dot.
  const amount = (raw) => String(raw).trim().replace(",", ".");
  const qty = (value, unit) => Number(value).toLocaleString(undefined, { maximumFractionDigits: 3 }) + " " + unit;
  const money = (currency) => (value) => new Intl.NumberFormat(undefined, { style: "currency", currency }).format(Number(value));
  window.BrigadeTeam = { page, el, amount, qty, money };
})();
