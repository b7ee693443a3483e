// Brigade's stock page: every ingredient with its stock on hand, par level and FIFO value (below par
// first), with receiving a delivery, counting the shelf and logging waste in place; managers add
// ingredients and edit each dish's recipe with its cost and margin. All through the REST API with the
// session and the page's CSRF token.
(function () {
  "use strict";
  const body = document.getElementById("stock");
  if (!body) return;
  const venue = body.dataset.venue;
  const csrf = body.dataset.csrf;
  const manage = body.dataset.manage === "true";
  const currency = body.dataset.currency;
  const statusBox = document.getElementById("stock-status");
  let ingredients = [];

  const { el, amount, qty } = window.BrigadeTeam;
  const money = window.BrigadeTeam.money(currency);
  const { api, say, download, report } = window.BrigadeTeam.page(csrf, statusBox);

  // One action form under an ingredient's row: receive, count or waste.
  function actionRow(ingredient, action) {
    const tr = el("tr", { class: "table-light", "data-testid": "stock-action" });
    const form = el("form", { class: "d-flex flex-wrap gap-2 align-items-end" });
    const input = (id, label, attrs) => {
      const field = el("input", Object.assign({ class: "form-control form-control-sm", id, "aria-label": label }, attrs || {}));
      form.appendChild(el("div", {}, [el("label", { class: "form-label small mb-0", for: id, text: label }), field]));
      return field;
    };
    let send;
    if (action === "receive") {
      const q = input("receive-qty", "Received (" + ingredient.unit + ")", { inputmode: "decimal", required: true });
      const c = input("receive-cost", "Unit cost (" + currency + ")", { inputmode: "decimal", value: ingredient.unit_cost, required: true });
      const e = input("receive-expiry", "Use by", { type: "date" });
      const l = input("receive-lot", "Lot", { maxlength: "100" });
      send = () => api("POST", `/api/venues/${venue}/ingredients/${ingredient.id}/receipts`, Object.assign(
        { quantity: amount(q.value), unit_cost: amount(c.value) },
        e.value ? { expires_on: e.value } : {},
        l.value.trim() ? { lot: l.value.trim() } : {},
      )).then(() => "Received " + qty(amount(q.value), ingredient.unit) + " of " + ingredient.name + ".");
    } else if (action === "count") {
      const q = input("count-qty", "On the shelf (" + ingredient.unit + ")", { inputmode: "decimal", required: true });
      send = () => api("POST", `/api/venues/${venue}/ingredients/${ingredient.id}/counts`, { counted: amount(q.value) })
        .then((reply) => ingredient.name + " counted: " + (Number(reply.data.variance) === 0 ? "as recorded." : "a difference of " + qty(reply.data.variance, ingredient.unit) + "."));
    } else {
      const q = input("waste-qty", "Thrown away (" + ingredient.unit + ")", { inputmode: "decimal", required: true });
      const reason = el("select", { class: "form-select form-select-sm", id: "waste-reason", "aria-label": "Reason" });
      ["spoiled", "expired", "dropped", "returned"].forEach((r) => reason.appendChild(el("option", { value: r, text: r })));
      form.appendChild(el("div", {}, [el("label", { class: "form-label small mb-0", for: "waste-reason", text: "Reason" }), reason]));
      send = () => api("POST", `/api/venues/${venue}/ingredients/${ingredient.id}/waste`, { quantity: amount(q.value), reason: reason.value })
        .then(() => "Waste of " + qty(amount(q.value), ingredient.unit) + " " + ingredient.name + " logged.");
    }
    form.appendChild(el("button", { class: "btn btn-sm btn-primary", type: "submit", text: "Save" }));
    form.appendChild(el("button", { class: "btn btn-sm btn-link", type: "button", text: "Close", onclick: () => tr.remove() }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        say(await send());
        load();
      } catch (_) { /* said; the form keeps what was typed */ }
    });
    tr.appendChild(el("td", { colspan: "7" }, [form]));
    return tr;
  }

  function row(ingredient) {
    const tr = el("tr", { "data-testid": "stock-row", "data-ingredient": ingredient.name, "data-id": ingredient.id, "data-below-par": String(ingredient.below_par) });
    const name = el("td", {}, [el("a", { class: "fw-semibold", href: `/venues/${venue}/inventory/${ingredient.id}`, "data-testid": "ingredient-link", text: ingredient.name })]);
    if (ingredient.below_par) name.appendChild(el("span", { class: "badge text-bg-warning ms-2", text: "below par" }));
    if (Number(ingredient.on_hand) < 0) name.appendChild(el("span", { class: "badge text-bg-danger ms-2", text: "below zero" }));
    tr.appendChild(name);
    tr.appendChild(el("td", { class: "text-end", "data-testid": "on-hand", text: qty(ingredient.on_hand, ingredient.unit) }));
    tr.appendChild(el("td", { class: "text-end text-muted d-none d-md-table-cell", text: ingredient.par_level ? qty(ingredient.par_level, ingredient.unit) : "–" }));
    tr.appendChild(el("td", { class: "text-end", text: money(ingredient.value) }));
    tr.appendChild(el("td", { class: "text-end small d-none d-sm-table-cell", "data-testid": "cover", text: "…" }));
    tr.appendChild(el("td", { class: "text-end text-muted small d-none d-md-table-cell", text: ingredient.unit_cost + " / " + ingredient.unit }));
    const actions = el("td", { class: "text-end" });
    [["receive", "Receive"], ["count", "Count"], ["waste", "Waste"]].forEach(([action, label]) => {
      actions.appendChild(el("button", {
        class: "btn btn-sm btn-outline-secondary ms-1", type: "button", text: label, "aria-label": label + " " + ingredient.name,
        onclick: () => {
          body.querySelectorAll("[data-testid=stock-action]").forEach((open) => open.remove());
          tr.after(actionRow(ingredient, action));
          tr.nextSibling.querySelector("input").focus();
        },
      }));
    });
    tr.appendChild(actions);
    return tr;
  }

  async function load() {
    try {
      const reply = await api("GET", `/api/venues/${venue}/ingredients`);
      ingredients = reply.data;
      body.replaceChildren();
      if (ingredients.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "7", class: "text-muted", text: manage ? "No ingredients yet: add the first below." : "No ingredients yet." })]));
      ingredients.forEach((i) => body.appendChild(row(i)));
      const total = ingredients.reduce((n, i) => n + Number(i.value), 0);
      const low = ingredients.filter((i) => i.below_par).length;
      document.getElementById("stock-summary").textContent = ingredients.length + " ingredients · " + money(total) + (low ? " · " + low + " below par" : "");
      fillRecipeIngredients();
      loadRecipe();
      loadCover();
    } catch (_) { /* said */ }
  }

  // Days of cover from the reorder forecast; what must be ordered now first, then the shortest cover.
  let generation = 0;
  async function loadCover() {
    const mine = ++generation;
    let prediction;
    try {
      prediction = (await api("POST", "/api/predictions/inventory", { restaurant_id: venue })).data;
    } catch (_) {
      body.querySelectorAll("[data-testid=cover]").forEach((cell) => { cell.textContent = "–"; });
      return;
    }
    // A newer load redrew the list meanwhile: its own call fills it.
    if (mine !== generation) return;
    const byId = new Map(prediction.ingredients.map((p) => [p.ingredient_id, p]));
    const rows = Array.from(body.querySelectorAll("[data-testid=stock-row]"));
    // Action forms stay under their row.
    const forms = new Map(rows.map((tr) => [tr, tr.nextElementSibling && tr.nextElementSibling.dataset.testid === "stock-action" ? tr.nextElementSibling : null]));
    rows.forEach((tr) => {
      const p = byId.get(tr.dataset.id);
      const cell = tr.querySelector("[data-testid=cover]");
      if (!p) { cell.textContent = "–"; return; }
      cell.textContent = p.days_of_cover === null ? (p.daily_usage > 0 ? "> " + prediction.horizon_days + " d" : "no use") : p.days_of_cover + " d";
      if (p.reorder_now) tr.querySelector("td").appendChild(el("span", { class: "badge text-bg-danger ms-2", "data-testid": "order-now", text: "order now" }));
    });
    const rank = (tr) => {
      const p = byId.get(tr.dataset.id);
      const cover = p && p.days_of_cover !== null ? p.days_of_cover : Infinity;
      return [p && p.reorder_now ? 0 : 1, tr.dataset.belowPar === "true" ? 0 : 1, cover];
    };
    rows.sort((a, b) => {
      const [x, y] = [rank(a), rank(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    }).forEach((tr) => {
      body.appendChild(tr);
      if (forms.get(tr)) body.appendChild(forms.get(tr));
    });
  }

  // The recipe editor.
  const itemSelect = document.getElementById("recipe-item");
  let recipe = null;
  function fillRecipeIngredients() {
    const select = document.getElementById("recipe-ingredient");
    if (!select) return;
    const current = select.value;
    select.replaceChildren();
    ingredients.forEach((i) => select.appendChild(el("option", { value: i.id, text: i.name + " (" + i.unit + ")", selected: i.id === current })));
  }
  async function loadItems() {
    const menu = await api("GET", `/api/venues/${venue}/menu`);
    itemSelect.replaceChildren();
    menu.data.categories.forEach((c) => c.items.forEach((item) => itemSelect.appendChild(el("option", { value: item.id, text: c.name + " · " + item.name }))));
  }
  async function loadRecipe() {
    if (!itemSelect.value) return;
    const reply = await api("GET", `/api/venues/${venue}/menu/items/${itemSelect.value}/recipe`);
    recipe = reply.data;
    const lines = document.getElementById("recipe-lines");
    lines.replaceChildren();
    if (recipe.lines.length === 0) lines.appendChild(el("tr", {}, [el("td", { colspan: "4", class: "text-muted small", text: "No recipe yet: completed orders of this dish take nothing from stock." })]));
    recipe.lines.forEach((line) => {
      const tr = el("tr", { "data-testid": "recipe-line" });
      tr.appendChild(el("td", { text: line.name }));
      tr.appendChild(el("td", { class: "text-end", text: qty(line.quantity, line.unit) }));
      tr.appendChild(el("td", { class: "text-end", text: money(line.cost) }));
      const cell = el("td", { class: "text-end" });
      if (manage) cell.appendChild(el("button", {
        class: "btn btn-sm btn-link text-danger", type: "button", text: "Remove", "aria-label": "Remove " + line.name,
        onclick: () => saveRecipe(recipe.lines.filter((l) => l.ingredient_id !== line.ingredient_id)),
      }));
      tr.appendChild(cell);
      lines.appendChild(tr);
    });
    const share = recipe.cost_share ? " (" + (Number(recipe.cost_share) * 100).toFixed(1) + "% of the price)" : "";
    document.getElementById("recipe-cost").textContent = "Costs " + money(recipe.cost) + share + " · sells at " + money(recipe.price) + " · margin " + money(recipe.margin);
  }
  async function saveRecipe(lines) {
    try {
      await api("PUT", `/api/venues/${venue}/menu/items/${itemSelect.value}/recipe`, {
        lines: lines.map((l) => ({ ingredient_id: l.ingredient_id, quantity: String(l.quantity) })),
      });
      say("Recipe saved.");
    } catch (_) { /* said */ }
    loadRecipe();
  }
  itemSelect.addEventListener("change", loadRecipe);
  const recipeAdd = document.getElementById("recipe-add");
  if (recipeAdd) {
    recipeAdd.addEventListener("submit", (event) => {
      event.preventDefault();
      const id = document.getElementById("recipe-ingredient").value;
      const quantity = amount(document.getElementById("recipe-quantity").value);
      const lines = (recipe ? recipe.lines : []).filter((l) => l.ingredient_id !== id);
      lines.push({ ingredient_id: id, quantity });
      saveRecipe(lines);
    });
  }

  const add = document.getElementById("add-ingredient");
  if (add) {
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = (id) => document.getElementById(id).value.trim();
      const payload = { name: value("new-name"), unit: value("new-unit") };
      if (value("new-cost")) payload.unit_cost = amount(value("new-cost"));
      if (value("new-par")) payload.par_level = amount(value("new-par"));
      if (value("new-shelf")) payload.shelf_life_days = Number(value("new-shelf"));
      try {
        await api("POST", `/api/venues/${venue}/ingredients`, payload);
        say(payload.name + " added.");
        add.reset();
        load();
      } catch (_) { /* said; the form keeps its values */ }
    });
  }
  // What to order now: the reorder predictions, per supplier, and batches about to expire.
  const reorder = document.getElementById("reorder");
  async function loadReorder() {
    try {
      const reply = await api("GET", `/api/predictions/inventory/reorder?restaurant_id=${venue}`);
      const plan = reply.data;
      reorder.replaceChildren();
      if (plan.suppliers.length === 0) reorder.appendChild(el("p", { class: "text-muted small mb-2", text: "Nothing to order now: stock and what is on order cover the forecast until the next delivery." }));
      plan.suppliers.forEach((group) => {
        const box = el("div", { class: "mb-2", "data-testid": "reorder-supplier" });
        const title = el("div", { class: "fw-semibold", text: (group.supplier_name || "No supplier (order by hand)") + " · " + money(group.total) });
        if (group.below_minimum) title.appendChild(el("span", { class: "badge text-bg-warning ms-2", text: "below its minimum of " + money(group.min_order) }));
        box.appendChild(title);
        const lines = el("ul", { class: "list-unstyled small mb-0" });
        group.lines.forEach((line) => {
          const amountText = line.purchase_units && line.purchase_unit ? line.purchase_units + " " + line.purchase_unit + " (" + qty(line.quantity, line.unit) + ")" : qty(line.quantity, line.unit);
          const runsOut = line.stockout_on ? " · runs out around " + line.stockout_on : "";
          lines.appendChild(el("li", { "data-testid": "reorder-line", text: line.name + ": " + amountText + " · " + money(line.cost) + runsOut }));
        });
        box.appendChild(lines);
        reorder.appendChild(box);
      });
      if (plan.expiring.length) {
        const list = el("ul", { class: "list-unstyled small mb-2" });
        plan.expiring.slice(0, 8).forEach((e) => list.appendChild(el("li", { "data-testid": "expiring", text: e.ingredient_name + ": " + qty(e.expected_waste, "") + "of " + qty(e.remaining, "") + "may expire (use by " + (e.expires_on || "–") + ", " + money(e.expected_waste_value) + ")" })));
        reorder.appendChild(el("div", { class: "fw-semibold small text-danger mt-2", text: "Expiry risk" }));
        reorder.appendChild(list);
      }
      reorder.appendChild(el("div", { class: "small text-muted", text: "From the demand forecast (" + plan.method + ") and each dish's recipe, at a " + Math.round(plan.service_level * 100) + "% service level." }));
      const draft = document.getElementById("draft-orders");
      if (draft) draft.disabled = !plan.suppliers.some((g) => g.supplier_id);
    } catch (_) {
      reorder.textContent = "The reorder forecast is not available right now.";
    }
  }
  const draftButton = document.getElementById("draft-orders");
  if (draftButton) {
    draftButton.addEventListener("click", async () => {
      try {
        const reply = await api("POST", "/api/predictions/inventory/draft-orders", { restaurant_id: venue });
        const skipped = reply.data.without_supplier.length ? " " + reply.data.without_supplier.length + " ingredient(s) have no supplier." : "";
        say((reply.message || "Drafted.") + skipped + (reply.data.purchase_orders.length ? " Check and send them under Purchasing." : ""));
        loadReorder();
      } catch (_) { /* said */ }
    });
  }
  // The CSV comes through the API with the page's token, then is saved as a file.
  document.getElementById("stock-export").addEventListener("click", () => download(`/api/venues/${venue}/ingredients/export`, "stock.csv"));
  document.getElementById("recipes-export").addEventListener("click", () => download(`/api/venues/${venue}/recipes/export`, "recipes.csv"));
  // A chosen CSV file imported as it is; the stock list and recipes reload after.
  [["stock-import", "ingredients"], ["recipes-import", "recipes"]].forEach(([id, what]) => {
    const input = document.getElementById(id);
    if (!input) return;
    input.addEventListener("change", async () => {
      const file = input.files[0];
      input.value = "";
      if (!file) return;
      try {
        report(await api("POST", `/api/venues/${venue}/${what}/import`, file));
        await load();
        if (what === "recipes") await loadRecipe();
      } catch (e) { /* said */ }
    });
  });
  loadItems().then(load).then(loadReorder).catch(() => {});
})();
