// The kitchen display: draws the open tickets of one station (or all) from
// /venues/{id}/kitchen/tickets, redraws on every change the venue's kitchen stream announces, ticks
// ages every second, and sends staff actions (tap, number keys) with the page's CSRF token.
(function () {
  "use strict";
  const root = document.getElementById("kitchen");
  if (!root) return;
  const venue = root.dataset.venue;
  const station = root.dataset.station;
  const csrf = root.dataset.csrf;
  const live = document.getElementById("kitchen-live");
  const errorBox = document.getElementById("kitchen-error");
  let tickets = [];
  let skew = 0; // server clock minus ours, in ms
  const query = station ? "?station=" + encodeURIComponent(station) : "";

  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.toggle("d-none", !message);
  }

  async function readJson(response) {
    const type = response.headers.get("content-type") || "";
    if (response.redirected || !type.includes("application/json")) {
      throw new Error("Your session has ended: sign in again (this page keeps working once you do).");
    }
    const body = await response.json();
    if (!response.ok || body.success === false) {
      throw new Error(body.message || "The kitchen could not be reached.");
    }
    return body;
  }

  async function load() {
    try {
      const body = await readJson(await fetch("/venues/" + venue + "/kitchen/tickets" + query, {
        headers: { accept: "application/json" },
        credentials: "same-origin",
      }));
      skew = new Date(body.now).getTime() - Date.now();
      tickets = body.tickets;
      showError("");
      draw();
    } catch (err) {
      showError(err.message);
    }
  }

  async function send(path, body) {
    try {
      await readJson(await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf, accept: "application/json" },
        body: JSON.stringify(body || {}),
      }));
      showError("");
    } catch (err) {
      showError(err.message);
    }
    await load();
  }

  function act(lineId, action, body) {
    return send("/venues/" + venue + "/kitchen/lines/" + lineId + "/" + action, body);
  }

  function minutes(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const m = Math.floor(total / 60);
    const s = String(total % 60).padStart(2, "0");
    return m + ":" + s;
  }

  // Late once past its due time (the predicted prep time, else the station's target); due in its last
  // quarter.
  function ageClass(ticket) {
    const start = new Date(ticket.queued_at).getTime();
    const age = Date.now() + skew - start;
    const span = Math.max(60000, new Date(ticket.due_at).getTime() - start);
    if (age > span) return "late";
    if (age > 0.75 * span) return "due";
    return "ontime";
  }

  function text(tag, className, value) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = value;
    return el;
  }

  function draw() {
    root.replaceChildren();
    if (tickets.length === 0) {
      root.appendChild(text("p", "text-muted fs-5", "No open tickets. New orders appear here as soon as they are confirmed."));
      return;
    }
    tickets.forEach((ticket, index) => {
      const col = document.createElement("div");
      col.className = "col-12 col-sm-6 col-lg-4 col-xxl-3";
      const card = document.createElement("div");
      card.className = "card kitchen-ticket h-100 " + ageClass(ticket);
      card.dataset.testid = "ticket";
      card.dataset.order = ticket.order_id;
      const header = document.createElement("div");
      header.className = "card-header d-flex justify-content-between align-items-center";
      const where = ticket.table_label ? "Table " + ticket.table_label
        : ticket.pickup_time ? "Pickup " + new Date(ticket.pickup_time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        : ticket.order_type.replace("_", " ").toLowerCase();
      header.appendChild(text("span", "fw-bold fs-5", (index < 9 ? (index + 1) + " · " : "") + where));
      const age = text("span", "kitchen-age fs-5", "");
      age.dataset.queued = ticket.queued_at;
      age.title = "Due " + new Date(ticket.due_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + (ticket.due_from === "model" ? " (predicted prep time)" : " (station target)");
      header.appendChild(age);
      card.appendChild(header);
      // Lines are buttons (tap or Enter to act), so the list is a group of them rather than a <ul>.
      const list = document.createElement("div");
      list.className = "list-group list-group-flush";
      for (const line of ticket.lines) {
        const item = document.createElement("div");
        item.className = "list-group-item kitchen-line d-flex align-items-start gap-2 " + line.state;
        item.dataset.testid = "ticket-line";
        item.dataset.state = line.state;
        item.tabIndex = 0;
        item.setAttribute("role", "button");
        const label = document.createElement("div");
        label.className = "flex-grow-1";
        label.appendChild(text("div", "fs-5", line.quantity + " × " + line.name));
        if (line.note) label.appendChild(text("div", "text-danger small fw-semibold", line.note));
        if (!station) label.appendChild(text("div", "text-muted small", line.station_name));
        item.appendChild(label);
        const badge = { queued: "Start", started: "Bump", ready: "Ready" }[line.state] || line.state;
        item.appendChild(text("span", "badge fs-6 " + (line.state === "ready" ? "text-bg-success" : line.state === "started" ? "text-bg-warning" : "text-bg-secondary"), badge));
        const tap = () => {
          if (line.state === "queued") act(line.id, "start");
          else if (line.state === "started") act(line.id, "bump");
          else if (line.state === "ready") act(line.id, "recall");
        };
        item.addEventListener("click", tap);
        item.addEventListener("keydown", (e) => { if (e.key === "Enter") tap(); });
        list.appendChild(item);
      }
      card.appendChild(list);
      if (ticket.order_note) {
        card.appendChild(text("div", "card-footer small", "Note: " + ticket.order_note));
      }
      const footer = document.createElement("div");
      footer.className = "card-footer d-flex gap-2";
      const bumpAll = text("button", "btn btn-success flex-grow-1", "Bump " + (index < 9 ? "(" + (index + 1) + ")" : ""));
      bumpAll.type = "button";
      bumpAll.dataset.testid = "bump-ticket";
      bumpAll.addEventListener("click", () => bumpTicket(index));
      footer.appendChild(bumpAll);
      card.appendChild(footer);
      col.appendChild(card);
      root.appendChild(col);
    });
    tick();
  }

  async function bumpTicket(index) {
    const ticket = tickets[index];
    if (!ticket) return;
    for (const line of ticket.lines) {
      if (line.state === "queued" || line.state === "started") {
        await act(line.id, "bump");
      }
    }
  }

  async function startTicket(index) {
    const ticket = tickets[index];
    if (!ticket) return;
    for (const line of ticket.lines) {
      if (line.state === "queued") await act(line.id, "start");
    }
  }

  function tick() {
    const now = Date.now() + skew;
    root.querySelectorAll(".kitchen-age").forEach((el) => {
      el.textContent = minutes(now - new Date(el.dataset.queued).getTime());
    });
    root.querySelectorAll(".kitchen-ticket").forEach((card, i) => {
      if (!tickets[i]) return;
      card.classList.remove("ontime", "due", "late");
      card.classList.add(ageClass(tickets[i]));
    });
  }

  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement) return;
    const digit = e.code && e.code.startsWith("Digit") ? Number(e.code.slice(5)) : NaN;
    if (digit >= 1 && digit <= 9) {
      e.preventDefault();
      if (e.shiftKey) startTicket(digit - 1); else bumpTicket(digit - 1);
    } else if (digit === 0 && station) {
      e.preventDefault();
      send("/venues/" + venue + "/kitchen/stations/" + station + "/recall-last");
    }
  });

  function connect() {
    const source = new EventSource("/venues/" + venue + "/kitchen/events");
    source.addEventListener("ready", () => { live.textContent = "live"; live.className = "badge text-bg-success fs-6"; load(); });
    source.addEventListener("kitchen", () => load());
    source.addEventListener("connection", (e) => {
      const up = JSON.parse(e.data).live;
      live.textContent = up ? "live" : "other tills not heard";
      live.className = "badge fs-6 " + (up ? "text-bg-success" : "text-bg-warning");
      if (up) load();
    });
    source.onerror = () => { live.textContent = "reconnecting…"; live.className = "badge text-bg-warning fs-6"; };
  }

  load();
  connect();
  setInterval(tick, 1000);
  setInterval(load, 30000);
})();
