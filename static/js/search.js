"use strict";
// Search box on the documents page: GET /api/search, passages grouped by document, matched words
// marked. Every text from the user or a document goes into text nodes, never parsed as HTML.

const SEARCH_K = 10;
const searchForm = document.getElementById("search-form");
const searchInput = document.getElementById("search-q");
const searchStatus = document.getElementById("search-status");
const searchResults = document.getElementById("search-results");
let searchSerial = 0; // answers to an older query that arrive late are dropped

// The snippet with <mark> around each [start, end) span the server matched.
function markedText(text, spans) {
  const parts = [];
  let at = 0;
  for (const [start, end] of spans) {
    if (start < at) continue;
    parts.push(text.slice(at, start), h("mark", {}, text.slice(start, end)));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

// Where the passage is: its pages for PDFs, its passage number otherwise.
function where(hit) {
  if (!hit.page_start) return `Passage ${hit.chunk_index + 1}`;
  return hit.page_end === hit.page_start ? `p. ${hit.page_start}` : `p. ${hit.page_start}–${hit.page_end}`;
}

// Results in score order, grouped under the document of their first (best) passage.
function byDocument(results) {
  const groups = new Map();
  for (const hit of results) {
    if (!groups.has(hit.document_id)) {
      groups.set(hit.document_id, { id: hit.document_id, filename: hit.filename, hits: [] });
    }
    groups.get(hit.document_id).hits.push(hit);
  }
  return [...groups.values()];
}

function passageItem(hit) {
  return h("li", { class: "passage" }, [
    h("p", { class: "snippet" }, markedText(hit.snippet, hit.highlights)),
    h("div", { class: "meta" }, `${where(hit)} · score ${hit.score.toFixed(2)}`),
    h("details", {}, [h("summary", {}, "Full passage"), h("p", { class: "full" }, hit.text)]),
  ]);
}

function documentGroup(group) {
  const open = h("button", {
    type: "button", class: "secondary", "aria-label": `Open details of ${group.filename}`,
  }, "Details");
  open.addEventListener("click", () => showDetails(group.id)); // the grid's details dialog
  return h("li", { class: "search-doc" }, [
    h("div", { class: "section-head" }, [h("h3", {}, group.filename), open]),
    h("ol", { class: "passages", "aria-label": `Passages from ${group.filename}` }, group.hits.map(passageItem)),
  ]);
}

async function runSearch(query) {
  const serial = ++searchSerial;
  searchStatus.textContent = "Searching…";
  let body;
  try {
    body = await Api.call("GET", `/api/search?${new URLSearchParams({ q: query, k: String(SEARCH_K) })}`);
  } catch (error) {
    if (serial !== searchSerial) return;
    searchResults.replaceChildren();
    searchStatus.textContent = error.message;
    return;
  }
  if (serial !== searchSerial) return;
  const groups = byDocument(body.results);
  searchResults.replaceChildren(...groups.map(documentGroup));
  searchStatus.textContent = body.results.length
    ? `${body.results.length} passage${body.results.length === 1 ? "" : "s"} in ${groups.length} ` +
      `document${groups.length === 1 ? "" : "s"} (${Math.round(body.took_ms)} ms).`
    : body.message || "Nothing found for this query";
}

searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = searchInput.value.trim();
  if (!query) {
    searchResults.replaceChildren();
    searchStatus.textContent = "Type a question or a few words to search for.";
    return;
  }
  runSearch(query);
});
