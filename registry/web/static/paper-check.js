// Progressive enhancement for /v/{id}: a certificate's QR code opens this page with the signed
// statement after '#'. The fragment never reaches the server, so this asks the registry whether
// that paper copy's statement verifies too. The page is complete without it.
(function () {
  "use strict";
  var box = document.getElementById("paper-check");
  var compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
  // The checks that say the paper copy is authentic (its status today is the verdict above).
  var AUTHENTIC = ["id_format", "signature", "key_valid", "registered"];
  var round = 0;
  if (!box || !window.fetch) {
    return;
  }

  function show(state, mark, heading, text) {
    var title = document.createElement("h2");
    var symbol = document.createElement("span");
    var words = document.createElement("p");
    symbol.className = "paper__mark";
    symbol.setAttribute("aria-hidden", "true");
    symbol.textContent = mark;
    title.className = "paper__title";
    title.appendChild(symbol);
    title.appendChild(document.createTextNode(heading));
    words.textContent = text;
    box.className = "paper paper--" + state;
    box.setAttribute("data-state", state);
    box.replaceChildren(title, words);
  }

  function judge(out) {
    var problem = null;
    (out.checks || []).forEach(function (check) {
      if (AUTHENTIC.indexOf(check.name) >= 0 && check.outcome !== "passed" && !problem) {
        problem = check;
      }
    });
    if (!problem) {
      show("good", "✓", "The paper copy is genuine",
        "The signed statement in its QR code is the one the registry issued for this " +
        "certificate. Whether it is good to go today is the answer above.");
      return;
    }
    show("bad", "✗", "The paper copy did not verify",
      problem.explanation + " The paper copy may have been altered or forged: do not rely on " +
      "it. The answer above comes from the registry's own record of this ID.");
  }

  function unavailable() {
    show("unknown", "?", "The paper copy could not be checked",
      "Its signed statement could not be checked just now. The answer above, from the " +
      "registry's own record, still stands.");
  }

  function check() {
    var fragment = window.location.hash.replace(/^#/, "");
    var mine = ++round;
    if (!compactJws.test(fragment)) {
      box.className = "paper";
      box.removeAttribute("data-state");
      box.replaceChildren();
      return;
    }
    show("pending", "…", "Checking the paper copy", "Checking the signed statement in its QR code.");
    var controller = window.AbortController ? new AbortController() : null;
    var timer = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, 15000);
    window.fetch("/v1/verify/statement", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ text: window.location.href }),
      credentials: "omit",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 400 || response.status === 422) {
        // The registry read the QR code's text and refused it: an answer, not an outage.
        return { checks: [{ name: "signature", outcome: "failed",
          explanation: "The QR code's signed statement could not be read." }] };
      }
      if (!response.ok) {
        throw new Error("status " + response.status);
      }
      return response.json();
    }).then(function (out) {
      if (mine === round) {
        judge(out);
      }
    }, function () {
      if (mine === round) {
        unavailable();
      }
    }).finally(function () {
      window.clearTimeout(timer);
    });
  }

  window.addEventListener("hashchange", check);
  check();
}());
