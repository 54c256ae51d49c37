// The shop console: plain DOM code calling the api's JSON routes with the key the user typed.
// Every value from the server is put on the page with textContent, never as HTML.
"use strict";

const state = { config: null, selectedOrder: null, timers: {}, generations: {}, drawnActions: "" };

// ---- small helpers ---------------------------------------------------------------------

// Final order statuses, as the api's config lists them (from the Rust `OrderStatus`).
function isFinal(status) {
  return state.config.terminal_statuses.includes(status);
}

function $(selector) {
  return document.querySelector(selector);
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "onclick") node.addEventListener("click", value);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function money(cents) {
  return (Number(cents || 0) / 100).toFixed(2);
}

function say(text, isError = false) {
  const message = $("#message");
  message.textContent = text;
  message.className = isError ? "error" : "ok";
}

function apiKey() {
  return localStorage.getItem("capstone.apiKey") || "";
}

function workflowLink(workflowId) {
  const config = state.config;
  return `${config.temporal_ui_url}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/// Calls the api; answers the parsed JSON, or throws an Error carrying the api's own message.
async function api(method, path, body, idempotencyKey) {
  const headers = { Authorization: `Bearer ${apiKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { detail: text }; // not JSON (a proxy's page, a plain-text rejection): show it as it is
  }
  if (!response.ok) {
    const error = new Error(`${response.status} ${json.error || ""}: ${json.detail || json.message || text}`);
    error.status = response.status;
    throw error;
  }
  return json;
}

/// A fresh idempotency key. `crypto.randomUUID` exists only in secure contexts (https, or
/// localhost); a console reached over plain http by host name falls back to random bytes.
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/// Submits a form's request once: the button is disabled while it is in flight, and a retry
/// after a failure reuses the same idempotency key (so a second click never places a second
/// order); a success starts a new key for the next one.
async function submitOnce(form, send) {
  const button = form.querySelector("button[type=submit]");
  form.dataset.key = form.dataset.key || newKey();
  button.disabled = true;
  try {
    await send(form.dataset.key);
    delete form.dataset.key;
  } catch (error) {
    say(error.message, true);
  } finally {
    button.disabled = false;
  }
}

/// Runs `poll` now and then every `ms` until it answers `false` or fails with a 4xx (an id
/// that does not exist stays that way). One loop per name: starting a new one retires the
/// old, even if the old one's request is still in flight (the generation check).
function every(name, ms, poll) {
  clearTimeout(state.timers[name]);
  const generation = (state.generations[name] || 0) + 1;
  state.generations[name] = generation;
  const current = () => state.generations[name] === generation;
  const tick = async () => {
    let again = true;
    try {
      again = (await poll(current)) !== false;
    } catch (error) {
      if (current()) say(error.message, true);
      if (error.status >= 400 && error.status < 500) again = false;
    }
    if (again && current()) state.timers[name] = setTimeout(tick, ms);
  };
  tick();
}

function statusBadge(status) {
  const kind = isFinal(status) ? (status === "COMPLETED" ? "done" : "undone") : "running";
  return el("span", { class: `status ${kind}`, "data-status": status || "" }, status || "?");
}

// ---- key and tabs ------------------------------------------------------------------------

function setUpKey() {
  // `capstone dev` prints a link with the demo operator key in the fragment (never sent to a server).
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromFragment) {
    localStorage.setItem("capstone.apiKey", fromFragment);
    history.replaceState(null, "", location.pathname);
  }
  $("#api-key").value = apiKey();
  $("#key-state").textContent = apiKey() ? "key set" : "no key yet";
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem("capstone.apiKey", $("#api-key").value.trim());
    $("#key-state").textContent = "key set";
    refreshOrdersNow();
  });
}

function setUpTabs() {
  for (const tab of document.querySelectorAll("nav .tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("nav .tab")) other.classList.toggle("active", other === tab);
      for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== tab.dataset.tab;
    });
  }
}

// ---- orders ------------------------------------------------------------------------------

