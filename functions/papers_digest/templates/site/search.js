// Search across the papers of the site's window, from the site's own search.json.
// Plain JavaScript, no framework, no request elsewhere; without it the page reads the same.
"use strict";
(function () {
  const form = document.getElementById("search");
  if (!form || !window.fetch) return;
  const input = document.getElementById("search-input");
  const status = document.getElementById("search-status");
  const results = document.getElementById("search-results");
  let papers = null;

  function load() {
    if (papers) return Promise.resolve(papers);
    return fetch(form.dataset.index)
      .then(function (response) {
        if (!response.ok) throw new Error("search index: HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        papers = body.papers.map(function (paper) {
          const text = [paper.title, paper.organization || ""]
            .concat(paper.authors, paper.keywords).join(" ").toLowerCase();
          return { paper: paper, text: text };
        });
        return papers;
      });
  }

  function show(query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    results.replaceChildren();
    if (!words.length) { status.textContent = ""; return; }
    load().then(function (all) {
      const found = all.filter(function (entry) {
        return words.every(function (word) { return entry.text.includes(word); });
      });
      status.textContent = form.dataset.results.replace("{count}", String(found.length));
      found.slice(0, 50).forEach(function (entry) {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = entry.paper.url;
        link.textContent = entry.paper.title;
        item.append(link, " · " + entry.paper.day);
        results.append(item);
      });
    }).catch(function () { status.textContent = ""; });
  }

  form.hidden = false;
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  input.addEventListener("input", function () { show(input.value); });
})();
