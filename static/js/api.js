"use strict";
// The dashboard's one door to the server: the same JSON API that API-key clients use, authenticated
// by the session cookie, with the page's CSRF token on every call. Plus tiny DOM/format helpers.

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status; // 0 = the network failed
  }

  get retryable() {
    return this.status === 0 || this.status >= 500;
  }
}

const Api = {
  csrf: document.querySelector('meta[name="csrf-token"]').content,

  async call(method, path, body) {
    const response = await Api.open(method, path, body, "application/json");
    return response.json().catch(() => null);
  },

  // The response itself, for bodies read as they arrive (the Ask box's server-sent events); errors
  // are thrown as for call().
  async open(method, path, body, accept) {
    const headers = { Accept: accept, "X-CSRF-Token": Api.csrf };
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
    } catch (_networkError) {
      throw new ApiError("Network error: the server could not be reached", 0);
    }
    if (response.status === 401) {
      window.location.assign("/login"); // the session ended (logged out elsewhere or expired)
    }
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw new ApiError((data && data.error) || `Request failed (HTTP ${response.status})`, response.status);
    }
    return response;
  },
};

// h("td", {class: "x", "data-label": "Size"}, ["text", childNode]): text is never parsed as HTML.
function h(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const Format = {
  bytes(n) {
    if (n === null || n === undefined) return "—";
    const units = ["B", "KB", "MB", "GB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
  },
  date(iso) {
    return iso ? new Date(iso).toLocaleString() : "—";
  },
  source(value) {
    return { web: "Web", api: "API", telegram: "Telegram" }[value] || value;
  },
  text(value) {
    return value === null || value === undefined || value === "" ? "—" : String(value);
  },
};

// Copy an element's text; without the Clipboard API (plain HTTP) select it for Ctrl-C instead.
async function copyText(button, element) {
  try {
    await navigator.clipboard.writeText(element.textContent);
    button.textContent = "Copied";
  } catch (_notAllowed) {
    window.getSelection().selectAllChildren(element);
    button.textContent = "Selected: press Ctrl-C";
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
