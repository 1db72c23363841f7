"use strict";
// Documents page: uploads and links with live progress, the self-refreshing, filtered grid, delete.

const POLL_MS = 2000; // status polling per upload row
const LIST_MS = 30000; // the grid refreshes this often, always (Telegram uploads appear too)
const GIVE_UP_MS = 4 * 60 * 1000; // then a row stops polling and follows the grid instead
const MAX_BACKOFF_MS = 30000;
const PAGE_SIZE = 25;
const FINAL = new Set(["ready", "failed", "cancelled"]);

const zone = document.getElementById("dropzone");
const picker = document.getElementById("file-input");
const uploads = document.getElementById("uploads");
const table = document.getElementById("documents");
const gridStatus = document.getElementById("grid-status");
const newer = document.getElementById("newer");
const older = document.getElementById("older");
const waitingForGrid = new Map(); // document id -> upload row that gave up polling

// ---- Upload rows -------------------------------------------------------------------------------

function uploadRow(file) {
  const fill = h("div", { class: "bar-fill" });
  const bar = h("div", {
    class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": "0", "aria-label": `Progress of ${file.name}`,
  }, fill);
  const message = h("span", { class: "message" }, "Uploading…");
  const percent = h("span", { class: "percent" }, "0 %");
  const item = h("li", { class: "upload", "data-state": "uploading" }, [
    h("span", { class: "name" }, file.name), bar, h("div", { class: "meta" }, [message, percent]),
  ]);
  uploads.prepend(item);
  let shown = 0;
  return {
    item,
    // The bar only ever moves forward, whatever order answers arrive in.
    show(state, progress, text) {
      shown = state === "ready" ? 100 : Math.max(shown, Math.min(100, progress || 0));
      fill.style.width = `${shown}%`;
      bar.setAttribute("aria-valuenow", String(shown));
      percent.textContent = `${shown} %`;
      message.textContent = text;
      item.dataset.state = state;
    },
    note(text) {
      message.textContent = text;
    },
    // The tenant already has this file: nothing was uploaded again; a button opens the one it has.
    duplicate(created) {
      this.show(created.status, created.status === "ready" ? 100 : 0, "Already in your library");
      item.dataset.state = "duplicate";
      const open = h("a", {
        class: "button secondary", href: documentHref(created.document_id),
        "aria-label": `Open ${file.name} in your library`,
      }, "Open");
      message.after(" ", open);
    },
  };
}

function clientProblem(file) {
  const dot = file.name.lastIndexOf(".");
  const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
  if (!zone.dataset.accept.split(",").includes(extension)) {
    return `Unsupported file type: only ${zone.dataset.allowed} files are accepted`;
  }
  if (file.size > Number(zone.dataset.maxBytes)) {
    return `File is larger than the upload limit (${Format.bytes(Number(zone.dataset.maxBytes))})`;
  }
  return null;
}

async function upload(file) {
  const row = uploadRow(file);
  const problem = clientProblem(file);
  if (problem) {
    row.show("failed", 0, problem);
    return;
  }
  const form = new FormData();
  form.append("file", file);
  let created;
  try {
    created = await Api.call("POST", "/api/documents/upload", form);
  } catch (error) {
    row.show("failed", 0, error.message); // the server is the authority: show its reason
    return;
  }
  track(row, created);
}

// A row that now has a document: say so, then follow it until it is done.
function track(row, created) {
  row.item.dataset.documentId = created.document_id;
  if (created.duplicate) {
    row.duplicate(created);
    return;
  }
  row.show(created.status, 0, created.message);
  refreshList();
  follow(created.document_id, row);
}

// A link: the worker downloads it, so the row follows it exactly like an upload.
const linkForm = document.getElementById("link-form");
const linkInput = document.getElementById("link-url");
linkForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = linkInput.value.trim();
  const row = uploadRow({ name: url });
  try {
    track(row, await Api.call("POST", "/api/documents/url", { url }));
    linkInput.value = "";
  } catch (error) {
    row.show("failed", 0, error.message);
  }
});

function showStatus(row, body) {
  const text = body.status === "failed" ? body.message || "Processing failed" : body.message;
  row.show(body.status, body.progress, text || body.status);
}

async function follow(id, row) {
  const started = Date.now();
  let failures = 0;
  while (Date.now() - started < GIVE_UP_MS) {
    let body;
    try {
      body = await Api.call("GET", `/api/documents/${id}/status`);
      failures = 0;
    } catch (error) {
      if (!error.retryable) {
        row.show("failed", 0, error.message);
        return;
      }
      failures += 1;
      const delay = Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS);
      row.note(`Connection problem; retrying in ${Math.round(delay / 1000)} s…`);
      await sleep(delay);
      continue;
    }
    showStatus(row, body);
    if (FINAL.has(body.status)) {
      refreshList();
      return;
    }
    await sleep(POLL_MS);
  }
  row.note("Still processing: this can take a while. The list below keeps refreshing.");
  waitingForGrid.set(id, row);
}