function addOrderLine(sku = "", qty = 1) {
  const skus = el("select", { name: "sku" }, state.config.catalog.map((item) =>
    el("option", { value: item.sku }, `${item.sku} · ${item.name} · ${money(item.unit_price_cents)} (${item.available} left)`)));
  if (sku) skus.value = sku;
  const line = el("div", { class: "line" }, skus, el("input", { name: "qty", type: "number", min: 1, max: 100, value: qty }),
    el("button", { type: "button", onclick: () => { line.remove(); showOrderTotal(); } }, "✕"));
  line.addEventListener("input", showOrderTotal);
  $("#order-lines").append(line);
  showOrderTotal();
}

function orderItems() {
  return [...document.querySelectorAll("#order-lines .line")].map((line) => ({
    sku: line.querySelector("[name=sku]").value,
    qty: Number(line.querySelector("[name=qty]").value),
  }));
}

function showOrderTotal() {
  const prices = Object.fromEntries(state.config.catalog.map((item) => [item.sku, item.unit_price_cents]));
  const cents = orderItems().reduce((sum, item) => sum + (prices[item.sku] || 0) * item.qty, 0);
  const needsApproval = state.config.approval_threshold_cents > 0 && cents > state.config.approval_threshold_cents;
  $("#order-total").textContent = `${money(cents)}${needsApproval ? ", needs an operator" : ""}`;
}

async function placeOrder(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    customer_id: form.customer_id.value,
    email: form.email.value,
    items: orderItems(),
    shipping_address: { name: form.customer_id.value, line1: "1 Console Street", city: "Berlin", postal_code: "10115",
      country: form.country.value.toUpperCase() },
    payment: { provider: form.provider.value, card_token: form.card_token.value },
  };
  await submitOnce(form, async (key) => {
    const accepted = await api("POST", "/orders", body, key);
    // 201: the checkout answered, the stock is held; 202: accepted, still checking.
    const stock = accepted.reservation_id ? "stock reserved" : "checking the stock";
    say(`Order ${accepted.order_id} accepted (${money(accepted.total_cents)}, ${stock}): its saga is running.`);
    showOrder(accepted.order_id);
    refreshOrdersNow();
  });
}

/// Refreshes the list now, saying what went wrong (a wrong key, ...) instead of throwing.
function refreshOrdersNow() {
  refreshOrders().catch((error) => say(error.message, true));
}

async function refreshOrders() {
  if (!apiKey()) return;
  const params = new URLSearchParams({ limit: "50", source: $("#order-source").value });
  if ($("#order-status").value) params.set("status", $("#order-status").value);
  const list = await api("GET", `/orders?${params}`);
  const rows = list.orders.map((order) => el("tr", { "data-order": order.order_id },
    el("td", {}, el("a", { href: "#", class: "order-link", onclick: (e) => { e.preventDefault(); showOrder(order.order_id); } }, order.order_id)),
    el("td", {}, order.customer_id),
    el("td", { class: "number" }, money(order.total_cents)),
    el("td", {}, statusBadge(order.status)),
    el("td", { class: "muted" }, order.updated_at),
    el("td", {}, el("a", { href: workflowLink(order.workflow_id), target: "_blank", rel: "noopener" }, "workflow"))));
  $("#order-table tbody").replaceChildren(...rows);
}

function showOrder(orderId) {
  state.selectedOrder = orderId;
  state.drawnActions = "";
  $("#order-detail").hidden = false;
  every("order", 1000, async (current) => {
    const order = await api("GET", `/orders/${encodeURIComponent(orderId)}`);
    if (!current()) return false; // another order was opened meanwhile
    drawOrder(order);
    // Keep following until the workflow's final state is in the read model.
    return !(isFinal(order.status) && order.source === "read_model");
  });
}

