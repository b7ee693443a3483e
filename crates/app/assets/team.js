// What the venue team's pages share: calling the REST API with the signed-in session and the page's
// CSRF token (a 401 asks to sign in again and keeps what was typed; a refusal names its fields in
// words), a status line, and a small element builder. `BrigadeTeam.page(csrf, statusBox)` gives them.
// A `FormData` is sent as a multipart form, a `Blob` (a chosen file) as it is, as CSV; `download` saves what a GET answers as a file, and
// `report` says what an import did with each line.
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
      // A form (a photo upload) sets its own multipart type; a file goes as CSV; the rest as JSON.
      const form = payload instanceof FormData;
      const raw = payload instanceof Blob;
      if (payload !== undefined && !form) headers["Content-Type"] = raw ? "text/csv" : "application/json";
      const response = await fetch(path, { method, headers, credentials: "same-origin", body: payload === undefined ? undefined : form || raw ? payload : JSON.stringify(payload) });
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
    async function download(path, filename) {
      const response = await fetch(path, { headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
      if (response.status === 401) return say("Your session has ended: sign in again, then try once more.", "warning");
      if (!response.ok) return say("The download failed (" + response.status + ").", "danger");
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: filename });
      document.body.appendChild(link);
      link.click();
      link.remove();
    }
    // An import's answer: its line count in the status line, each rejected line listed under it.
    function report(envelope) {
      const data = envelope.data;
      say(envelope.message || "Imported", data.rejected.length ? "warning" : "success");
      if (!data.rejected.length) return;
      clearTimeout(say.timer);
      statusBox.appendChild(el("ul", { class: "mb-0 mt-1 small", "data-testid": "import-rejected" },
        data.rejected.map((r) => el("li", { text: "Line " + r.line + ": " + r.errors.join("; ") }))));
    }
    return { api, say, el, download, report };
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