// Rows that gave up polling are brought up to date by the grid's periodic refresh.
function updateWaitingRows(documents) {
  for (const doc of documents) {
    const row = waitingForGrid.get(doc.document_id);
    if (row && FINAL.has(doc.status)) {
      showStatus(row, doc);
      waitingForGrid.delete(doc.document_id);
    }
  }
}

function uploadAll(files) {
  for (const file of files) upload(file);
}

picker.addEventListener("change", () => {
  uploadAll(picker.files);
  picker.value = "";
});
for (const name of ["dragenter", "dragover"]) {
  zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
}
zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("dragging");
  uploadAll(event.dataTransfer.files);
});

// ---- Documents grid ----------------------------------------------------------------------------

let listTimer = null;
let listRequest = 0;
let offset = 0; // the page shown; refreshes reload this page

// Filters, order and page live in the address, so a reload or a shared link keeps its place.
const filterForm = document.getElementById("filters");

function filterQuery() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(filterForm)) {
    if (String(value).trim()) params.set(name, String(value).trim());
  }
  if (params.get("sort") === "newest") params.delete("sort");
  return params;
}

function rememberPlace() {
  const params = filterQuery();
  if (offset) params.set("offset", String(offset));
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
}

function restorePlace() {
  const params = new URLSearchParams(window.location.search);
  for (const field of filterForm.elements) {
    if (field.name && params.has(field.name)) field.value = params.get(field.name);
  }
  offset = Math.max(0, Number(params.get("offset")) || 0);
}

function filtersChanged() {
  offset = 0;
  refreshList();
}

let typing = null;
filterForm.addEventListener("change", filtersChanged);
filterForm.addEventListener("input", (event) => {
  if (event.target.tagName !== "INPUT") return;
  clearTimeout(typing);
  typing = setTimeout(filtersChanged, 300);
});
filterForm.addEventListener("submit", (event) => {
  event.preventDefault();
  filtersChanged();
});
filterForm.addEventListener("reset", () => setTimeout(filtersChanged)); // after the fields are cleared

async function refreshList() {
  clearTimeout(listTimer);
  const mine = ++listRequest;
  try {
    const query = filterQuery();
    query.set("limit", String(PAGE_SIZE));
    query.set("offset", String(offset));
    rememberPlace();
    const data = await Api.call("GET", `/api/documents?${query}`);
    if (mine === listRequest && data.documents.length === 0 && offset > 0) {
      offset = Math.max(0, offset - PAGE_SIZE); // the last page emptied (deletes): step back
      return refreshList();
    }
    if (mine === listRequest) {
      renderGrid(data);
      watch(data.documents);
      updateWaitingRows(data.documents);
    }
  } catch (error) {
    if (mine === listRequest) gridStatus.textContent = `Could not load documents (${error.message}); retrying…`;
  }
  if (mine === listRequest) listTimer = setTimeout(refreshList, LIST_MS);
}

function cell(label, content, attrs = {}) {
  return h("td", { "data-label": label, ...attrs }, content);
}

// What a person reads in the Progress column; the stage behind it is on hover.
function progressText(doc) {
  const words = { ready: "Ready", cancelled: "Cancelled", queued: "Waiting for a worker" };
  if (doc.status === "failed") return doc.error ? `Failed: ${doc.error}` : "Failed";
  return words[doc.status] || doc.message || "Working";
}

function stageDetail(doc) {
  const message = doc.message || "";
  const stages = [
    ["Reading scanned", "Stage 1 of 3: reading the scan (OCR)"],
    ["Downloading", "Stage 1 of 3: downloading the link"],
    ["Reading", "Stage 1 of 3: extracting the text"],
    ["Understanding", "Stage 2 of 3: cutting the text into passages and embedding them (memvid)"],
    ["Saving", "Stage 3 of 3: storing the memory and the search index"],
  ];
  if (doc.status === "failed") return doc.error || message || "Processing failed";
  if (doc.status === "queued") return "Queued: the next free worker starts it";
  if (doc.status !== "processing") return `${progressText(doc)} · ${doc.progress} %`;
  const stage = stages.find(([prefix]) => message.startsWith(prefix));
  return `${stage ? stage[1] : message} · ${doc.progress} %`;
}

function miniBar(doc) {
  const fill = h("div", { class: "bar-fill" });
  fill.style.width = `${doc.status === "ready" ? 100 : doc.progress}%`;
  return h("div", { class: "mini", title: stageDetail(doc) }, [
    h("div", { class: "bar", "aria-hidden": "true", "data-state": doc.status }, fill),
    h("span", { class: "progress-text" }, progressText(doc)),
  ]);
}

// ---- Live rows: documents still queued or processing follow their status poll (the browser
// revalidates it with its ETag, so an unchanged status is a 304), also after Cancel and Retry.

const watched = new Map(); // document id -> timer of its next poll

function watch(documents) {
  const active = new Set(documents.filter((doc) => !FINAL.has(doc.status)).map((doc) => doc.document_id));
  for (const [id, timer] of watched) {
    if (!active.has(id)) {
      clearTimeout(timer);
      watched.delete(id);
    }
  }
  for (const id of active) if (!watched.has(id)) schedulePoll(id);
}

