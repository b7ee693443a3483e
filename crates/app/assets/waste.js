// Brigade's waste log: log what was thrown away (taken from the oldest batch first), see its value by
// reason and the ingredients wasted most over a period, and page through every entry. All through the
// REST API with the session and the page's CSRF token.
(function () {
  "use strict";
  const form = document.getElementById("waste-form");
  if (!form) return;
  const venue = form.dataset.venue;
  const { el, amount, qty } = window.BrigadeTeam;
  const money = window.BrigadeTeam.money(form.dataset.currency);
  const { api, say } = window.BrigadeTeam.page(form.dataset.csrf, document.getElementById("waste-status"));
  const select = document.getElementById("waste-ingredient");
  const days = document.getElementById("waste-days");
  const reasons = { expired: "Expired", spoiled: "Spoiled", dropped: "Dropped", returned: "Returned by a guest", cancelled: "Cooked, then cancelled" };
  const cancelled = document.getElementById("waste-cancelled");
  let ingredients = new Map();
  let page = 1;

  async function loadIngredients() {
    const reply = await api("GET", `/api/venues/${venue}/ingredients`);
    ingredients = new Map(reply.data.map((i) => [i.id, i]));
    const current = select.value;
    select.replaceChildren(el("option", { value: "", text: "Choose…" }));
    reply.data.slice().sort((a, b) => a.name.localeCompare(b.name))
      .forEach((i) => select.appendChild(el("option", { value: i.id, text: i.name + " (" + qty(i.on_hand, i.unit) + " on hand)", selected: i.id === current })));
    showUnit();
  }
  function showUnit() {
    const i = ingredients.get(select.value);
    document.getElementById("waste-unit").textContent = i ? "(" + i.unit + ")" : "";
  }
  function stat(label, value, testid) {
    return el("div", { class: "col-6 col-md-3" }, [
      el("div", { class: "small text-muted", text: label }),
      el("div", { class: "fs-5 fw-semibold", "data-testid": testid, text: value }),
    ]);
  }
  async function loadSummary() {
    const reply = await api("GET", `/api/venues/${venue}/waste/summary?days=${days.value}`);
    const s = reply.data;
    const box = document.getElementById("waste-summary");
    box.replaceChildren(
      stat("Wasted", money(s.value), "waste-value"),
      stat("Share of what was used", s.share_of_use === null ? "nothing used" : (Number(s.share_of_use) * 100).toFixed(1) + "%", "waste-share"),
    );
    const byReason = el("div", { class: "col-12 col-md-6" }, [el("div", { class: "small text-muted", text: "By reason" })]);
    if (!s.by_reason.length) byReason.appendChild(el("div", { class: "small", text: "No waste in this period." }));
    s.by_reason.forEach((r) => byReason.appendChild(el("div", { class: "d-flex justify-content-between small border-bottom py-1" }, [
      el("span", { text: (reasons[r.reason] || r.reason) + " · " + r.entries + (r.entries === 1 ? " entry" : " entries") }),
      el("span", { class: "fw-semibold", text: money(r.value) }),
    ])));
    box.appendChild(byReason);
    if (s.top_ingredients.length) {
      const top = el("div", { class: "col-12" }, [el("div", { class: "small text-muted", text: "Wasted most" })]);
      const list = el("ol", { class: "small mb-0 ps-3", "data-testid": "waste-top" });
      s.top_ingredients.forEach((t) => list.appendChild(el("li", {}, [
        el("a", { href: `/venues/${venue}/inventory/${t.ingredient_id}`, text: t.name }),
        " · " + qty(t.quantity, t.unit) + " · " + money(t.value),
      ])));
      top.appendChild(list);
      box.appendChild(top);
    }
  }
  async function loadLog() {
    const reply = await api("GET", `/api/venues/${venue}/movements?kind=waste&per_page=25&page=${page}`);
    const body = document.getElementById("waste-log");
    body.replaceChildren();
    if (!reply.data.items.length) body.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "text-muted", text: "Nothing wasted yet." })]));
    reply.data.items.forEach((m) => {
      const i = ingredients.get(m.ingredient_id);
      const unit = i ? i.unit : "";
      const why = reasons[m.reason] || m.reason || "";
      body.appendChild(el("tr", { "data-testid": "waste-entry" }, [
        el("td", { class: "small", text: new Date(m.occurred_at).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" }) }),
        el("td", {}, [
          i ? el("a", { href: `/venues/${venue}/inventory/${i.id}`, text: i.name }) : "(removed)",
          el("div", { class: "small text-muted d-sm-none", text: why }),
        ]),
        el("td", { class: "text-end text-nowrap", text: qty(-Number(m.quantity), unit) }),
        el("td", { class: "d-none d-sm-table-cell", text: why }),
        el("td", { class: "text-end", text: money(-Number(m.value)) }),
      ]));
    });
    const pages = reply.data.pagination ? reply.data.pagination.total_pages : 1;
    document.getElementById("waste-newer").disabled = page <= 1;
    document.getElementById("waste-older").disabled = page >= pages;
  }
  async function loadSettings() {
    cancelled.checked = (await api("GET", `/api/venues/${venue}/stock-settings`)).data.waste_cancelled_cooking;
  }
  cancelled.addEventListener("change", async () => {
    try {
      await api("PUT", `/api/venues/${venue}/stock-settings`, { waste_cancelled_cooking: cancelled.checked });
      say(cancelled.checked ? "Orders cancelled after cooking now count as waste." : "Orders cancelled after cooking no longer take anything from stock.");
    } catch (e) { cancelled.checked = !cancelled.checked; }
  });
  select.addEventListener("change", showUnit);
  days.addEventListener("change", () => loadSummary().catch(() => {}));
  document.getElementById("waste-newer").addEventListener("click", () => { page = Math.max(1, page - 1); loadLog().catch(() => {}); });
  document.getElementById("waste-older").addEventListener("click", () => { page += 1; loadLog().catch(() => {}); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ingredient = ingredients.get(select.value);
    const quantity = amount(document.getElementById("waste-quantity").value);
    if (!ingredient) { say("Choose the ingredient thrown away.", "warning"); select.focus(); return; }
    try {
      await api("POST", `/api/venues/${venue}/ingredients/${ingredient.id}/waste`, { quantity, reason: document.getElementById("waste-reason").value });
      say("Logged: " + qty(quantity, ingredient.unit) + " of " + ingredient.name + ".");
      document.getElementById("waste-quantity").value = "";
      page = 1;
      await Promise.all([loadIngredients(), loadSummary()]);
      await loadLog();
    } catch (e) { /* said; the input stays */ }
  });
  loadIngredients().then(() => Promise.all([loadSummary(), loadLog(), loadSettings()])).catch(() => {});
})();
