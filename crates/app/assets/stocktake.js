// Brigade's stocktake sheet: every ingredient by category with what the records expect and a box for
// what is on the shelf; the difference shows as it is typed, the counts are kept on this device until
// saved (a reload or a lost signal loses nothing), and saving sends the filled lines as one stocktake.
// The same sheet goes out and comes back as CSV.
(function () {
  "use strict";
  const form = document.getElementById("count-form");
  if (!form) return;
  const venue = form.dataset.venue;
  const { el, amount, qty } = window.BrigadeTeam;
  const money = window.BrigadeTeam.money(form.dataset.currency);
  const { api, say, download, report } = window.BrigadeTeam.page(form.dataset.csrf, document.getElementById("count-status"));
  const body = document.getElementById("count-lines");
  const progress = document.getElementById("count-progress");
  const draftKey = "brigade.stocktake." + venue;
  let ingredients = [];

  const draft = () => { try { return JSON.parse(localStorage.getItem(draftKey) || "{}"); } catch (e) { return {}; } };
  function keep() {
    const typed = {};
    body.querySelectorAll("input[data-ingredient]").forEach((i) => { if (i.value.trim() !== "") typed[i.dataset.ingredient] = i.value; });
    localStorage.setItem(draftKey, JSON.stringify(typed));
    progress.textContent = Object.keys(typed).length + " of " + ingredients.length + " counted";
  }
  // The difference as typed, in its column (wide screens) and under the box (phones).
  function difference(input, cells, expected, unit) {
    const raw = amount(input.value);
    let text = "";
    let tone = "";
    if (raw !== "") {
      const counted = Number(raw);
      if (!Number.isFinite(counted) || counted < 0) {
        text = "not a quantity";
        tone = "text-danger";
      } else {
        const diff = counted - Number(expected);
        text = (diff > 0 ? "+" : "") + qty(diff, unit);
        tone = diff < 0 ? "text-danger" : diff > 0 ? "text-success" : "";
      }
    }
    cells.forEach(([cell, base]) => {
      cell.className = base + (tone ? " " + tone : "");
      cell.textContent = text;
    });
  }
  function render() {
    const typed = draft();
    body.replaceChildren();
    if (!ingredients.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "4", class: "text-muted", text: "No ingredients yet: add them on the stock page." })]));
      return;
    }
    let category = null;
    ingredients.forEach((i) => {
      if ((i.category || "") !== category) {
        category = i.category || "";
        body.appendChild(el("tr", { class: "table-light" }, [el("th", { colspan: "4", scope: "colgroup", class: "small", text: category || "Other" })]));
      }
      const id = "count-" + i.id;
      const input = el("input", { class: "form-control form-control-sm text-end", id, inputmode: "decimal", autocomplete: "off", "data-ingredient": i.id, "aria-label": "Counted " + i.name + " in " + i.unit });
      input.value = typed[i.id] || "";
      const column = el("td");
      const under = el("div");
      const cells = [[column, "text-end d-none d-sm-table-cell"], [under, "small text-end d-sm-none"]];
      input.addEventListener("input", () => { difference(input, cells, i.on_hand, i.unit); keep(); });
      difference(input, cells, i.on_hand, i.unit);
      body.appendChild(el("tr", { "data-testid": "count-line" }, [
        el("td", {}, [el("label", { for: id, class: "mb-0", text: i.name }), el("span", { class: "text-muted small", text: " " + i.unit })]),
        el("td", { class: "text-end text-nowrap", text: qty(i.on_hand, i.unit) }),
        el("td", {}, [input, under]),
        column,
      ]));
    });
    keep();
  }
  async function load() {
    const reply = await api("GET", `/api/venues/${venue}/ingredients`);
    ingredients = reply.data.slice().sort((a, b) =>
      ((a.category === null) - (b.category === null)) || (a.category || "").localeCompare(b.category || "") || a.name.localeCompare(b.name));
    render();
  }
  function showResult(result) {
    const box = document.getElementById("count-result");
    const lines = document.getElementById("count-result-lines");
    lines.replaceChildren();
    result.lines.forEach((l) => lines.appendChild(el("tr", {}, [
      el("td", { text: l.name }),
      el("td", { class: "text-end", text: qty(l.expected, l.unit) }),
      el("td", { class: "text-end", text: qty(l.counted, l.unit) }),
      el("td", { class: "text-end" + (Number(l.variance) < 0 ? " text-danger" : ""), text: qty(l.variance, l.unit) }),
      el("td", { class: "text-end", text: money(l.variance_value) }),
    ])));
    box.classList.remove("d-none");
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lines = [];
    let bad = null;
    body.querySelectorAll("input[data-ingredient]").forEach((i) => {
      const raw = amount(i.value);
      if (raw === "") return;
      if (!/^[0-9]{1,12}(\.[0-9]{1,3})?$/.test(raw)) { bad = bad || i; return; }
      lines.push({ ingredient_id: i.dataset.ingredient, counted: raw });
    });
    if (bad) { say("A count is not a quantity (digits, up to three decimals): " + bad.getAttribute("aria-label") + ".", "danger"); bad.focus(); return; }
    if (!lines.length) { say("Nothing counted yet: type what is on the shelf first.", "warning"); return; }
    try {
      const reply = await api("POST", `/api/venues/${venue}/stocktakes`, { lines });
      localStorage.removeItem(draftKey);
      say(reply.message || "Counted");
      showResult(reply.data);
      await load();
    } catch (e) { /* said; the counts stay */ }
  });
  document.getElementById("count-clear").addEventListener("click", () => {
    if (!confirm("Clear every count typed on this sheet?")) return;
    localStorage.removeItem(draftKey);
    render();
  });
  document.getElementById("sheet-download").addEventListener("click", () => download(`/api/venues/${venue}/counts/sheet`, "stocktake.csv"));
  const upload = document.getElementById("sheet-upload");
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    upload.value = "";
    if (!file) return;
    try {
      report(await api("POST", `/api/venues/${venue}/counts/import`, file));
      await load();
    } catch (e) { /* said */ }
  });
  load().catch(() => {});
})();
