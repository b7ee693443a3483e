// Behaviour every page shares. Forms marked for htmx are answered in place; when such an answer
// cannot be shown (the session ended, the server failed, the network is down) the form keeps what
// was typed and says what happened in its status line ([data-form-status]).
(function () {
  function statusLine(elt) {
    const form = elt.closest("form") || elt;
    return form.querySelector("[data-form-status]") || document.getElementById("page-status");
  }

  function say(elt, node) {
    const line = statusLine(elt);
    if (!line) return;
    line.replaceChildren(node);
    line.hidden = false;
    line.focus();
  }

  function sessionEnded() {
    const box = document.createElement("div");
    box.className = "alert alert-warning mb-0";
    box.setAttribute("data-testid", "session-ended");
    const here = location.pathname + location.search;
    const link = document.createElement("a");
    link.href = "/login?next=" + encodeURIComponent(here);
    link.target = "_blank";
    link.rel = "opener";
    link.textContent = "Sign in again";
    box.append("Your session has ended. ", link,
      " (a new tab opens), then press the button again: what you typed is still here.");
    return box;
  }

  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    if (xhr.status === 401) {
      say(event.detail.elt, sessionEnded());
      return;
    }
    const box = document.createElement("div");
    box.className = "alert alert-danger mb-0";
    box.textContent = xhr.status === 403
      ? "This form has expired or is not yours to send. Reload the page and try again."
      : "The server could not do this (" + xhr.status + "). What you typed is still here; try again in a moment.";
    say(event.detail.elt, box);
  });

  document.addEventListener("htmx:sendError", (event) => {
    const box = document.createElement("div");
    box.className = "alert alert-danger mb-0";
    box.textContent = "No connection to Brigade. What you typed is still here; try again when you are back online.";
    say(event.detail.elt, box);
  });

  // A form sent again starts with a clean status line.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const line = statusLine(event.detail.elt);
    if (line && line.closest("form")) {
      line.replaceChildren();
      line.hidden = true;
    }
  });
})();

// The pages' policy allows no inline handlers; these attributes stand in for them.
(function () {
  // A venue picker: go to the chosen venue's screen.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.venueSwitch !== undefined && form.venue) {
      event.preventDefault();
      location.href = "/venues/" + encodeURIComponent(form.venue.value) + "/" + form.dataset.venueSwitch;
    } else if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", (event) => {
    const field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-submit-on-change") && field.form) field.form.requestSubmit();
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
