// Live word counts: the page works without this; it only updates the counts as you type.
document.querySelectorAll("textarea[id^='section-']").forEach(function (area) {
  var key = area.id.replace("section-", "");
  var out = document.getElementById("count-" + key);
  var limit = area.dataset.limit ? parseInt(area.dataset.limit, 10) : null;
  function update() {
    // pictures are not words: their Markdown lines are left out of the count, as on the server
    var text = area.value.replace(/!\[[^\]]*\]\([^)]*\)/g, " ").trim();
    var words = text ? text.split(/\s+/).length : 0;
    out.textContent = words + (words === 1 ? " word" : " words") + (limit ? " of " + limit : "");
    out.classList.toggle("over", limit !== null && words > limit);
  }
  area.addEventListener("input", update);
});
