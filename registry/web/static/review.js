// Save each result as it is entered (the section's Save button does the same without script).
(function () {
  "use strict";
  var count = document.getElementById("progress-count");
  var bar = document.getElementById("progress-bar");
  // The section's "N of M scored" (in the contents and above the section) follows each save.
  function recount(form) {
    var section = form.getAttribute("data-section");
    var scored = form.querySelectorAll("[data-code][data-scored='1']").length;
    Array.prototype.forEach.call(
      document.querySelectorAll("[data-section-count]"),
      function (node) {
        if (node.getAttribute("data-section-count") === section) {
          node.textContent = String(scored);
        }
      }
    );
  }
  // The session ended: nothing was saved, and what is typed stays on this page meanwhile.
  function signInAgain(note, url) {
    var link = document.createElement("a");
    link.href = typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/"
      ? url : "/sign-in";
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "Sign in again";
    note.textContent = "Your session has ended, so this was not saved. ";
    note.appendChild(link);
    note.appendChild(document.createTextNode(
      " (your entries stay on this page), then press Save."
    ));
    note.classList.add("saved--error");
  }
  function save(form, criterion) {
    var code = criterion.getAttribute("data-code");
    var picked = criterion.querySelector("input[type=radio]:checked");
    var note = criterion.querySelector(".saved");
    if (!picked) { return; }
    var body = new URLSearchParams();
    body.set("result", picked.value);
    body.set("rationale", criterion.querySelector("textarea").value);
    var token = form.querySelector("input[name=_csrf_token]");
    if (token) { body.set("_csrf_token", token.value); }
    var headers = { "Accept": "application/json" };
    if (token) { headers["X-CSRFToken"] = token.value; }
    note.textContent = "Saving…";
    note.classList.remove("saved--error");
    fetch(form.getAttribute("data-autosave") + encodeURIComponent(code), {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: body
    }).then(function (response) {
      return response.json().then(function (answer) { return [response.status, answer]; });
    }).then(function (pair) {
      var answer = pair[1];
      if (pair[0] === 401) {
        signInAgain(note, answer.sign_in);
      } else if (pair[0] >= 200 && pair[0] < 300) {
        note.textContent = "Saved: " + answer.result + ".";
        criterion.setAttribute("data-scored", "1");
        recount(form);
        count.textContent = answer.scored + " of " + answer.total;
        bar.value = answer.scored;
        bar.textContent = answer.scored + " of " + answer.total;
      } else {
        note.textContent = answer.error || "Not saved.";
        note.classList.add("saved--error");
      }
    }).catch(function () {
      note.textContent = "Not saved: the registry could not be reached. Use the Save button.";
      note.classList.add("saved--error");
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-autosave]"), function (form) {
    form.addEventListener("change", function (event) {
      var criterion = event.target.closest("[data-code]");
      if (criterion) { save(form, criterion); }
    });
  });
})();