function drawOrder(order) {
  $("#detail-id").textContent = order.order_id;
  $("#detail-id").dataset.order = order.order_id;
  $("#detail-status").replaceWith(Object.assign(statusBadge(order.status), { id: "detail-status" }));
  $("#detail-ui").href = order.temporal_ui_url;
  $("#detail-source").textContent = order.source === "workflow" ? "the running workflow (a query)" : "the read model";
  const facts = [
    ["Customer", order.customer_id], ["Total", money(order.total_cents)], ["Reason", order.reason],
    ["Reservation", order.reservation_id], ["Charge", order.charge_id], ["Shipment", order.shipment_id],
    ["Tracking", order.tracking_number],
    ["Delivery", order.delivery && `${order.delivery.step} (${order.delivery.carrier}${order.delivery.claim_id ? `, claim ${order.delivery.claim_id}` : ""})`],
    ["Approval", order.approval && `${order.approval.state}${order.approval.operator ? ` by ${order.approval.operator}` : ""} (deadline ${order.approval.deadline})`],
  ].filter(([, value]) => value);
  $("#detail-facts").replaceChildren(...facts.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  drawCompensation(order);
  $("#detail-timeline").replaceChildren(...order.timeline.map((step) =>
    el("li", { class: step.status === "COMPENSATING" ? "undo" : "" }, el("time", {}, step.at), " ", statusBadge(step.status), " ", step.note)));
  drawOrderActions(order);
}

/// What the saga undid: the refund, released stock, and anything it could not undo.
function drawCompensation(order) {
  const undo = order.timeline.filter((step) => step.status === "COMPENSATING" || /refund|release|void/i.test(step.note));
  const parts = [];
  if (order.refund_id) parts.push(el("p", { id: "detail-refund" }, `Refunded: ${order.refund_id}`));
  if (undo.length) parts.push(el("ul", {}, undo.map((step) => el("li", {}, step.note))));
  if (order.unresolved.length) {
    parts.push(el("p", { class: "error" }, "Could not be undone, a person must look:"),
      el("ul", {}, order.unresolved.map((item) => el("li", {}, item))));
  }
  $("#detail-compensation").replaceChildren(...(parts.length ? [el("h3", {}, "Compensations"), ...parts] : []));
}

function drawOrderActions(order) {
  // Rebuilt only when the status changes: a button replaced under the pointer loses the click.
  const drawn = `${order.order_id}:${order.status}`;
  if (state.drawnActions === drawn) return;
  state.drawnActions = drawn;
  const actions = [];
  const act = (label, path, body) => el("button", { id: `order-${label.toLowerCase()}`, onclick: async () => {
    try {
      await api("POST", `/orders/${encodeURIComponent(order.order_id)}/${path}`, body);
      say(`${label}: sent for ${order.order_id}.`);
      showOrder(order.order_id);
      refreshOrdersNow();
    } catch (error) {
      say(error.message, true);
    }
  } }, label);
  // The api decides in the name the operator key carries; the page names nobody.
  if (order.status === "AWAITING_APPROVAL") {
    actions.push(act("Approve", "approve", { reason: "approved in the console" }));
    actions.push(act("Reject", "reject", { reason: "rejected in the console" }));
  }
  // The api refuses a cancel from shipping on, and while the saga is already undoing.
  if (!isFinal(order.status) && !["SHIPPING", "SENDING_CONFIRMATION", "COMPENSATING"].includes(order.status)) {
    actions.push(act("Cancel", "cancel", { reason: "cancelled in the console" }));
  }
  $("#detail-actions").replaceChildren(...actions);
}

// ---- batches -----------------------------------------------------------------------------

async function startBatch(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    count: Number(form.count.value),
    window: Number(form.window.value),
    max_failure_percent: Number(form.max_failure_percent.value),
    email: "bulk@example.com",
    order: {
      items: [{ sku: form.sku.value, qty: 1 }],
      shipping_address: { name: "Bulk Buyer", line1: "1 Console Street", city: "Berlin", postal_code: "10115", country: "DE" },
      payment: { provider: "card", card_token: form.card_token.value },
    },
  };
  await submitOnce(form, async (key) => {
    const accepted = await api("POST", "/batches", body, key);
    say(`Batch ${accepted.batch_id} started: ${accepted.count} orders.`);
    $("#batch-lookup").batch_id.value = accepted.batch_id;
    showBatch(accepted.batch_id);
  });
}

