// Brigade's customer page: the menu of the venue a QR code names, a cart, sign-in, placing the order and
// its live status (Server-Sent Events). No framework: the page is small and must load fast on a phone.
(function () {
  "use strict";
  const app = document.getElementById("app");
  // The page's policy allows no inline handlers: the receipt's print button is bound here.
  const printButton = document.getElementById("print-receipt");
  if (printButton) printButton.addEventListener("click", () => window.print());
  const venueId = app.dataset.venueId;
  const table = app.dataset.table || null;
  const tokenKey = "brigade.access_token";
  const refreshKey = "brigade.refresh_token";
  const nameKey = "brigade.customer_name";
  const cart = new Map(); // menu item id -> {item, quantity}
  let idempotencyKey = null;

  const $ = (id) => document.getElementById(id);
  const token = () => localStorage.getItem(tokenKey);
  const money = (amount) =>
    new Intl.NumberFormat(undefined, { style: "currency", currency: app.dataset.currency }).format(Number(amount));

  async function api(method, path, body, headers, retried) {
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (token()) h.Authorization = "Bearer " + token();
    const response = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const envelope = await response.json().catch(() => ({ success: false, message: "unreadable answer" }));
    // An expired access token: renew it once with the refresh token (a guest has no password to sign in
    // with again).
    if (response.status === 401 && !retried && token() && localStorage.getItem(refreshKey)) {
      const renewed = await fetch("/api/auth/refresh-token", {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: localStorage.getItem(refreshKey) }),
      });
      if (renewed.ok) {
        keepTokens((await renewed.json()).data);
        return api(method, path, body, headers, true);
      }
    }
    return { status: response.status, envelope };
  }

  function keepTokens(auth) {
    localStorage.setItem(tokenKey, auth.tokens.access_token);
    localStorage.setItem(refreshKey, auth.tokens.refresh_token);
    if (auth.user) localStorage.setItem(nameKey, (auth.user.first_name + " " + auth.user.last_name).trim());
  }

  function signOut() {
    [tokenKey, refreshKey, nameKey].forEach((k) => localStorage.removeItem(k));
    renderCart();
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  function renderCart() {
    let total = 0;
    cart.forEach(({ item, quantity }) => (total += Number(item.price) * quantity));
    $("cart").classList.toggle("d-none", cart.size === 0);
    $("cart-total").textContent = money(total.toFixed(2));
    // A bar at the bottom of the screen leads to the cart below the menu.
    $("cart-bar").classList.toggle("d-none", cart.size === 0);
    $("cart-bar-total").textContent = money(total.toFixed(2));
    // The cart's lines, each with its quantity, a remove button and a note for the kitchen.
    const lines = $("cart-lines");
    lines.replaceChildren();
    cart.forEach((line) => {
      const { item, quantity } = line;
      const note = el("input", { class: "form-control form-control-sm mt-1", type: "text", maxlength: "200", placeholder: "Note for the kitchen (optional)", "aria-label": "Note for " + item.name, "data-note-for": item.id });
      note.value = line.note || "";
      note.addEventListener("input", () => { line.note = note.value; idempotencyKey = null; });
      lines.appendChild(el("li", { class: "list-group-item px-0", "data-testid": "cart-line", "data-item": item.name }, [
        el("div", { class: "d-flex align-items-center gap-2" }, [
          el("span", { class: "flex-grow-1", text: item.name }),
          el("button", { class: "btn btn-sm btn-outline-secondary", type: "button", "aria-label": "One fewer " + item.name, onclick: () => change(item, -1) }, [document.createTextNode("−")]),
          el("span", { class: "text-center", style: "min-width:1.5em", text: String(quantity) }),
          el("button", { class: "btn btn-sm btn-outline-secondary", type: "button", "aria-label": "One more " + item.name, onclick: () => change(item, 1) }, [document.createTextNode("+")]),
          el("span", { class: "text-end", style: "min-width:4.5em", text: money((Number(item.price) * quantity).toFixed(2)) }),
          el("button", { class: "btn btn-sm btn-link text-danger", type: "button", "aria-label": "Remove " + item.name, onclick: () => change(item, -quantity) }, [document.createTextNode("Remove")]),
        ]),
        note,
      ]));
    });
    $("signin").classList.toggle("d-none", !!token());
    $("signed-in").classList.toggle("d-none", !token());
    $("signed-in-as").textContent = "Ordering as " + (localStorage.getItem(nameKey) || "you");
    document.querySelectorAll("[data-qty-for]").forEach((span) => {
      const line = cart.get(span.dataset.qtyFor);
      span.textContent = line ? String(line.quantity) : "0";
    });
  }

  function change(item, delta) {
    const line = cart.get(item.id) || { item, quantity: 0 };
    line.quantity = Math.max(0, Math.min(99, line.quantity + delta));
    if (line.quantity === 0) cart.delete(item.id);
    else cart.set(item.id, line);
    idempotencyKey = null; // a different order from now on
    renderCart();
  }

  async function loadMenu() {
    const { status, envelope } = await api("GET", "/api/venues/" + venueId + "/menu");
    const menu = $("menu");
    menu.replaceChildren();
    if (status !== 200) {
      menu.appendChild(el("div", { class: "alert alert-warning", text: envelope.message || "The menu is not available." }));
      return;
    }
    envelope.data.categories.forEach((section) => {
      const list = el("ul", { class: "list-group mb-3" });
      section.items.forEach((item) => {
        const soldOut = !item.is_available;
        list.appendChild(
          el("li", { class: "list-group-item d-flex align-items-center gap-2" + (soldOut ? " text-muted" : ""), "data-item": item.name }, [
            el("div", { class: "flex-grow-1" }, [
              el("div", { class: "fw-semibold", text: item.name }),
              el("div", { class: "small text-muted", text: item.description || "" }),
              el("div", { class: "small", text: soldOut ? "Sold out" : money(item.price) }),
            ]),
            el("button", { class: "btn btn-sm btn-outline-secondary", type: "button", "aria-label": "Fewer " + item.name, onclick: () => change(item, -1) }, [document.createTextNode("−")]),
            el("span", { class: "qty text-center", style: "min-width:1.5em", "data-qty-for": item.id, text: "0" }),
            el("button", Object.assign({ class: "btn btn-sm btn-primary", type: "button", "aria-label": "Add " + item.name, onclick: () => change(item, 1) }, soldOut ? { disabled: "" } : {}), [document.createTextNode("+")]),
          ])
        );
      });
      menu.appendChild(el("h2", { class: "h6 text-uppercase text-muted mt-3", text: section.name }));
      menu.appendChild(list);
    });
    renderCart();
  }

  async function signIn() {
    const { status, envelope } = await api("POST", "/api/auth/login", { email: $("email").value, password: $("password").value });
    if (status === 200) {
      keepTokens(envelope.data);
      showError(null);
      renderCart();
    } else {
      showError(envelope.message || "Sign-in failed");
    }
  }

  async function signUp() {
    const { status, envelope } = await api("POST", "/api/auth/register", {
      email: $("signup-email").value, password: $("signup-password").value,
      first_name: $("signup-first").value, last_name: $("signup-last").value,
    });
    if (status === 201) {
      keepTokens(envelope.data);
      showError(null);
      renderCart();
    } else {
      showError(envelope.message || "The account was not created", envelope.errors);
    }
  }

  // A guest: the name and a phone or e-mail become a guest account for this order, signed in at once.
  async function asGuest() {
    const body = { name: $("guest-name").value, phone: $("guest-phone").value };
    if ($("guest-email").value.trim()) body.email = $("guest-email").value.trim();
    const { status, envelope } = await api("POST", "/api/auth/guest", body);
    if (status === 201) {
      keepTokens(envelope.data);
      return true;
    }
    showError(envelope.message || "Please check your details", envelope.errors);
    return false;
  }

  const FIELD_NAMES = { phone: "Phone", email: "E-mail", name: "Name", password: "Password", first_name: "First name", last_name: "Last name" };

  function showError(message, fields) {
    const box = $("order-error");
    box.classList.toggle("d-none", !message);
    const details = fields ? Object.entries(fields).map(([f, problems]) => (FIELD_NAMES[f] || f) + ": " + problems.join(", ")).join("; ") : "";
    box.textContent = message ? message + (details ? " (" + details + ")" : "") : "";
  }

  async function placeOrder() {
    if (!token()) {
      const how = document.querySelector("input[name=who]:checked").value;
      if (how !== "guest") {
        showError(how === "signin" ? "Sign in to order." : "Create the account to order.");
        return;
      }
      if (!(await asGuest())) return;
      renderCart();
    }
    const type = document.querySelector("input[name=order-type]:checked").value;
    const body = {
      venue_id: venueId,
      order_type: type,
      items: Array.from(cart.values()).map(({ item, quantity, note }) => Object.assign(
        { menu_item_id: item.id, quantity },
        note && note.trim() ? { special_request: note.trim() } : {},
      )),
    };
    if (type === "DINE_IN" && table) body.table = table;
    // Closed now: an order ahead, for pickup at the chosen time once it opens.
    const pickup = $("pickup-time");
    if (app.dataset.open !== "true" && pickup) {
      body.order_type = "TAKEOUT";
      body.pickup_time = pickup.value;
      delete body.table;
    }
    idempotencyKey = idempotencyKey || (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    const { status, envelope } = await api("POST", "/api/orders", body, { "Idempotency-Key": idempotencyKey });
    if (status === 401) {
      signOut();
      showError("Please sign in again, or order as a guest.");
      return;
    }
    if (status !== 200 && status !== 201) {
      showError(envelope.message || "The order was not accepted", envelope.errors);
      return;
    }
    const url = new URL(window.location.href);
    url.searchParams.set("order", envelope.data.id);
    history.replaceState(null, "", url);
    follow(envelope.data);
  }

  const STEPS = ["PENDING", "CONFIRMED", "PREPARING", "READY", "COMPLETED"];
  function showStatus(status) {
    $("order-status").textContent = status.charAt(0) + status.slice(1).toLowerCase();
    const steps = $("status-steps");
    steps.replaceChildren();
    const reached = STEPS.indexOf(status);
    (status === "CANCELLED" ? ["PENDING", "CANCELLED"] : STEPS).forEach((step, i) => {
      const done = status === "CANCELLED" ? true : i <= reached;
      steps.appendChild(el("li", { class: done ? "fw-semibold" : "text-muted", text: (done ? "● " : "○ ") + step.charAt(0) + step.slice(1).toLowerCase() }));
    });
    if (status === "COMPLETED" || status === "CANCELLED") $("live-note").textContent = "This order is closed.";
  }

  // The order's receipt: its lines, total and payment, and when the kitchen expects it ready.
  function showOrder(order) {
    showStatus(order.status);
    const eta = $("order-eta");
    if (order.estimated_ready_at) {
      const at = new Date(order.estimated_ready_at);
      eta.textContent = "Ready around " + at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      eta.classList.remove("d-none");
    } else {
      eta.classList.add("d-none");
    }
    const items = $("receipt-items");
    items.replaceChildren();
    for (const item of order.items) {
      const li = el("li", { class: "d-flex justify-content-between" });
      li.appendChild(el("span", { text: item.quantity + " × " + item.name + (item.special_request ? " (" + item.special_request + ")" : "") }));
      li.appendChild(el("span", { text: item.subtotal + " " + order.currency }));
      items.appendChild(li);
    }
    $("receipt-total").textContent = order.total_amount + " " + order.currency;
    const paid = order.payment_status === "PAID" ? "paid" : order.payment_status === "FAILED" ? "payment failed" : "to pay";
    $("receipt-payment").textContent = (order.payment_method === "CASH" ? "Cash, " : order.payment_method ? "Online, " : "") + paid
      + " · ordered " + new Date(order.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    const back = new URL(window.location.href);
    back.searchParams.delete("order");
    $("back-to-menu").href = back.pathname + back.search;
  }

  function follow(order) {
    $("menu-view").classList.add("d-none");
    $("status-view").classList.remove("d-none");
    $("order-ref").textContent = order.id.replace(/-/g, "").slice(-6).toUpperCase();
    showOrder(order);
    const stream = new EventSource("/api/orders/" + order.id + "/stream?access_token=" + encodeURIComponent(token()));
    const refresh = () => api("GET", "/api/orders/" + order.id).then(({ status, envelope }) => {
      if (status === 200) showOrder(envelope.data);
    });
    stream.addEventListener("order", (event) => { showStatus(JSON.parse(event.data).status); refresh(); });
    // The browser reconnects by itself; read the current state meanwhile so nothing is missed.
    stream.addEventListener("error", refresh);
    // The server's live updates can pause (its message bus is down): say so, and read the state again
    // when they are back.
    stream.addEventListener("connection", (event) => {
      const live = JSON.parse(event.data).live;
      $("live-note").textContent = live
        ? "Updates appear here as the kitchen works."
        : "Live updates are paused; this page checks for changes every few seconds.";
      clearInterval(follow.poll);
      if (live) refresh();
      else follow.poll = setInterval(refresh, 5000);
    });
  }

  $("place-order").addEventListener("click", placeOrder);
  $("signin-button").addEventListener("click", signIn);
  $("signup-button").addEventListener("click", signUp);
  $("signout").addEventListener("click", (e) => { e.preventDefault(); signOut(); });
  document.querySelectorAll("input[name=who]").forEach((radio) => radio.addEventListener("change", () => {
    document.querySelectorAll("[data-who]").forEach((part) => part.classList.toggle("d-none", part.dataset.who !== radio.value));
    showError(null);
  }));
  const existing = new URL(window.location.href).searchParams.get("order");
  if (existing && token()) {
    api("GET", "/api/orders/" + encodeURIComponent(existing)).then(({ status, envelope }) => {
      if (status === 200) follow(envelope.data);
      else loadMenu();
    });
  } else {
    loadMenu();
  }
})();
