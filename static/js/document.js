"use strict";
// Document page: what the document is, what to do with it (rename, download, ask, encode again,
// delete), its passages with their pages, and the technical fields folded away.

const root = document.getElementById("document");
const id = root.dataset.documentId;
const status = document.getElementById("doc-status");
const PASSAGES_PAGE = 20;
const ACTIVE = new Set(["queued", "processing"]);
let current = null;
let passagesShown = 0;

function facts(list, pairs) {
  list.replaceChildren(...pairs.filter(([, value]) => value !== undefined)
    .flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, Format.text(value))]));
}

function pages(from, to) {
  if (!from) return null;
  return from === to ? `p. ${from}` : `p. ${from}–${to}`;
}

// What to do about a failure, in the words a person can act on.
function advice(doc) {
  const reason = doc.error || "Processing failed";
  const text = /password|encrypted/i.test(reason) ? "Remove the password, then upload the file again."
    : /no text|ocr/i.test(reason) ? "If it is a scan, upload a clearer one, or a version with a text layer."
    : /temporar|unavailable|timed out/i.test(reason) ? "This may pass: encode it again in a while."
    : "Check the file opens on your computer, then encode it again or upload another copy.";
  return `${reason} ${text}`;
}

function render(doc) {
  current = doc;
  const m = doc.metadata;
  document.title = `${doc.title || doc.filename} · Socrate`;
  document.getElementById("doc-title").textContent = doc.title || doc.filename;
  const badge = document.getElementById("doc-badge");
  badge.className = `badge ${doc.status}`;
  badge.textContent = doc.status;
  const problem = document.getElementById("doc-problem");
  problem.hidden = doc.status !== "failed";
  problem.textContent = doc.status === "failed" ? advice(doc) : "";
  facts(document.getElementById("doc-facts"), [
    ["File name", doc.filename], ["Status", ACTIVE.has(doc.status) ? `${doc.message} (${doc.progress} %)` : doc.status],
    ["Pages", m.pages], ["Passages", m.total_chunks], ["Language", m.language],
    ["Size", Format.bytes(doc.size_bytes)], ["Source", Format.source(doc.source)],
    ["Link", doc.source_url || undefined], ["Added", Format.date(doc.timestamps.created_at)],
    ["Ready since", doc.status === "ready" ? Format.date(m.processed_at) : undefined],
  ]);
  facts(document.getElementById("doc-technical"), [
    ["Document id", doc.document_id], ["SHA-256", doc.sha256], ["Type", doc.content_type],
    ["Encoder", m.encoder && `${m.encoder} ${m.encoder_version || ""}`],
    ["Chunk size / overlap", m.chunk_size && `${m.chunk_size} / ${m.chunk_overlap} tokens`],
    ["Tokens", m.total_tokens], ["Attempts", doc.attempts], ["Task", doc.task.id], ["Task state", doc.task.state],
    ["Queued", Format.date(doc.timestamps.queued_at)], ["Started", Format.date(doc.timestamps.started_at)],
    ["Completed", Format.date(doc.timestamps.completed_at)], ["Last error", doc.last_error],
  ]);
  const ready = doc.status === "ready";
  const original = document.getElementById("download-original");
  original.hidden = !doc.files.original;
  original.href = `/api/documents/${id}/original`;
  const memory = document.getElementById("download-memory");
  memory.hidden = !ready;
  memory.href = `/api/documents/${id}/memory`;
  document.getElementById("reencode").hidden = ACTIVE.has(doc.status);
  document.getElementById("ask-card").hidden = !ready;
  document.getElementById("passages-card").hidden = !ready;
  document.getElementById("doc-body").hidden = false;
  status.textContent = "";
}

async function load() {
  try {
    render(await Api.call("GET", `/api/documents/${id}`));
  } catch (error) {
    status.textContent = error.status === 404 ? "This document does not exist in this workspace (it may have been deleted)."
      : `Could not load the document: ${error.message}`;
    return;
  }
  if (!current) return;
  if (current.status === "ready" && passagesShown === 0) loadPassages();
  if (ACTIVE.has(current.status)) setTimeout(load, 2000); // follow it until it is done
}

async function loadPassages() {
  const count = document.getElementById("passages-count");
  try {
    const data = await Api.call("GET", `/api/documents/${id}/passages?limit=${PASSAGES_PAGE}&offset=${passagesShown}`);
    const list = document.getElementById("doc-passages");
    for (const p of data.passages) {
      const where = [`Passage ${p.chunk_index + 1}`, pages(p.page_start, p.page_end)].filter(Boolean).join(" · ");
      list.append(h("li", { class: "result" }, [h("p", { class: "hint" }, where), h("p", { class: "full" }, p.text)]));
    }
    passagesShown += data.passages.length;
    count.textContent = `${passagesShown} of ${data.total} passages shown.`;
    document.getElementById("more-passages").hidden = passagesShown >= data.total;
  } catch (error) {
    count.textContent = `Could not load the passages: ${error.message}`;
  }
}
document.getElementById("more-passages").addEventListener("click", loadPassages);

const renameForm = document.getElementById("rename");
document.getElementById("edit-title").addEventListener("click", () => {
  renameForm.hidden = false;
  document.getElementById("new-title").value = current.title || current.filename;
  document.getElementById("new-title").focus();
});
document.getElementById("rename-cancel").addEventListener("click", () => { renameForm.hidden = true; });
renameForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    render(await Api.call("PATCH", `/api/documents/${id}`, { title: document.getElementById("new-title").value }));
    renameForm.hidden = true;
    status.textContent = "Title saved.";
  } catch (error) {
    status.textContent = `Could not rename: ${error.message}`;
  }
});

document.getElementById("reencode").addEventListener("click", async () => {
  if (current.status === "ready"
    && !window.confirm("Encode this document again? It leaves search until the new run is ready.")) return;
  try {
    await Api.call("POST", `/api/documents/${id}/reencode`);
    passagesShown = 0;
    document.getElementById("doc-passages").replaceChildren();
    status.textContent = "Queued to be encoded again.";
    load();
  } catch (error) {
    status.textContent = `Could not encode it again: ${error.message}`;
  }
});

document.getElementById("delete").addEventListener("click", async () => {
  if (!window.confirm(`Delete "${current.title || current.filename}" and its memory for good?`)) return;
  try {
    await Api.call("DELETE", `/api/documents/${id}`);
    window.location.assign("/");
  } catch (error) {
    status.textContent = `Could not delete: ${error.message}`;
  }
});

document.getElementById("ask-doc").addEventListener("submit", async (event) => {
  event.preventDefault();
  const askStatus = document.getElementById("ask-doc-status");
  const answer = document.getElementById("ask-doc-answer");
  const citations = document.getElementById("ask-doc-citations");
  askStatus.textContent = "Thinking…";
  try {
    const data = await Api.call("POST", "/api/ask", { question: event.target.question.value, document_id: id });
    answer.textContent = data.answer;
    answer.hidden = false;
    citations.replaceChildren(...data.citations.map((c) =>
      h("li", { class: "result" }, [h("p", { class: "hint" }, `[${c.n}] ${c.source}`), h("p", {}, c.snippet)])));
    askStatus.textContent = data.warning || data.message || "";
  } catch (error) {
    askStatus.textContent = `Could not answer: ${error.message}`;
  }
});

load();
