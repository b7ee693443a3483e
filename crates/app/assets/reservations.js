// Brigade's reservation book: one local day of a venue's bookings by time with party size and guest,
// the covers booked per start against the capacity its time slots allow, the next days' bookings, and
// the weekly time slots. The team seats, completes, marks no-shows and cancels; managers edit the slots.
// Everything goes through the REST API with the session and the page's CSRF token.
(function () {
  "use strict";
  const book = document.getElementById("book");
  if (!book) return;
  const venue = book.dataset.venue;
  const csrf = book.dataset.csrf;
  const manage = book.dataset.manage === "true";
  const dayInput = document.getElementById("day");
  const statusBox = document.getElementById("book-status");
  const DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
  const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const LABELS = { PENDING: "Pending", CONFIRMED: "Confirmed", SEATED: "Seated", COMPLETED: "Completed", CANCELLED: "Cancelled", NO_SHOW: "No-show" };
  const COLOURS = { PENDING: "warning", CONFIRMED: "primary", SEATED: "success", COMPLETED: "secondary", CANCELLED: "light", NO_SHOW: "danger" };
  let slots = [];

  const { el } = window.BrigadeTeam;
  const { api, say } = window.BrigadeTeam.page(csrf, statusBox);

  const hhmm = (t) => t.slice(0, 5);
  const count = (n, one, many) => n + " " + (n === 1 ? one : many);
  const minutes = (t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  const asTime = (m) => String(Math.floor(m / 60) % 24).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
  // 0 = Monday, as the API counts.
  const weekday = (date) => (new Date(date + "T12:00:00Z").getUTCDay() + 6) % 7;
  const shift = (date, days) => {
    const d = new Date(date + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  };

  async function all(date) {
    const out = [];
    for (let page = 1; page <= 20; page++) {
      const reply = await api("GET", `/api/venues/${venue}/reservations?date=${date}&per_page=100&page=${page}`);
      out.push(...reply.data.items);
      if (out.length >= reply.data.pagination.total || reply.data.items.length === 0) break;
    }
    return out;
  }

  const ACTIONS = {
    PENDING: [["CONFIRMED", "Confirm"], ["SEATED", "Seat"], ["NO_SHOW", "No-show"], ["CANCELLED", "Cancel"]],
    CONFIRMED: [["SEATED", "Seat"], ["NO_SHOW", "No-show"], ["CANCELLED", "Cancel"]],
    SEATED: [["COMPLETED", "Complete"], ["CANCELLED", "Cancel"]],
  };

  function row(r) {
    const li = el("li", { class: "list-group-item", "data-testid": "booking", "data-status": r.status });
    const top = el("div", { class: "d-flex flex-wrap align-items-center gap-2" });
    top.appendChild(el("span", { class: "fs-5 fw-semibold", style: "min-width: 3.2em", text: hhmm(r.time_slot) }));
    const who = r.guest ? r.guest.name || "Guest" : "Guest";
    top.appendChild(el("span", { class: "fw-semibold", text: who }));
    top.appendChild(el("span", { class: "badge text-bg-light border", text: r.party_size + (r.party_size === 1 ? " guest" : " guests") }));
    top.appendChild(el("span", { class: "badge text-bg-" + COLOURS[r.status], "data-testid": "booking-status", text: LABELS[r.status] || r.status }));
    if (r.guest && r.guest.phone) top.appendChild(el("a", { href: "tel:" + r.guest.phone.replace(/[^+0-9]/g, ""), class: "small", text: r.guest.phone }));
    else if (r.guest && r.guest.email) top.appendChild(el("a", { href: "mailto:" + r.guest.email, class: "small", text: r.guest.email }));
    const actions = el("div", { class: "ms-auto d-flex flex-wrap gap-1" });
    (ACTIONS[r.status] || []).forEach(([status, label]) => {
      actions.appendChild(el("button", {
        class: "btn btn-sm " + (status === "CANCELLED" || status === "NO_SHOW" ? "btn-outline-danger" : "btn-outline-primary"), type: "button", text: label,
        onclick: async () => {
          if (status === "CANCELLED" && !confirm("Cancel " + who + "'s booking at " + hhmm(r.time_slot) + "?")) return;
          try {
            await api("PUT", `/api/reservations/${r.id}`, { status });
            say(who + ": " + LABELS[status].toLowerCase() + ".");
            load();
          } catch (_) { load(); }
        },
      }));
    });
    top.appendChild(actions);
    li.appendChild(top);
    const extra = [r.table_preference && "Table: " + r.table_preference, r.note && "Note: " + r.note].filter(Boolean).join(" · ");
    if (extra) li.appendChild(el("div", { class: "small text-muted mt-1", text: extra }));
    return li;
  }

  // Starts of the day's windows (a window past midnight keeps going into the next day).
  function startsOf(date) {
    const day = weekday(date);
    const out = [];
    slots.filter((s) => s.weekday === day).forEach((s) => {
      let from = minutes(s.start_time);
      let to = minutes(s.end_time);
      if (to <= from) to += 24 * 60;
      for (let m = from; m < to; m += Math.max(5, s.interval_minutes)) out.push({ time: asTime(m), max: s.max_reservations, covers: s.max_covers });
    });
    return out.sort((a, b) => a.time.localeCompare(b.time));
  }

  function drawCovers(date, reservations) {
    const list = document.getElementById("covers");
    list.replaceChildren();
    const live = reservations.filter((r) => ["PENDING", "CONFIRMED", "SEATED", "COMPLETED"].includes(r.status));
    const starts = startsOf(date);
    if (starts.length === 0) {
      list.appendChild(el("li", { class: "list-group-item small text-muted", text: "No time slots on " + DAY_NAMES[weekday(date)] + "s." }));
      return;
    }
    starts.forEach((s) => {
      const here = live.filter((r) => hhmm(r.time_slot) === s.time);
      const covers = here.reduce((n, r) => n + r.party_size, 0);
      const cap = s.covers || null;
      const share = cap ? Math.min(100, Math.round((covers / cap) * 100)) : Math.min(100, Math.round((here.length / s.max) * 100));
      const li = el("li", { class: "list-group-item py-1", "data-testid": "covers-row", "data-time": s.time });
      li.appendChild(el("div", { class: "d-flex justify-content-between small" }, [
        el("span", { class: "fw-semibold", text: s.time }),
        el("span", { text: covers + " / " + (cap ? cap : "any") + " guests · " + here.length + " / " + s.max + " bookings" }),
      ]));
      const bar = el("div", { class: "progress", style: "height: 6px", role: "progressbar", "aria-label": "Covers at " + s.time, "aria-valuenow": String(share), "aria-valuemin": "0", "aria-valuemax": "100" });
      bar.appendChild(el("div", { class: "progress-bar " + (share >= 100 ? "bg-danger" : share >= 75 ? "bg-warning" : "bg-success"), style: "width: " + share + "%" }));
      li.appendChild(bar);
      list.appendChild(li);
    });
  }

  async function drawUpcoming(date) {
    const list = document.getElementById("upcoming");
    list.replaceChildren();
    for (let d = 1; d <= 6; d++) {
      const day = shift(date, d);
      const rs = (await all(day)).filter((r) => ["PENDING", "CONFIRMED"].includes(r.status));
      if (rs.length === 0) continue;
      const covers = rs.reduce((n, r) => n + r.party_size, 0);
      const li = el("li", { class: "list-group-item d-flex justify-content-between small" });
      const link = el("a", { href: "#", text: new Date(day + "T12:00:00Z").toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" }) });
      link.addEventListener("click", (e) => { e.preventDefault(); dayInput.value = day; load(); });
      li.appendChild(link);
      li.appendChild(el("span", { text: count(rs.length, "booking", "bookings") + " · " + count(covers, "guest", "guests") }));
      list.appendChild(li);
    }
    if (!list.children.length) list.appendChild(el("li", { class: "list-group-item small text-muted", text: "Nothing booked in the next six days." }));
  }

  function drawSlots() {
    const body = document.getElementById("slots");
    body.replaceChildren();
    if (slots.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "7", class: "text-muted small", text: "No time slots: guests cannot book yet." })]));
    slots.slice().sort((a, b) => a.weekday - b.weekday || a.start_time.localeCompare(b.start_time)).forEach((s) => {
      const tr = el("tr", { "data-testid": "slot" });
      const field = (type, value, key, attrs) => {
        const input = el("input", Object.assign({ class: "form-control form-control-sm", type, value: value === null || value === undefined ? "" : String(value), readonly: !manage, "aria-label": key.replace(/_/g, " ") + " of " + DAY_NAMES[s.weekday] + " " + hhmm(s.start_time) }, attrs || {}));
        input.addEventListener("change", async () => {
          const v = type === "number" ? (input.value === "" ? null : Number(input.value)) : input.value;
          try {
            await api("PUT", `/api/venues/${venue}/time-slots/${s.id}`, { [key]: v });
            say("Time slot saved.");
          } catch (_) { /* said */ }
          load();
        });
        return el("td", {}, [input]);
      };
      tr.appendChild(el("td", { text: DAY_NAMES[s.weekday] }));
      tr.appendChild(field("time", hhmm(s.start_time), "start_time"));
      tr.appendChild(field("time", hhmm(s.end_time), "end_time"));
      tr.appendChild(field("number", s.interval_minutes, "interval_minutes", { min: "5", max: "240", style: "width: 5em" }));
      tr.appendChild(field("number", s.max_reservations, "max_reservations", { min: "1", style: "width: 5em" }));
      tr.appendChild(field("number", s.max_covers, "max_covers", { min: "1", style: "width: 5em", placeholder: "any" }));
      const cell = el("td", { class: "text-end" });
      if (manage) cell.appendChild(el("button", {
        class: "btn btn-sm btn-outline-danger", type: "button", text: "Remove",
        onclick: async () => {
          if (!confirm("Remove the " + DAY_NAMES[s.weekday] + " " + hhmm(s.start_time) + " window? Existing bookings stay.")) return;
          try { await api("DELETE", `/api/venues/${venue}/time-slots/${s.id}`); say("Time slot removed."); } catch (_) { /* said */ }
          load();
        },
      }));
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  async function load() {
    const date = dayInput.value;
    try {
      const [weekly, reservations] = await Promise.all([api("GET", `/api/venues/${venue}/time-slots/weekly`), all(date)]);
      slots = weekly.data;
      book.replaceChildren();
      const live = reservations.filter((r) => r.status !== "CANCELLED");
      document.getElementById("book-title").textContent = new Date(date + "T12:00:00Z").toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });
      document.getElementById("book-summary").textContent = count(live.length, "booking", "bookings") + " · " + count(live.reduce((n, r) => n + r.party_size, 0), "guest", "guests");
      if (reservations.length === 0) book.appendChild(el("li", { class: "list-group-item text-muted", text: "No bookings on this day." }));
      reservations.forEach((r) => book.appendChild(row(r)));
      drawCovers(date, reservations);
      drawSlots();
      drawUpcoming(date);
    } catch (_) { /* said */ }
  }

  // Live: a booking made, moved or closed anywhere (a guest's phone, another tablet, another process)
  // redraws the book.
  let redraw = null;
  const stream = new EventSource(`/venues/${venue}/reservations/events`);
  stream.addEventListener("reservation", () => {
    clearTimeout(redraw);
    redraw = setTimeout(load, 300);
  });
  stream.addEventListener("ready", () => document.getElementById("book-live").classList.replace("text-bg-secondary", "text-bg-success"));
  stream.addEventListener("error", () => document.getElementById("book-live").classList.replace("text-bg-success", "text-bg-secondary"));
  dayInput.addEventListener("change", load);
  document.getElementById("day-prev").addEventListener("click", () => { dayInput.value = shift(dayInput.value, -1); load(); });
  document.getElementById("day-next").addEventListener("click", () => { dayInput.value = shift(dayInput.value, 1); load(); });
  document.getElementById("day-today").addEventListener("click", (e) => { dayInput.value = e.target.dataset.today; load(); });
  const add = document.getElementById("add-slot");
  if (add) {
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      const covers = document.getElementById("slot-covers").value;
      try {
        await api("POST", `/api/venues/${venue}/time-slots`, {
          weekday: document.getElementById("slot-day").value,
          start_time: document.getElementById("slot-start").value,
          end_time: document.getElementById("slot-end").value,
          interval_minutes: Number(document.getElementById("slot-every").value),
          max_reservations: Number(document.getElementById("slot-max").value),
          max_covers: covers === "" ? null : Number(covers),
        });
        say("Time slot added.");
        load();
      } catch (_) { /* said; the form keeps its values */ }
    });
  }
  load();
})();
