// One ingredient: its stock, cover and reorder advice, a chart of the last four weeks' daily use with
// the next two weeks' forecast and its 80% band (Chart.js), its batches in the order FIFO takes them,
// how it is made when the kitchen makes it (a sub-recipe: managers edit it, staff record a batch made),
// and its latest movements. All through the REST API with the session.
(function () {
  "use strict";
  const facts = document.getElementById("ingredient-facts");
  if (!facts) return;
  const venue = facts.dataset.venue;
  const id = facts.dataset.ingredient;
  const { el, qty } = window.BrigadeTeam;
  const money = window.BrigadeTeam.money(facts.dataset.currency);
  const { api, say } = window.BrigadeTeam.page(facts.dataset.csrf, document.getElementById("ingredient-status"));
  const { amount } = window.BrigadeTeam;
  const labels = { receipt: "received", consumption: "used by an order", count: "count", waste: "waste", transfer: "transfer", production: "made" };
  const manage = document.getElementById("made").dataset.manage === "true";
  let chart = null;

  function fact(label, value, testid) {
    facts.appendChild(el("div", { class: "col-6 col-md-3" }, [
      el("div", { class: "border rounded p-2 h-100" }, [
        el("div", { class: "small text-muted", text: label }),
        el("div", { class: "fw-semibold", "data-testid": testid, text: value }),
      ]),
    ]));
  }

  async function load() {
    facts.replaceChildren();
    const [detail, usage, prediction, movements] = await Promise.all([
      api("GET", `/api/venues/${venue}/ingredients/${id}`),
      api("GET", `/api/venues/${venue}/ingredients/${id}/usage?days=28`),
      api("POST", "/api/predictions/inventory", { restaurant_id: venue, ingredient_id: id }).catch(() => null),
      api("GET", `/api/venues/${venue}/ingredients/${id}/movements?per_page=25`),
    ]);
    const i = detail.data;
    const p = prediction && prediction.data.ingredients[0];
    fact("On hand", qty(i.on_hand, i.unit), "fact-on-hand");
    fact("Value", money(i.value), "fact-value");
    if (p) {
      const cover = p.days_of_cover === null ? "beyond " + prediction.data.horizon_days + " days" : p.days_of_cover + " days";
      fact("Cover", cover, "fact-cover");
      fact(p.reorder_now ? "Order now" : "Reorder point", p.reorder_now ? qty(p.suggested_quantity, i.unit) : qty(p.reorder_point, i.unit), "fact-reorder");
    }

    // The chart: past use as bars, the forecast as a line in its band.
    const past = usage.data;
    const future = p ? p.usage.filter((u) => u.date > past[past.length - 1].date) : [];
    const dates = past.map((d) => d.date).concat(future.map((u) => u.date));
    const pad = (values, before) => new Array(before).fill(null).concat(values);
    const n = past.length;
    if (typeof Chart !== "undefined") {
      if (chart) chart.destroy();
      chart = new Chart(document.getElementById("usage-chart"), {
        data: {
          labels: dates,
          datasets: [
            { type: "bar", label: "Used", data: past.map((d) => Number(d.consumed)), backgroundColor: "rgba(33, 37, 41, 0.75)" },
            { type: "bar", label: "Wasted", data: past.map((d) => Number(d.wasted)), backgroundColor: "rgba(220, 53, 69, 0.75)" },
            { type: "line", label: "80% low", data: pad(future.map((u) => u.lower_80), n), fill: false, borderWidth: 0, pointRadius: 0, backgroundColor: "transparent" },
            { type: "line", label: "80% band", data: pad(future.map((u) => u.upper_80), n), fill: "-1", borderWidth: 0, pointRadius: 0, backgroundColor: "rgba(13, 110, 253, 0.18)" },
            { type: "line", label: "Forecast", data: pad(future.map((u) => u.predicted), n), borderColor: "#0d6efd", backgroundColor: "#0d6efd", borderDash: [6, 4], pointRadius: 2 },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: window.innerWidth < 576 ? 4 : 10, callback: function (v) { return this.getLabelForValue(v).slice(5); } } },
            y: { beginAtZero: true, title: { display: true, text: i.unit + " per day" } },
          },
          plugins: {
            legend: { labels: { filter: (item) => item.text !== "80% low" } },
            tooltip: { filter: (item) => item.raw !== null && item.dataset.label !== "80% low" },
          },
        },
      });
    }
    document.getElementById("usage-note").textContent = p
      ? "Forecast from " + prediction.data.method + " through the recipes; reorder point " + qty(p.reorder_point, i.unit) + " (" + qty(p.safety_stock, i.unit) + " of it safety stock at " + Math.round(prediction.data.service_level * 100) + "%)."
      : "No forecast for this ingredient yet.";

    const batches = document.getElementById("batches");
    batches.replaceChildren();
    if (i.batches.length === 0) batches.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "text-muted", text: "No stock in batches." })]));
    const risk = new Map((p ? p.expiry_risk : []).map((r) => [r.batch_id, r]));
    i.batches.forEach((b) => {
      const useBy = el("td", { text: b.expires_on || "keeps" });
      if (risk.has(b.id)) useBy.appendChild(el("span", { class: "badge text-bg-warning ms-1", text: qty(risk.get(b.id).expected_waste, i.unit) + " at risk" }));
      batches.appendChild(el("tr", { "data-testid": "batch" }, [
        el("td", { text: b.received_at.slice(0, 10) }),
        el("td", { class: "text-end", text: qty(b.remaining, i.unit) }),
        el("td", { class: "text-end", text: b.unit_cost }),
        useBy,
        el("td", { class: "d-none d-md-table-cell", text: b.lot || "–" }),
      ]));
    });

    const list = document.getElementById("movements");
    list.replaceChildren();
    if (movements.data.items.length === 0) list.appendChild(el("li", { class: "list-group-item text-muted", text: "Nothing yet." }));
    movements.data.items.forEach((m) => list.appendChild(el("li", { class: "list-group-item d-flex justify-content-between gap-2", "data-testid": "movement" }, [
      el("span", { text: m.occurred_at.slice(0, 16).replace("T", " ") + " · " + (labels[m.kind] || m.kind) + (m.reason ? " (" + m.reason + ")" : "") }),
      el("span", { class: Number(m.quantity) < 0 ? "text-danger" : "text-success", text: (Number(m.quantity) > 0 ? "+" : "") + qty(m.quantity, i.unit) }),
    ])));
  }
  // How it is made: the sub-recipe's lines and yield, a batch's cost; a manager changes them, anyone on
  // the team records a batch made (its components leave stock, the batch enters at their cost).
  async function loadMade() {
    const [reply, all] = await Promise.all([
      api("GET", `/api/venues/${venue}/ingredients/${id}/recipe`),
      api("GET", `/api/venues/${venue}/ingredients`),
    ]);
    const recipe = reply.data;
    const unit = (all.data.find((x) => x.id === id) || {}).unit || "";
    const box = document.getElementById("made-body");
    box.replaceChildren();
    const lines = recipe.lines.map((l) => ({ ingredient_id: l.ingredient_id, quantity: l.quantity }));
    const save = async (next, yieldQuantity) => {
      try {
        await api("PUT", `/api/venues/${venue}/ingredients/${id}/recipe`, { yield_quantity: yieldQuantity, lines: next });
        say("Recipe saved.");
        await loadMade();
      } catch (e) { /* said */ }
    };
    if (!recipe.lines.length) {
      box.appendChild(el("p", { class: "small text-muted mb-2", text: manage ? "Bought, not made here. If the kitchen makes it (a sauce, a dough), add what one batch takes:" : "Bought, not made here." }));
    } else {
      box.appendChild(el("p", { class: "small mb-2", "data-testid": "made-summary", text: "One batch makes " + qty(recipe.yield_quantity, unit || "") + " and costs " + money(recipe.batch_cost) + (recipe.unit_cost ? " (" + recipe.unit_cost + " per unit)." : ".") }));
      const table = el("table", { class: "table table-sm align-middle" }, [el("thead", {}, [el("tr", {}, [el("th", { text: "Ingredient" }), el("th", { class: "text-end", text: "Per batch" }), el("th", { class: "text-end", text: "Cost" }), el("th")])])]);
      const tbody = el("tbody");
      recipe.lines.forEach((l) => tbody.appendChild(el("tr", { "data-testid": "made-line" }, [
        el("td", { text: l.name }),
        el("td", { class: "text-end", text: qty(l.quantity, l.unit) }),
        el("td", { class: "text-end", text: money(l.cost) }),
        el("td", { class: "text-end" }, manage ? [el("button", { class: "btn btn-sm btn-link text-danger", type: "button", text: "Remove", "aria-label": "Remove " + l.name,
          onclick: () => save(lines.filter((x) => x.ingredient_id !== l.ingredient_id), recipe.yield_quantity) })] : []),
      ])));
      table.appendChild(tbody);
      box.appendChild(el("div", { class: "table-responsive" }, [table]));
      const made = el("form", { class: "row g-2 align-items-end mb-2", "data-testid": "produce" });
      const quantity = el("input", { class: "form-control form-control-sm", id: "produce-qty", inputmode: "decimal", value: recipe.yield_quantity });
      made.append(
        el("div", { class: "col-6 col-md-3" }, [el("label", { class: "form-label small mb-0", for: "produce-qty", text: "Made (" + unit + ")" }), quantity]),
        el("div", { class: "col-6 col-md-3" }, [el("button", { class: "btn btn-sm btn-primary w-100", type: "submit", text: "Record a batch made" })]),
      );
      made.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          const reply = await api("POST", `/api/venues/${venue}/ingredients/${id}/production`, { quantity: amount(quantity.value) });
          say("Made " + qty(reply.data.batch.received_quantity, unit) + " at " + reply.data.batch.unit_cost + " per unit; its ingredients left stock.");
          await load();
        } catch (e) { /* said */ }
      });
      box.appendChild(made);
    }
    if (!manage) return;
    const add = el("form", { class: "row g-2 align-items-end", "data-testid": "made-add" });
    const pick = el("select", { class: "form-select form-select-sm", id: "made-ingredient" });
    all.data.filter((x) => x.id !== id).sort((a, b) => a.name.localeCompare(b.name))
      .forEach((x) => pick.appendChild(el("option", { value: x.id, text: x.name + " (" + x.unit + ")" })));
    const perBatch = el("input", { class: "form-control form-control-sm", id: "made-quantity", inputmode: "decimal", required: true });
    const yieldInput = el("input", { class: "form-control form-control-sm", id: "made-yield", inputmode: "decimal", required: true, value: recipe.yield_quantity || "" });
    add.append(
      el("div", { class: "col-12 col-md-4" }, [el("label", { class: "form-label small mb-0", for: "made-ingredient", text: "Add ingredient" }), pick]),
      el("div", { class: "col-6 col-md-2" }, [el("label", { class: "form-label small mb-0", for: "made-quantity", text: "Per batch" }), perBatch]),
      el("div", { class: "col-6 col-md-3" }, [el("label", { class: "form-label small mb-0", for: "made-yield", text: "A batch makes (" + unit + ")" }), yieldInput]),
      el("div", { class: "col-12 col-md-3" }, [el("button", { class: "btn btn-sm btn-outline-primary w-100", type: "submit", text: "Save to recipe" })]),
    );
    add.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = lines.filter((x) => x.ingredient_id !== pick.value).concat([{ ingredient_id: pick.value, quantity: amount(perBatch.value) }]);
      save(next, amount(yieldInput.value));
    });
    box.appendChild(add);
  }
  load().catch(() => {});
  loadMade().catch(() => {});
})();
