// Logs an interaction without leaving the page: the server answers with the new timeline row.
(function () {
  const form = document.getElementById("log-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("log-error");
    error.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "x-brigade-fragment": "1", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      const text = await response.text();
      if (!response.ok) {
        error.textContent = text || "Could not log the interaction.";
        return;
      }
      const empty = document.getElementById("timeline-empty");
      if (empty) empty.remove();
      document.getElementById("timeline").insertAdjacentHTML("afterbegin", text);
      form.querySelector("#notes").value = "";
      form.querySelector("#follow_up_on").value = "";
    } catch (e) {
      error.textContent = "Network error: " + e.message;
    } finally {
      button.disabled = false;
    }
  });
})();
