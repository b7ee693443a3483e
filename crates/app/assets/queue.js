// The order queue: today's orders of the venue from /venues/{id}/orders/today, redrawn on each change the
// venue's order stream announces; a chime (once the user turns sound on: browsers need a gesture) and a
// badge count for orders waiting to be accepted; accept, advance, cancel with a reason and mark cash paid.
(function () {
  "use strict";
  const root = document.getElementById("queue");
  if (!root) return;
  const venue = root.dataset.venue;
  const csrf = root.dataset.csrf;
  const live = document.getElementById("queue-live");
  const badge = document.getElementById("queue-badge");
  const errorBox = document.getElementById("queue-error");
  const filter = document.getElementById("queue-filter");
  const soundButton = document.getElementById("queue-sound");
  const baseTitle = document.title;
  let known = null; // ids of PENDING orders seen so far
  let audio = null;
  let cancelling = null;

  const labels = { PENDING: "Waiting", CONFIRMED: "Accepted", PREPARING: "Preparing", READY: "Ready", COMPLETED: "Completed", CANCELLED: "Cancelled" };
  const actions = { CONFIRMED: "Accept", PREPARING: "Start preparing", READY: "Mark ready", COMPLETED: "Complete" };
  const colours = { PENDING: "danger", CONFIRMED: "primary", PREPARING: "warning", READY: "success", COMPLETED: "secondary", CANCELLED: "dark" };

  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.toggle("d-none", !message);
  }

  async function readJson(response) {
    const type = response.headers.get("content-type") || "";
    if (response.redirected || !type.includes("application/json")) {
      throw new Error("Your session has ended: sign in again in another tab, then come back.");
    }
    const body = await response.json();
    if (!response.ok || body.success === false) throw new Error(body.message || "The venue could not be reached.");
    return body;
  }

  function chime() {
    if (!audio) return;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  }

  soundButton.addEventListener("click", () => {
    if (audio) { audio.close(); audio = null; soundButton.textContent = "Turn sound on"; return; }
    audio = new AudioContext();
    soundButton.textContent = "Sound on";
    chime();
  });

  function params() {
    const data = new FormData(filter);
    const q = new URLSearchParams();
    for (const [k, v] of data) if (v) q.set(k, v);
    q.set("status", data.get("status"));
    return q.toString();
  }

  async function load() {
    try {
      const body = await readJson(await fetch("/venues/" + venue + "/orders/today?" + params(), { credentials: "same-origin", headers: { accept: "application/json" } }));
      showError("");
      const pendingIds = body.orders.filter((o) => o.status === "PENDING").map((o) => o.id);
      if (known !== null && pendingIds.some((id) => !known.has(id))) chime();
      known = new Set([...(known || []), ...pendingIds]);
      badge.textContent = body.pending ? body.pending + " waiting" : "";
      badge.classList.toggle("d-none", !body.pending);
      document.title = (body.pending ? "(" + body.pending + ") " : "") + baseTitle;
      draw(body.orders);
    } catch (err) {
      showError(err.message);
    }
  }

  async function post(path, body) {
    try {
      await readJson(await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf, accept: "application/json" },
        body: JSON.stringify(body || {}),
      }));
      showError("");
    } catch (err) {
      showError(err.message);
    }
    await load();
  }

  const el = (tag, className, text) => { const e = document.createElement(tag); if (className) e.className = className; if (text !== undefined) e.textContent = text; return e; };

  function draw(orders) {
    root.replaceChildren();
    if (orders.length === 0) {
      root.appendChild(el("p", "text-muted fs-5", "No orders match. New orders appear here as they are placed."));
      return;
    }
    for (const order of orders) {
      const col = el("div", "col-12 col-md-6 col-xl-4");
      const card = el("div", "card h-100 border-" + colours[order.status]);
      card.dataset.testid = "queue-order";
      card.dataset.order = order.id;
      const head = el("div", "card-header d-flex justify-content-between align-items-center");
      const where = order.table ? "Table " + order.table : order.pickup_time ? "Pickup " + new Date(order.pickup_time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : order.order_type.replace("_", " ").toLowerCase();
      head.appendChild(el("span", "fw-bold", "#" + order.short_id + " · " + where));
      const status = el("span", "badge text-bg-" + colours[order.status], labels[order.status] || order.status);
      status.dataset.testid = "queue-status";
      head.appendChild(status);
      card.appendChild(head);
      const body = el("div", "card-body");
      const list = el("ul", "list-unstyled mb-2");
      for (const item of order.items) {
        const li = el("li", "", item.quantity + " × " + item.name);
        if (item.special_request) li.appendChild(el("div", "small text-danger", item.special_request));
        list.appendChild(li);
      }
      body.appendChild(list);
      if (order.note) body.appendChild(el("p", "small mb-2", "Note: " + order.note));
      if (order.customer) {
        // Who to call out or ring: a guest's name and phone, or the account's.
        const who = el("div", "small mb-1");
        who.dataset.testid = "queue-customer";
        who.appendChild(el("span", "fw-semibold", order.customer.name || "Customer"));
        if (order.customer.guest) who.appendChild(el("span", "badge text-bg-light border ms-1", "guest"));
        if (order.customer.phone) {
          const tel = el("a", "ms-2", order.customer.phone);
          tel.href = "tel:" + order.customer.phone.replace(/[^+0-9]/g, "");
          who.appendChild(tel);
        } else if (order.customer.email) {
          const mail = el("a", "ms-2", order.customer.email);
          mail.href = "mailto:" + order.customer.email;
          who.appendChild(mail);
        }
        body.appendChild(who);
      }
      const paid = order.payment_status === "PAID";
      body.appendChild(el("div", "small text-muted", new Date(order.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + " · " + order.total_amount + " " + order.currency + " · " + (order.payment_method || "") + " " + (paid ? "paid" : order.payment_status.toLowerCase())));
      card.appendChild(body);
      const foot = el("div", "card-footer d-flex flex-wrap gap-2");
      for (const next of order.next) {
        const b = el("button", "btn btn-" + (next === "CONFIRMED" ? "primary" : "success") + " flex-grow-1", actions[next] || next);
        b.type = "button";
        b.dataset.testid = "queue-advance";
        b.addEventListener("click", () => post("/venues/" + venue + "/orders/" + order.id + "/status", { status: next }));
        foot.appendChild(b);
      }
      if (order.can_mark_paid) {
        const b = el("button", "btn btn-outline-success", "Cash paid");
        b.type = "button";
        b.dataset.testid = "queue-paid";
        b.addEventListener("click", () => post("/venues/" + venue + "/orders/" + order.id + "/paid"));
        foot.appendChild(b);
      }
      if (order.can_cancel) {
        const b = el("button", "btn btn-outline-danger", "Cancel");
        b.type = "button";
        b.dataset.testid = "queue-cancel";
        b.addEventListener("click", () => { cancelling = order.id; document.getElementById("cancel-reason").value = ""; bootstrap.Modal.getOrCreateInstance(document.getElementById("cancel-dialog")).show(); });
        foot.appendChild(b);
      }
      if (foot.childElementCount) card.appendChild(foot);
      col.appendChild(card);
      root.appendChild(col);
    }
  }

  document.getElementById("cancel-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const reason = document.getElementById("cancel-reason").value.trim();
    if (!reason || !cancelling) return;
    bootstrap.Modal.getOrCreateInstance(document.getElementById("cancel-dialog")).hide();
    post("/venues/" + venue + "/orders/" + cancelling + "/status", { status: "CANCELLED", note: reason });
    cancelling = null;
  });

  filter.addEventListener("change", load);
  filter.addEventListener("input", (e) => { if (e.target.id === "table") load(); });
  filter.addEventListener("submit", (e) => { e.preventDefault(); load(); });

  const source = new EventSource("/venues/" + venue + "/orders/events");
  source.addEventListener("ready", () => { live.textContent = "live"; live.className = "badge text-bg-success fs-6"; load(); });
  source.addEventListener("order", () => load());
  source.addEventListener("connection", (e) => {
    const up = JSON.parse(e.data).live;
    live.textContent = up ? "live" : "other tills not heard";
    live.className = "badge fs-6 " + (up ? "text-bg-success" : "text-bg-warning");
    if (up) load();
  });
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = "badge text-bg-warning fs-6"; };
  load();
  setInterval(load, 30000);
})();
