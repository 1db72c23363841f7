"use strict";
// The Ask box on the documents page: POST /api/ask streamed as server-sent events (the answer grows as
// the model writes; [n] chips open the cited passage with its file and pages), and GET /api/search for
// "Show passages", grouped by document with matched words marked. Every text from the user, a document
// or the model goes into text nodes, never parsed as HTML.

const SEARCH_K = 10;
const searchForm = document.getElementById("search-form");
const searchInput = document.getElementById("search-q");
const searchStatus = document.getElementById("search-status");
const searchResults = document.getElementById("search-results");
const passagesStatus = document.getElementById("passages-status");
const answerBox = document.getElementById("answer");
const answerText = document.getElementById("answer-text");
const answerWarning = document.getElementById("answer-warning");
const citationDialog = document.getElementById("citation");
let searchSerial = 0; // answers to an older question that arrive late are dropped
let answerStream = null; // the reader of the answer being streamed, cancelled by a new question

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
    h("div", { class: "meta" }, `${hit.source} · score ${hit.score.toFixed(2)}`),
    h("details", {}, [h("summary", {}, "Full passage"), h("p", { class: "full" }, hit.text)]),
  ]);
}

function documentGroup(group) {
  const open = h("a", {
    class: "button secondary", href: documentHref(group.id), "aria-label": `Open ${group.filename}`,
  }, "Open");
  return h("li", { class: "search-doc" }, [
    h("div", { class: "section-head" }, [h("h3", {}, group.filename), open]),
    h("ol", { class: "passages", "aria-label": `Passages from ${group.filename}` }, group.hits.map(passageItem)),
  ]);
}

async function showPassages(question, serial) {
  passagesStatus.textContent = "Searching…";
  let body;
  try {
    body = await Api.call("GET", `/api/search?${new URLSearchParams({ q: question, k: String(SEARCH_K) })}`);
  } catch (error) {
    if (serial !== searchSerial) return;
    searchResults.replaceChildren();
    passagesStatus.textContent = error.message;
    return;
  }
  if (serial !== searchSerial) return;
  const groups = byDocument(body.results);
  searchResults.replaceChildren(...groups.map(documentGroup));
  passagesStatus.textContent = body.results.length
    ? `${body.results.length} passage${body.results.length === 1 ? "" : "s"} in ${groups.length} ` +
      `document${groups.length === 1 ? "" : "s"} (${Math.round(body.took_ms)} ms).`
    : body.message || "Nothing found for this query";
}

function openCitation(citation) {
  document.getElementById("citation-title").textContent = `Source [${citation.n}]`;
  document.getElementById("citation-source").textContent = citation.source;
  document.getElementById("citation-text").textContent = citation.snippet;
  citationDialog.showModal();
}

// The answer's text with each [n] that names a passage turned into a button that opens it.
function renderAnswer(text, citations) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    const citation = citations[Number(match[1]) - 1];
    if (!citation) continue;
    parts.push(text.slice(at, match.index));
    const chip = h("button", {
      type: "button", class: "chip", "aria-label": `Source ${citation.n}: ${citation.source}`,
    }, `[${citation.n}]`);
    chip.addEventListener("click", () => openCitation(citation));
    parts.push(chip);
    at = match.index + match[0].length;
  }
  parts.push(text.slice(at));
  answerText.replaceChildren(...parts);
}

// Server-sent events from a fetch body: yields {event, data} as each frame completes.
async function* serverEvents(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(frame.split("\n").map((line) => {
        const colon = line.indexOf(": ");
        return [line.slice(0, colon), line.slice(colon + 2)];
      }));
      yield { event: fields.event, data: JSON.parse(fields.data) };
    }
  }
}

function describe(done) {
  if (!done.citations.length) return done.message || "Nothing in your documents matches this question.";
  const cited = `${done.citations.length} passage${done.citations.length === 1 ? "" : "s"}`;
  const how = done.mode === "llm" ? `Answered by ${done.model} from ${cited}` : `The best of ${cited}`;
  return `${how} (${Math.round(done.took_ms)} ms).`;
}

async function ask(question) {
  const serial = ++searchSerial;
  if (answerStream) answerStream.cancel(); // the server stops the model for the old question
  answerStream = null;
  answerBox.hidden = false;
  answerText.replaceChildren();
  answerWarning.hidden = true;
  searchStatus.textContent = "Looking through your documents…";
  showPassages(question, serial);
  let response;
  try {
    response = await Api.open("POST", "/api/ask", { question }, "text/event-stream");
  } catch (error) {
    if (serial !== searchSerial) return;
    answerBox.hidden = true;
    searchStatus.textContent = error.message;
    return;
  }
  const reader = response.body.getReader();
  answerStream = reader;
  let citations = [];
  let text = "";
  try {
    for await (const { event, data } of serverEvents(reader)) {
      if (serial !== searchSerial) return;
      if (event === "citations") {
        citations = data.citations;
        searchStatus.textContent = data.mode === "llm" ? "Writing the answer…" : "Reading the best passage…";
      } else if (event === "token") {
        text += data.text;
        renderAnswer(text, citations);
      } else if (event === "done") {
        renderAnswer(data.answer, citations); // the final text (after a model that broke off, the passages')
        answerWarning.textContent = data.warning ? `${data.warning}.` : "";
        answerWarning.hidden = !data.warning;
        searchStatus.textContent = describe(data);
      } else if (event === "error") {
        searchStatus.textContent = data.error;
      }
    }
  } catch (_streamError) {
    if (serial === searchSerial) searchStatus.textContent = "The answer was interrupted; please ask again";
  } finally {
    if (answerStream === reader) answerStream = null;
  }
}

searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = searchInput.value.trim();
  if (!question) {
    answerBox.hidden = true;
    searchResults.replaceChildren();
    searchStatus.textContent = "Type a question about your documents.";
    return;
  }
  ask(question);
});
