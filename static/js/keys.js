"use strict";
// API keys page: create (the plaintext is shown once), list by prefix and last use, revoke.

const keysTable = document.getElementById("keys");
const keysStatus = document.getElementById("keys-status");
const newKey = document.getElementById("new-key");
const newKeyValue = document.getElementById("new-key-value");

async function loadKeys() {
  try {
    const data = await Api.call("GET", "/api/keys");
    renderKeys(data.keys);
  } catch (error) {
    keysStatus.textContent = `Could not load keys: ${error.message}`;
  }
}

function renderKeys(keys) {
  const rows = keys.map((key) => {
    const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${key.name}` }, "Revoke");
    revoke.addEventListener("click", () => revokeKey(key));
    return h("tr", { "data-key-id": key.id }, [
      h("td", { "data-label": "Name" }, key.name),
      h("td", { "data-label": "Prefix" }, h("code", {}, `${key.prefix}_…`)),
      h("td", { "data-label": "Created" }, Format.date(key.created_at)),
      h("td", { "data-label": "Last used" }, key.last_used_at ? Format.date(key.last_used_at) : "Never"),
      h("td", { "data-label": "Actions", class: "actions-cell" }, revoke),
    ]);
  });
  keysTable.tBodies[0].replaceChildren(...rows);
  keysTable.hidden = rows.length === 0;
  keysStatus.textContent = rows.length ? "" : "No API keys yet. Create one to call the API from scripts.";
}

async function revokeKey(key) {
  if (!window.confirm(`Revoke "${key.name}" (${key.prefix}_…)? Programs using it will stop working.`)) return;
  try {
    await Api.call("DELETE", `/api/keys/${key.id}`);
    loadKeys();
  } catch (error) {
    keysStatus.textContent = `Could not revoke: ${error.message}`;
  }
}

document.getElementById("create-key").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("key-name");
  try {
    const created = await Api.call("POST", "/api/keys", { name: input.value });
    newKeyValue.textContent = created.key;
    newKey.hidden = false;
    input.value = "";
    loadKeys();
  } catch (error) {
    keysStatus.textContent = `Could not create the key: ${error.message}`;
  }
});

document.getElementById("copy-key").addEventListener("click", (event) => copyText(event.target, newKeyValue));

loadKeys();
