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

// A section page's form (data-autosave="URL"): the textarea saves itself as a draft two seconds after typing
// stops, and when the tab is hidden; the form's version follows, so its own Save does not clash with the draft.
// Leaving with text typed since the last save warns, unless the leaving is the form's own submission.
document.querySelectorAll("form[data-autosave]").forEach(function (form) {
  var area = form.querySelector("textarea[name^='section-']");
  var version = form.querySelector("input[name='version']");
  var csrf = form.querySelector("input[name='csrf']");
  var status = document.getElementById("draft-status");
  if (!area || !version || !csrf) return;
  var saved = area.value;
  var timer = null;
  var sending = false;
  var submitting = false;
  var waiting = false; // Save was pressed while a draft was being saved...
  var waitingButton = null; // ...with this button

  function say(text) {
    if (status) status.textContent = text;
  }

  function autosave(leaving) {
    clearTimeout(timer);
    if (area.value === saved || sending) return;
    var text = area.value;
    var body = new URLSearchParams();
    body.set("csrf", csrf.value);
    body.set("version", version.value);
    body.set(area.name, text);
    sending = true;
    // keepalive lets the request outlive a tab being closed; browsers cap such bodies at 64 kB
    var keepalive = leaving === true && body.toString().length < 60000;
    var asked = { method: "POST", body: body, credentials: "same-origin", keepalive: keepalive };
    asked.headers = { Accept: "application/json" };
    fetch(form.dataset.autosave, asked)
      .then(function (response) {
        return response.json().then(function (answer) {
          if (answer.error === "signed_out") {
            // the session ended: the server kept the text, and gives it back after signing in again
            throw new Error(
              answer.kept
                ? "You were signed out. Your text is kept: open the link in your email to carry on."
                : "You were signed out: copy your text, then open the link in your email."
            );
          }
          if (!response.ok) throw new Error(answer.error || "Your draft was not saved: press Save.");
          version.value = String(answer.version);
          saved = text;
          say("Draft saved at " + answer.saved_at);
          // typed again while this draft was on its way: save that too, after the same pause
          if (area.value !== saved && !submitting) timer = setTimeout(autosave, 2000);
        });
      })
      .catch(function (problem) {
        // not retried on its own: the next keystroke tries again, and Save always works
        say(problem instanceof Error && problem.message ? problem.message : "Your draft was not saved: press Save.");
      })
      .finally(function () {
        sending = false;
        // Save was pressed while the draft was on its way: send the form now, with the version the draft got
        if (waiting) form.requestSubmit(waitingButton);
      });
  }

  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(autosave, 2000);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") autosave(true);
  });
  form.addEventListener("submit", function (event) {
    clearTimeout(timer);
    if (sending) {
      event.preventDefault();
      waiting = true;
      waitingButton = event.submitter || null;
      return;
    }
    submitting = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (submitting || area.value === saved) return;
    event.preventDefault();
    event.returnValue = "";
  });
});
