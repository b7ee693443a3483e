// Brigade's menu editor: categories and items of one venue, drawn from the REST API and changed through
// it (the session and the page's CSRF token authenticate the calls). Managers rename, reprice, upload
// photos, route items to stations and drag to reorder (SortableJS, which also works with touch on a
// tablet); every team member can mark an item sold out or "86" it until tomorrow.
(function () {
  "use strict";
  const root = document.getElementById("menu-editor");
  if (!root) return;
  const venue = root.dataset.venue;
  const csrf = root.dataset.csrf;
  const manage = root.dataset.manage === "true";
  const statusBox = document.getElementById("menu-status");
  let stations = [];
  let routes = [];

  const { el } = window.BrigadeTeam;
  const { api, say } = window.BrigadeTeam.page(csrf, statusBox);

  function stationSelect(current, label, onChange, inheritLabel) {
    const select = el("select", { class: "form-select form-select-sm", "aria-label": label, disabled: !manage });
    select.appendChild(el("option", { value: "", text: inheritLabel }));
    stations.forEach((s) => select.appendChild(el("option", { value: s.id, text: s.name, selected: s.id === current })));
    select.addEventListener("change", () => onChange(select.value || null));
    return select;
  }

  const routeOf = (key, id) => (routes.find((r) => r[key] === id) || {}).station_id || null;

  function until(item) {
    if (!item.unavailable_until) return "";
    return "86 until " + new Date(item.unavailable_until).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
  }

  function itemRow(item) {
    const row = el("li", { class: "list-group-item menu-item", "data-testid": "menu-item", "data-item": item.name, "data-id": item.id });
    const line = el("div", { class: "d-flex flex-wrap align-items-center gap-2" });
    if (manage) line.appendChild(el("span", { class: "drag-handle text-muted fs-5", title: "Drag to reorder", "aria-hidden": "true", text: "⠿" }));
    // The photo: click to upload a new one.
    const photo = el("label", { class: "menu-photo", title: manage ? "Upload a photo" : "" });
    photo.appendChild(item.image_url ? el("img", { src: item.image_url, alt: item.name, width: "56", height: "56" }) : el("span", { class: "menu-photo-empty small text-muted", text: manage ? "Photo" : "" }));
    if (manage) {
      const file = el("input", { type: "file", accept: "image/png,image/jpeg,image/webp,image/gif", class: "d-none", "aria-label": "Photo of " + item.name });
      file.addEventListener("change", async () => {
        if (!file.files.length) return;
        const form = new FormData();
        form.append("file", file.files[0]);
        try {
          await api("POST", `/api/venues/${venue}/menu/items/${item.id}/image`, form);
          say("Photo saved for " + item.name + ".");
          load();
        } catch (_) { /* said */ }
      });
      photo.appendChild(file);
    }
    line.appendChild(photo);
    const name = el("input", { class: "form-control form-control-sm flex-grow-1", style: "min-width: 10em; max-width: 22em", value: item.name, maxlength: "150", "aria-label": "Name of " + item.name, readonly: !manage });
    name.addEventListener("change", () => save(item, { name: name.value }, "Renamed to " + name.value + "."));
    line.appendChild(name);
    const price = el("input", { class: "form-control form-control-sm text-end", style: "width: 6.5em", value: item.price, inputmode: "decimal", "aria-label": "Price of " + item.name, readonly: !manage });
    price.addEventListener("change", () => save(item, { price: price.value.trim() }, item.name + " now costs " + price.value.trim() + " " + root.dataset.currency + "."));
    line.appendChild(el("div", { class: "input-group input-group-sm", style: "width: auto" }, [price, el("span", { class: "input-group-text", text: root.dataset.currency })]));
    const station = stationSelect(routeOf("menu_item_id", item.id), "Station of " + item.name, async (id) => {
      try {
        await api("PUT", `/api/venues/${venue}/station-routes`, { menu_item_id: item.id, station_id: id });
        say(item.name + (id ? " now goes to " + stations.find((s) => s.id === id).name + "." : " follows its category's station."));
        load();
      } catch (_) { /* said */ }
    }, "Category's station");
    station.style.width = "auto";
    line.appendChild(station);
    // Availability: the switch (sold out until switched back) and "86 until tomorrow".
    const available = el("input", { class: "form-check-input", type: "checkbox", role: "switch", id: "avail-" + item.id, checked: item.is_available, "aria-label": "Available: " + item.name });
    available.addEventListener("change", () => save(item, { is_available: available.checked }, item.name + (available.checked ? " is back on the menu." : " is marked sold out.")));
    line.appendChild(el("div", { class: "form-check form-switch mb-0" }, [available, el("label", { class: "form-check-label small", for: "avail-" + item.id, text: item.is_available ? "On" : item.unavailable_until ? until(item) : "Sold out" })]));
    const eightySixed = !!item.unavailable_until;
    line.appendChild(el("button", {
      class: "btn btn-sm " + (eightySixed ? "btn-outline-success" : "btn-outline-danger"), type: "button", "data-testid": "eighty-six",
      text: eightySixed ? "Back now" : "86 until tomorrow",
      onclick: async () => {
        try {
          const reply = await api("POST", `/api/venues/${venue}/menu/items/${item.id}/eighty-six`, { until_tomorrow: !eightySixed });
          say(item.name + ": " + (reply.data.unavailable_until ? until(reply.data) : "back on the menu") + ".");
          load();
        } catch (_) { /* said */ }
      },
    }));
    if (manage) {
      line.appendChild(el("button", {
        class: "btn btn-sm btn-link text-danger ms-auto", type: "button", text: "Delete", "aria-label": "Delete " + item.name,
        onclick: async () => {
          if (!confirm("Delete " + item.name + " from the menu? Past orders keep their lines.")) return;
          try {
            await api("DELETE", `/api/venues/${venue}/menu/items/${item.id}`);
            say(item.name + " deleted.");
          } catch (_) { /* said */ }
          load();
        },
      }));
    }
    row.appendChild(line);
    return row;
  }

  async function save(item, change, message) {
    try {
      await api("PUT", `/api/venues/${venue}/menu/items/${item.id}`, change);
      say(message);
    } catch (_) { /* said */ }
    load();
  }

  function categoryCard(section) {
    const card = el("div", { class: "card mb-3 menu-category", "data-testid": "menu-category", "data-id": section.id, "data-category": section.name });
    const head = el("div", { class: "card-header d-flex flex-wrap align-items-center gap-2" });
    if (manage) head.appendChild(el("span", { class: "drag-handle category-handle text-muted fs-5", title: "Drag to reorder", "aria-hidden": "true", text: "⠿" }));
    const name = el("input", { class: "form-control form-control-sm fw-semibold", style: "max-width: 16em", value: section.name, maxlength: "100", "aria-label": "Category name", readonly: !manage });
    name.addEventListener("change", async () => {
      try {
        await api("PUT", `/api/venues/${venue}/menu/categories/${section.id}`, { name: name.value });
        say("Category renamed to " + name.value + ".");
      } catch (_) { /* said */ }
      load();
    });
    head.appendChild(name);
    head.appendChild(el("span", { class: "small text-muted ms-auto", text: "Station" }));
    const station = stationSelect(routeOf("category_id", section.id), "Station of " + section.name, async (id) => {
      try {
        await api("PUT", `/api/venues/${venue}/station-routes`, { category_id: section.id, station_id: id });
        say(section.name + (id ? " goes to " + stations.find((s) => s.id === id).name + "." : " goes to the default station."));
        load();
      } catch (_) { /* said */ }
    }, "Default station");
    station.style.width = "auto";
    head.appendChild(station);
    card.appendChild(head);
    const list = el("ul", { class: "list-group list-group-flush menu-items", "data-category": section.id });
    section.items.forEach((item) => list.appendChild(itemRow(item)));
    card.appendChild(list);
    if (manage) {
      const add = el("form", { class: "card-footer d-flex flex-wrap gap-2", "data-testid": "add-item" });
      const n = el("input", { class: "form-control form-control-sm", style: "max-width: 16em", placeholder: "New item", maxlength: "150", required: true, "aria-label": "New item in " + section.name });
      const p = el("input", { class: "form-control form-control-sm", style: "max-width: 7em", placeholder: "Price", inputmode: "decimal", required: true, "aria-label": "Price of the new item in " + section.name });
      add.appendChild(n);
      add.appendChild(p);
      add.appendChild(el("button", { class: "btn btn-sm btn-outline-primary", type: "submit", text: "Add item" }));
      add.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          await api("POST", `/api/venues/${venue}/menu/items`, { category_id: section.id, name: n.value, price: p.value.trim(), display_order: section.items.length });
          say(n.value + " added to " + section.name + ".");
          load();
        } catch (_) { /* said; the typed values stay */ }
      });
      card.appendChild(add);
    }
    return card;
  }

  // The order on screen, sent in one call after every drag.
  async function saveOrder() {
    const categories = Array.from(root.querySelectorAll(".menu-category"));
    const body = {
      category_ids: categories.map((c) => c.dataset.id),
      items: categories.map((c) => ({
        category_id: c.dataset.id,
        item_ids: Array.from(c.querySelectorAll(".menu-item")).map((i) => i.dataset.id),
      })),
    };
    try {
      await api("PUT", `/api/venues/${venue}/menu/order`, body);
      say("Menu order saved.");
    } catch (_) { load(); }
  }

  async function load() {
    try {
      const [menu, st, rt] = await Promise.all([
        api("GET", `/api/venues/${venue}/menu`),
        api("GET", `/api/venues/${venue}/stations`),
        api("GET", `/api/venues/${venue}/station-routes`),
      ]);
      stations = st.data;
      routes = rt.data;
      root.replaceChildren();
      if (menu.data.categories.length === 0) root.appendChild(el("p", { class: "text-muted", text: manage ? "No categories yet: add the first above." : "The menu is empty." }));
      menu.data.categories.forEach((section) => root.appendChild(categoryCard(section)));
      if (manage && window.Sortable) {
        Sortable.create(root, { handle: ".category-handle", draggable: ".menu-category", animation: 150, forceFallback: true, onEnd: saveOrder });
        root.querySelectorAll(".menu-items").forEach((list) =>
          Sortable.create(list, { group: "items", handle: ".drag-handle", draggable: ".menu-item", animation: 150, forceFallback: true, onEnd: saveOrder }));
      }
    } catch (_) { /* said */ }
  }

  const addCategory = document.getElementById("add-category");
  if (addCategory) {
    addCategory.addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = document.getElementById("new-category");
      try {
        await api("POST", `/api/venues/${venue}/menu/categories`, { name: input.value, display_order: root.querySelectorAll(".menu-category").length });
        say("Category " + input.value + " added.");
        input.value = "";
        load();
      } catch (_) { /* said; the typed name stays */ }
    });
  }
  load();
})();