function showBatch(batchId) {
  every("batch", 1500, async (current) => {
    const batch = await api("GET", `/batches/${encodeURIComponent(batchId)}`);
    if (!current()) return false;
    const bar = el("progress", { max: Math.max(batch.started, 1), value: batch.finished });
    $("#batch-view").replaceChildren(
      el("p", {}, statusBadge(batch.state), " ", el("a", { href: batch.temporal_ui_url, target: "_blank", rel: "noopener" }, "parent workflow in the Temporal Web UI")),
      el("dl", {}, [["Started", batch.started], ["Running", batch.running], ["Finished", batch.finished], ["Failed", batch.failed],
        ["By status", Object.entries(batch.by_status).map(([s, n]) => `${s}: ${n}`).join(", ") || "none yet"],
        ["Charged", money(batch.charged_cents)], ["Refunded", money(batch.refunded_cents)],
        ["Rolled back", batch.rolled_back.length], ["Runs (continue-as-new)", batch.runs], ["Reason", batch.reason]]
        .filter(([, value]) => value !== null && value !== undefined)
        .flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
      bar);
    return batch.state === "RUNNING" || batch.state === "ROLLING_BACK";
  });
}

// ---- subscriptions -----------------------------------------------------------------------

async function subscribe(event) {
  event.preventDefault();
  const form = event.target;
  const body = { customer_id: form.customer_id.value, plan: form.plan.value, trial_days: Number(form.trial_days.value),
    payment: { card_token: form.card_token.value } };
  await submitOnce(form, async (key) => {
    const accepted = await api("POST", "/subscriptions", body, key);
    say(`Subscription ${accepted.subscription_id} started.`);
    $("#subscription-lookup").subscription_id.value = accepted.subscription_id;
    showSubscription(accepted.subscription_id);
  });
}

function showSubscription(subscriptionId) {
  const path = `/subscriptions/${encodeURIComponent(subscriptionId)}`;
  const send = (label, method, suffix, body, id) => el("button", { id, onclick: async () => {
    try {
      await api(method, `${path}/${suffix}`, body);
      say(`${label}: sent to ${subscriptionId}.`);
    } catch (error) {
      say(error.message, true);
    }
  } }, label);
  let drawnButtons = "";
  every("subscription", 2000, async (current) => {
    const subscription = await api("GET", path);
    if (!current()) return false;
    const otherPlans = state.config.plans.map((p) => p.plan).filter((plan) => plan !== subscription.plan);
    const view = $("#subscription-view");
    if (!view.querySelector("#subscription-summary")) {
      view.replaceChildren(el("div", { id: "subscription-summary" }), el("div", { id: "subscription-actions" }),
        el("h3", {}, "Recent events"), el("ul", { id: "subscription-events" }));
    }
    $("#subscription-summary").replaceChildren(
      el("p", {}, statusBadge(subscription.status), " ",
        el("a", { href: workflowLink(`subscription-${subscriptionId}`), target: "_blank", rel: "noopener" }, "workflow in the Temporal Web UI")),
      el("dl", {}, [["Plan", subscription.plan], ["Next plan", subscription.pending_plan], ["Paid periods", subscription.periods],
        ["Charged", money(subscription.charged_cents)], ["Runs (continue-as-new)", subscription.runs],
        ["Events in this run", subscription.history_length], ["Cancelling", subscription.cancel_requested]]
        .filter(([, value]) => value !== null && value !== undefined)
        .flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])));
    // The buttons are rebuilt only when what they offer changes (a replaced button loses a click).
    const buttons = `${subscription.status}:${subscription.plan}:${subscription.cancel_requested}`;
    if (buttons !== drawnButtons) {
      drawnButtons = buttons;
      $("#subscription-actions").replaceChildren(
        send("Cancel at period end", "POST", "cancel", { reason: "cancelled in the console" }, "subscription-cancel"),
        ...otherPlans.map((plan) => send(`Switch to ${plan}`, "PUT", "plan", { plan })));
    }
    $("#subscription-events").replaceChildren(...subscription.notes.map((note) => el("li", {}, note)));
    return !["SUSPENDED", "CANCELLED"].includes(subscription.status);
  });
}

