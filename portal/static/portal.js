// The portal's script, loaded as a module. Every page works without it: it starts GOV.UK Frontend's
// components (the error summary takes focus, buttons ignore double clicks) and updates word counts as you type.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();

document.querySelectorAll("textarea[data-count]").forEach(function (area) {
  var out = document.getElementById(area.dataset.count);
  var limit = area.dataset.limit ? parseInt(area.dataset.limit, 10) : null;
  if (!out) return;
  function update() {
    // pictures are not words: their Markdown lines are left out of the count, as on the server
    var text = area.value.replace(/!\[[^\]]*\]\([^)]*\)/g, " ").trim();
    var words = text ? text.split(/\s+/).length : 0;
    out.textContent = words + (words === 1 ? " word" : " words") + (limit ? " of " + limit : "");
    out.classList.toggle("rc-count--over", limit !== null && words > limit);
  }
  area.addEventListener("input", update);
});
