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

  function say(text, kind) {
    statusBox.className = "alert alert-" + (kind || "success");
    statusBox.textContent = text;
    clearTimeout(say.timer);
    if ((kind || "success") === "success") say.timer = setTimeout(() => statusBox.classList.add("d-none"), 5000);
  }

  const el = (tag, attrs, children) => {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => node.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  };
  const money = (amount) => new Intl.NumberFormat(undefined, { style: "currency", currency }).format(Number(amount));
  const qty = (value, unit) => Number(value).toLocaleString(undefined, { maximumFractionDigits: 3 }) + " " + unit;
  // Amounts as the API takes them: digits and a dot.
  const amount = (raw) => String(raw).trim().replace(",", ".");

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
    tr.appendChild(el("td", { colspan: "6" }, [form]));
    return tr;
  }

  function row(ingredient) {
    const tr = el("tr", { "data-testid": "stock-row", "data-ingredient": ingredient.name });
    const name = el("td", {}, [el("span", { class: "fw-semibold", text: ingredient.name })]);
    if (ingredient.below_par) name.appendChild(el("span", { class: "badge text-bg-warning ms-2", text: "below par" }));
    if (Number(ingredient.on_hand) < 0) name.appendChild(el("span", { class: "badge text-bg-danger ms-2", text: "below zero" }));
    tr.appendChild(name);
    tr.appendChild(el("td", { class: "text-end", "data-testid": "on-hand", text: qty(ingredient.on_hand, ingredient.unit) }));
    tr.appendChild(el("td", { class: "text-end text-muted d-none d-md-table-cell", text: ingredient.par_level ? qty(ingredient.par_level, ingredient.unit) : "–" }));
    tr.appendChild(el("td", { class: "text-end", text: money(ingredient.value) }));
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
      if (ingredients.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "6", class: "text-muted", text: manage ? "No ingredients yet: add the first below." : "No ingredients yet." })]));
      ingredients.forEach((i) => body.appendChild(row(i)));
      const total = ingredients.reduce((n, i) => n + Number(i.value), 0);
      const low = ingredients.filter((i) => i.below_par).length;
      document.getElementById("stock-summary").textContent = ingredients.length + " ingredients · " + money(total) + (low ? " · " + low + " below par" : "");
      fillRecipeIngredients();
      loadRecipe();
    } catch (_) { /* said */ }
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
  loadItems().then(load).catch(() => {});
})();