// ---- courier -----------------------------------------------------------------------------

const CARRIER_EVENTS = [
  ["dispatched", "Picked up"],
  ["out_for_delivery", "Out for delivery"],
  ["delivery_failed", "Nobody home"],
  ["delivered", "Delivered"],
];

async function refreshCourier() {
  if (!apiKey() || $("#courier").hidden) return;
  const { shipments } = await api("GET", "/shipments");
  const rows = shipments.map((parcel) => {
    const buttons = CARRIER_EVENTS.map(([kind, label]) => el("button", {
      type: "button",
      "data-kind": kind,
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          // One key per click: a retried request is one event, a second click another.
          await api("POST", `/shipments/${encodeURIComponent(parcel.order_id)}/events`, { kind }, newKey());
          say(`${label}: reported for order ${parcel.order_id}.`);
          await refreshCourier();
        } catch (error) {
          say(error.message, true);
        } finally {
          event.target.disabled = false;
        }
      },
    }, label));
    return el("tr", { "data-order": parcel.order_id },
      el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); showOrderTab(parcel.order_id); } }, parcel.order_id)),
      el("td", {}, parcel.carrier),
      el("td", {}, parcel.tracking_number),
      el("td", { class: "delivery-state" }, parcel.delivery_state),
      el("td", {}, parcel.claim_id || ""),
      el("td", {}, ...buttons));
  });
  $("#courier-table tbody").replaceChildren(...rows);
}

function showOrderTab(orderId) {
  document.querySelector("nav .tab[data-tab=orders]").click();
  showOrder(orderId);
}

// ---- start -------------------------------------------------------------------------------

async function start() {
  setUpKey();
  setUpTabs();
  state.config = await (await fetch("/console/config")).json();
  $("#temporal-ui").href = `${state.config.temporal_ui_url}/namespaces/${encodeURIComponent(state.config.namespace)}/workflows`;
  $("#threshold").textContent = money(state.config.approval_threshold_cents);
  $("#order-form [name=provider]").replaceChildren(...state.config.providers.map((p) => el("option", { value: p }, p)));
  $("#subscription-form [name=plan]").replaceChildren(...state.config.plans.map((p) =>
    el("option", { value: p.plan }, `${p.plan} · ${money(p.price_cents)} per period`)));
  $("#batch-form [name=sku]").replaceChildren(...state.config.catalog.map((item) => el("option", { value: item.sku }, item.sku)));
  $("#order-status").append(...state.config.statuses.map((status) => el("option", { value: status }, status)));
  addOrderLine(state.config.catalog[0] && state.config.catalog[0].sku, 1);
  $("#add-line").addEventListener("click", () => addOrderLine());
  $("#order-form").addEventListener("submit", placeOrder);
  $("#batch-form").addEventListener("submit", startBatch);
  $("#subscription-form").addEventListener("submit", subscribe);
  $("#batch-lookup").addEventListener("submit", (e) => { e.preventDefault(); showBatch(e.target.batch_id.value.trim()); });
  $("#subscription-lookup").addEventListener("submit", (e) => { e.preventDefault(); showSubscription(e.target.subscription_id.value.trim()); });
  for (const filter of ["#order-source", "#order-status"]) $(filter).addEventListener("change", refreshOrdersNow);
  every("orders", 2000, async () => {
    await refreshOrders();
  });
  every("courier", 2000, async () => {
    await refreshCourier();
  });
}

document.addEventListener("DOMContentLoaded", () => start().catch((error) => say(`The console could not start: ${error.message}`, true)));