function schedulePoll(id) {
  watched.set(id, setTimeout(() => pollRow(id), POLL_MS));
}

async function pollRow(id) {
  let body;
  try {
    body = await Api.call("GET", `/api/documents/${id}/status`);
  } catch (error) {
    if (!watched.has(id)) return;
    if (error.retryable) schedulePoll(id);
    else refreshList(); // deleted meanwhile: the list drops it
    return;
  }
  if (!watched.has(id)) return; // the row left the page meanwhile
  const row = table.querySelector(`tr[data-document-id="${id}"]`);
  if (row) updateRow(row, body);
  if (FINAL.has(body.status)) {
    watched.delete(id);
    refreshList(); // chunks, language and actions change with the end state
  } else {
    schedulePoll(id);
  }
}

function updateRow(row, body) {
  const doc = { ...body, error: body.status === "failed" ? body.message : null };
  row.dataset.status = body.status;
  const badge = row.querySelector(".badge");
  badge.className = `badge ${body.status}`;
  badge.textContent = body.status;
  row.querySelector(".mini").replaceWith(miniBar(doc));
}

// Failed or cancelled documents can be queued again; queued or processing ones can be cancelled.
function stateButton(doc) {
  const name = doc.title || doc.filename;
  const action = ["failed", "cancelled"].includes(doc.status) ? "retry" : ["queued", "processing"].includes(doc.status) ? "cancel" : null;
  if (!action) return null;
  const label = action === "retry" ? "Retry" : "Cancel";
  const button = h("button", { type: "button", class: "secondary", "aria-label": `${label} ${name}` }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await Api.call("POST", `/api/documents/${doc.document_id}/${action}`);
    } catch (error) {
      gridStatus.textContent = `Could not ${action}: ${error.message}`;
    }
    refreshList();
  });
  return button;
}

function actions(doc) {
  const name = doc.title || doc.filename;
  const details = h("a", { class: "button secondary", href: documentHref(doc.document_id), "aria-label": `Open ${name}` }, "Open");
  const remove = h("button", { type: "button", class: "danger", "aria-label": `Delete ${name}` }, "Delete");
  remove.addEventListener("click", () => confirmDelete(doc));
  return h("div", { class: "actions" }, [details, stateButton(doc), remove]);
}

function renderGrid(data) {
  const rows = data.documents.map((doc) =>
    h("tr", { "data-document-id": doc.document_id, "data-status": doc.status }, [
      cell("Name", h("a", { class: "doc-name", title: doc.filename, href: documentHref(doc.document_id) }, doc.title || doc.filename)),
      cell("Status", h("span", { class: `badge ${doc.status}`, title: stageDetail(doc) }, doc.status)),
      cell("Progress", miniBar(doc)),
      cell("Language", Format.text(doc.metadata.language)),
      cell("Chunks", Format.text(doc.total_chunks)),
      cell("Size", Format.bytes(doc.size_bytes)),
      cell("Source", Format.source(doc.source)),
      cell("Uploaded", Format.date(doc.timestamps.created_at)),
      cell("Actions", actions(doc), { class: "actions-cell" }),
    ])
  );
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
  newer.hidden = offset === 0;
  older.hidden = offset + rows.length >= data.total;
  const filtered = filterQuery().toString() !== "";
  if (rows.length === 0) {
    gridStatus.textContent = filtered
      ? "No documents match these filters."
      : "No documents yet. Drop a file above to get started.";
  } else if (data.total > rows.length) {
    const order = { newest: "newest first", oldest: "oldest first", name: "by name", largest: "largest first" };
    gridStatus.textContent = `Documents ${offset + 1}–${offset + rows.length} of ${data.total}, ${order[filterForm.sort.value]}.`;
  } else {
    gridStatus.textContent = `${data.total} document${data.total === 1 ? "" : "s"}.`;
  }
}

function turnPage(step) {
  offset = Math.max(0, offset + step * PAGE_SIZE);
  refreshList();
}
newer.addEventListener("click", () => turnPage(-1));
older.addEventListener("click", () => turnPage(1));

// ---- Document pages and delete -----------------------------------------------------------------

// Each document has its own page (what it is, its actions, its passages).
function documentHref(id) {
  return `/documents/${encodeURIComponent(id)}`;
}

const confirmDialog = document.getElementById("confirm-delete");

function confirmDelete(doc) {
  document.getElementById("confirm-text").textContent =
    `"${doc.title || doc.filename}" and its memory will be removed for good.`;
  confirmDialog.returnValue = "";
  confirmDialog.onclose = async () => {
    if (confirmDialog.returnValue !== "delete") return;
    try {
      await Api.call("DELETE", `/api/documents/${doc.document_id}`);
      refreshList();
    } catch (error) {
      gridStatus.textContent = `Could not delete: ${error.message}`;
    }
  };
  confirmDialog.showModal();
}

restorePlace();
document.getElementById("refresh").addEventListener("click", refreshList);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refreshList();
});
refreshList();
