// Brigade's purchasing page: the venue's purchase orders (open first), each with its lines; managers send
// or cancel drafts, staff receive deliveries line by line from a phone. A receipt carries an id chosen
// here when its form opens, so a submission retried on a bad connection is received once. Suppliers
// are listed and added below. All through the REST API with the session and the page's CSRF token.
(function () {
  "use strict";
  const list = document.getElementById("orders");
  if (!list) return;
  const venue = list.dataset.venue;
  const manage = list.dataset.manage === "true";
  const { el, amount, qty } = window.BrigadeTeam;
  const money = window.BrigadeTeam.money(list.dataset.currency);
  const { api, say } = window.BrigadeTeam.page(list.dataset.csrf, document.getElementById("po-status"));
  const filter = document.getElementById("po-filter");
  const labels = { draft: "draft", sent: "sent", partly_received: "partly received", received: "received", cancelled: "cancelled" };
  const badges = { draft: "secondary", sent: "primary", partly_received: "warning", received: "success", cancelled: "light" };
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));

  function receiveForm(order) {
    const receipt = uuid();
    const form = el("form", { class: "mt-2", "data-testid": "receive-form" });
    const rows = order.lines.filter((l) => Number(l.outstanding) > 0 || order.status === "sent");
    rows.forEach((line) => {
      const id = "rcv-" + line.id;
      form.appendChild(el("div", { class: "row g-2 align-items-end mb-2" }, [
        el("div", { class: "col-12 col-md-4 fw-semibold", text: line.ingredient_name + " · " + qty(line.outstanding, line.unit) + " to come" }),
        el("div", { class: "col-6 col-md-3" }, [
          el("label", { class: "form-label small mb-0", for: id + "-q", text: "Arrived (" + line.unit + ")" }),
          el("input", { class: "form-control", id: id + "-q", inputmode: "decimal", value: String(Number(line.outstanding)), "data-line": line.id, "data-testid": "receive-qty" }),
        ]),
        el("div", { class: "col-6 col-md-3" }, [
          el("label", { class: "form-label small mb-0", for: id + "-e", text: "Use by" }),
          el("input", { class: "form-control", id: id + "-e", type: "date" }),
        ]),
        el("div", { class: "col-12 col-md-2" }, [
          el("label", { class: "form-label small mb-0", for: id + "-l", text: "Lot" }),
          el("input", { class: "form-control", id: id + "-l", maxlength: "100" }),
        ]),
      ]));
    });
    form.appendChild(el("div", { class: "d-flex gap-2" }, [
      el("button", { class: "btn btn-primary", type: "submit", text: "Receive into stock", "data-testid": "receive-submit" }),
      el("button", { class: "btn btn-link", type: "button", text: "Close", onclick: () => form.remove() }),
    ]));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const lines = [];
      form.querySelectorAll("[data-line]").forEach((input) => {
        const value = amount(input.value);
        if (!value || Number(value) === 0) return;
        const base = "rcv-" + input.dataset.line;
        const line = { line_id: input.dataset.line, quantity: value };
        const expiry = document.getElementById(base + "-e").value;
        const lot = document.getElementById(base + "-l").value.trim();
        if (expiry) line.expires_on = expiry;
        if (lot) line.lot = lot;
        lines.push(line);
      });
      if (lines.length === 0) return say("Enter what arrived.", "warning");
      try {
        const reply = await api("POST", `/api/venues/${venue}/purchase-orders/${order.id}/receipts`, { receipt_id: receipt, lines });
        say(reply.message || "Received.");
        load();
      } catch (_) { /* said; the form keeps what was typed and its receipt id */ }
    });
    return form;
  }

  function card(order) {
    const item = el("div", { class: "list-group-item", "data-testid": "po", "data-status": order.status });
    const head = el("div", { class: "d-flex flex-wrap gap-2 align-items-center" }, [
      el("span", { class: "fw-semibold", text: order.supplier_name }),
      el("span", { class: "badge text-bg-" + badges[order.status], "data-testid": "po-state", text: labels[order.status] }),
      el("span", { class: "text-muted small", text: order.lines.length + " line(s) · " + money(order.total) + (order.expected_on ? " · expected " + order.expected_on : "") }),
    ]);
    if (order.below_minimum && order.status === "draft") head.appendChild(el("span", { class: "badge text-bg-warning", text: "below the supplier's minimum" }));
    const actions = el("span", { class: "ms-auto d-flex gap-1" });
    if (manage && order.status === "draft") {
      actions.appendChild(el("button", { class: "btn btn-sm btn-primary", type: "button", text: "Send", "data-testid": "po-send", onclick: () => act(order, "send") }));
    }
    if (order.status === "sent" || order.status === "partly_received") {
      actions.appendChild(el("button", { class: "btn btn-sm btn-success", type: "button", text: "Receive", "data-testid": "po-receive", onclick: () => {
        item.querySelectorAll("[data-testid=receive-form]").forEach((f) => f.remove());
        item.appendChild(receiveForm(order));
        item.querySelector("[data-testid=receive-qty]").focus();
      } }));
    }
    if (manage && ["draft", "sent", "partly_received"].includes(order.status)) {
      actions.appendChild(el("button", { class: "btn btn-sm btn-outline-danger", type: "button", text: "Cancel", onclick: () => act(order, "cancel") }));
    }
    head.appendChild(actions);
    item.appendChild(head);
    const lines = el("ul", { class: "list-unstyled small mb-0 mt-1" });
    order.lines.forEach((line) => {
      const bought = line.purchase_units && line.purchase_unit ? line.purchase_units + " " + line.purchase_unit + " (" + qty(line.quantity, line.unit) + ")" : qty(line.quantity, line.unit);
      const arrived = Number(line.received_quantity) > 0 ? " · arrived " + qty(line.received_quantity, line.unit) : "";
      lines.appendChild(el("li", { text: line.ingredient_name + ": " + bought + " at " + line.unit_cost + " per " + line.unit + " = " + money(line.total) + arrived }));
    });
    item.appendChild(lines);
    if (order.note) item.appendChild(el("div", { class: "small text-muted", text: "Note: " + order.note }));
    return item;
  }

  async function act(order, action) {
    if (action === "cancel" && !confirm("Cancel this order to " + order.supplier_name + "?")) return;
    try {
      const reply = await api("POST", `/api/venues/${venue}/purchase-orders/${order.id}/${action}`, {});
      say(reply.message || "Done.");
      load();
    } catch (_) { /* said */ }
  }

  async function load() {
    try {
      const wanted = filter.value;
      const query = wanted && wanted !== "open" ? "&status=" + wanted : "";
      const reply = await api("GET", `/api/venues/${venue}/purchase-orders?per_page=100${query}`);
      let orders = reply.data.items;
      if (wanted === "open") orders = orders.filter((o) => ["draft", "sent", "partly_received"].includes(o.status));
      list.replaceChildren();
      if (orders.length === 0) list.appendChild(el("div", { class: "list-group-item text-muted", text: "No purchase orders here. The stock page's reorder suggestions can draft them." }));
      orders.forEach((o) => list.appendChild(card(o)));
    } catch (_) { /* said */ }
  }

  async function loadSuppliers() {
    try {
      const reply = await api("GET", `/api/venues/${venue}/suppliers`);
      const body = document.getElementById("suppliers");
      body.replaceChildren();
      if (reply.data.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "4", class: "text-muted", text: "No suppliers yet." })]));
      reply.data.forEach((s) => body.appendChild(el("tr", { "data-testid": "supplier" }, [
        el("td", { class: "fw-semibold", text: s.name }),
        el("td", { class: "d-none d-md-table-cell" }, s.email ? [el("a", { href: "mailto:" + s.email, text: s.email })] : ["–"]),
        el("td", { class: "text-end", text: s.lead_time_days + " d" }),
        el("td", { class: "text-end", text: money(s.min_order) }),
      ])));
    } catch (_) { /* said */ }
  }

  const add = document.getElementById("add-supplier");
  if (add) {
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = (id) => document.getElementById(id).value.trim();
      const payload = { name: value("supplier-name") };
      if (value("supplier-email")) payload.email = value("supplier-email");
      if (value("supplier-lead")) payload.lead_time_days = Number(value("supplier-lead"));
      if (value("supplier-min")) payload.min_order = amount(value("supplier-min"));
      try {
        await api("POST", `/api/venues/${venue}/suppliers`, payload);
        say(payload.name + " added.");
        add.reset();
        loadSuppliers();
      } catch (_) { /* said; the form keeps its values */ }
    });
  }
  filter.addEventListener("change", load);
  load();
  loadSuppliers();
})();
