"use strict";
// Webhooks page: add an endpoint (its secret shown once), then per endpoint: send a test event, rotate
// the secret, disable or enable, delete, and its delivery log (refreshed while a delivery is expected).

const endpointsBox = document.getElementById("endpoints");
const webhooksStatus = document.getElementById("webhooks-status");
const newSecret = document.getElementById("new-secret");
const newSecretValue = document.getElementById("new-secret-value");
const openLogs = new Set(); // endpoint ids whose log is shown

function showSecret(secret) {
  newSecretValue.textContent = secret;
  newSecret.hidden = false;
  document.getElementById("copy-secret").textContent = "Copy";
}

async function loadEndpoints() {
  try {
    const data = await Api.call("GET", "/api/webhooks");
    renderEndpoints(data.endpoints);
  } catch (error) {
    webhooksStatus.textContent = `Could not load endpoints: ${error.message}`;
  }
}

function button(label, className, action, name) {
  const node = h("button", { type: "button", class: className, "aria-label": `${label}: ${name}` }, label);
  node.addEventListener("click", action);
  return node;
}

function renderEndpoints(endpoints) {
  const cards = endpoints.map((endpoint) => {
    const name = endpoint.description || endpoint.url;
    const state = endpoint.enabled
      ? h("span", { class: "badge ready" }, "Active")
      : h("span", { class: "badge failed" }, "Disabled");
    const log = h("div", { class: "delivery-log", id: `log-${endpoint.id}` });
    const toggleLog = button(openLogs.has(endpoint.id) ? "Hide deliveries" : "Deliveries", "secondary", () => {
      if (openLogs.has(endpoint.id)) openLogs.delete(endpoint.id);
      else openLogs.add(endpoint.id);
      loadEndpoints();
    }, name);
    const card = h("article", { class: "endpoint", "data-endpoint-id": endpoint.id }, [
      h("div", { class: "row spread" }, [h("h2", {}, h("code", {}, endpoint.url)), state]),
      endpoint.description ? h("p", {}, endpoint.description) : null,
      h("p", { class: "hint" }, `Events: ${endpoint.events.join(", ")} · secret ${endpoint.secret_hint}`),
      endpoint.disabled_reason ? h("p", { class: "error-text", role: "alert" }, endpoint.disabled_reason) : null,
      h("div", { class: "row actions" }, [
        button("Send test event", "secondary", () => sendTest(endpoint), name),
        button("Rotate secret", "secondary", () => rotate(endpoint), name),
        button(endpoint.enabled ? "Disable" : "Enable", "secondary", () => setEnabled(endpoint, !endpoint.enabled), name),
        toggleLog,
        button("Delete", "danger", () => remove(endpoint), name),
      ]),
      log,
    ]);
    if (openLogs.has(endpoint.id)) loadLog(endpoint.id, log);
    return card;
  });
  endpointsBox.replaceChildren(...cards);
  webhooksStatus.textContent = cards.length ? "" : "No endpoints yet. Add one to be told when documents are ready.";
}

async function loadLog(endpointId, box) {
  try {
    const data = await Api.call("GET", `/api/webhooks/${endpointId}/deliveries`);
    if (!data.attempts.length) {
      box.replaceChildren(h("p", { class: "hint" }, "No deliveries yet."));
      return data.attempts;
    }
    const rows = data.attempts.map((attempt) => h("tr", { class: attempt.ok ? "ok" : "not-ok" }, [
      h("td", { "data-label": "When" }, Format.date(attempt.at)),
      h("td", { "data-label": "Event" }, h("code", {}, attempt.event)),
      h("td", { "data-label": "Attempt" }, String(attempt.attempt)),
      h("td", { "data-label": "Answer" }, attempt.status_code === null ? "No answer" : `HTTP ${attempt.status_code}`),
      h("td", { "data-label": "Time" }, `${attempt.latency_ms} ms`),
      h("td", { "data-label": "Error" }, attempt.error || ""),
    ]));
    const head = h("thead", {}, h("tr", {}, ["When", "Event", "Attempt", "Answer", "Time", "Error"].map(
      (title) => h("th", { scope: "col" }, title))));
    box.replaceChildren(h("table", { class: "grid" }, [head, h("tbody", {}, rows)]));
    return data.attempts;
  } catch (error) {
    box.replaceChildren(h("p", { class: "error-text" }, `Could not load deliveries: ${error.message}`));
    return [];
  }
}

async function act(what, request) {
  try {
    return await request();
  } catch (error) {
    webhooksStatus.textContent = `Could not ${what}: ${error.message}`;
    return null;
  }
}

async function sendTest(endpoint) {
  const sent = await act("send the test event", () => Api.call("POST", `/api/webhooks/${endpoint.id}/test`));
  if (!sent) return;
  openLogs.add(endpoint.id);
  webhooksStatus.textContent = "Test event sent; its answer appears in the deliveries below.";
  await loadEndpoints();
  for (let tries = 0; tries < 20; tries += 1) { // until the attempt is logged (the timeout is 10 s)
    const box = document.getElementById(`log-${endpoint.id}`);
    if (!box) return;
    const attempts = await loadLog(endpoint.id, box);
    if (attempts.some((attempt) => attempt.delivery_id === sent.delivery_id)) return;
    await sleep(750);
  }
}

async function rotate(endpoint) {
  const message = "Rotate the signing secret? The old one keeps signing alongside the new one for 24 hours.";
  if (!window.confirm(message)) return;
  const rotated = await act("rotate the secret", () => Api.call("POST", `/api/webhooks/${endpoint.id}/rotate-secret`));
  if (rotated) {
    showSecret(rotated.secret);
    loadEndpoints();
  }
}

async function setEnabled(endpoint, enabled) {
  if (await act(enabled ? "enable it" : "disable it", () => Api.call("PATCH", `/api/webhooks/${endpoint.id}`, { enabled }))) {
    loadEndpoints();
  }
}

async function remove(endpoint) {
  if (!window.confirm(`Delete the endpoint ${endpoint.url}? Nothing more will be sent to it.`)) return;
  if (await act("delete it", () => Api.call("DELETE", `/api/webhooks/${endpoint.id}`))) {
    openLogs.delete(endpoint.id);
    loadEndpoints();
  }
}

document.getElementById("create-endpoint").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const events = [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value);
  if (!events.length) {
    webhooksStatus.textContent = "Choose at least one event.";
    return;
  }
  const body = { url: form.url.value.trim(), description: form.description.value.trim(), events };
  const created = await act("add the endpoint", () => Api.call("POST", "/api/webhooks", body));
  if (created) {
    showSecret(created.secret);
    form.reset();
    loadEndpoints();
  }
});

document.getElementById("copy-secret").addEventListener("click", (event) => copyText(event.target, newSecretValue));

loadEndpoints();
