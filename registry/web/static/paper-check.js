// Progressive enhancement for /v/{id}: a certificate's QR code opens this page with the signed
// statement after '#'. The fragment never reaches the server, so this asks the registry whether
// that paper copy's statement verifies too. The page is complete without it.
(function () {
  "use strict";
  var box = document.getElementById("paper-check");
  var verdict = document.getElementById("verdict");
  var advice = document.getElementById("advice");
  // An empty signature ("alg": "none") is a statement too: it gets a verdict, never silence.
  var compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
  // The checks that say the paper copy is authentic (its status today is the verdict above).
  var AUTHENTIC = ["id_format", "signature", "key_valid", "registered"];
  var round = 0;
  if (!box || !verdict || !window.fetch) {
    return;
  }
  // The registry's answer for the ID, as the server rendered it: shown again once the paper
  // copy proves genuine. Until then (and for good if it does not) the headline is not green.
  var original = { className: verdict.className, html: verdict.innerHTML,
    state: verdict.getAttribute("data-verdict"), advice: advice ? advice.textContent : "" };

  function headline(state, mark, main, why) {
    var top = document.createElement("div");
    var symbol = document.createElement("span");
    var title = document.createElement("h1");
    var words = document.createElement("p");
    top.className = "verdict__top";
    symbol.className = "verdict__mark";
    symbol.setAttribute("aria-hidden", "true");
    symbol.textContent = mark;
    title.className = "verdict__headline";
    title.id = "verdict-headline";
    title.textContent = main;
    words.className = "verdict__why";
    words.id = "verdict-why";
    words.textContent = why;
    top.appendChild(symbol);
    top.appendChild(title);
    verdict.className = "verdict verdict--" + state;
    verdict.replaceChildren(top, words);
  }

  function restore() {
    verdict.className = original.className;
    verdict.innerHTML = original.html;
    verdict.setAttribute("data-verdict", original.state);
    if (advice) {
      advice.textContent = original.advice;
    }
  }

  function overturn() {
    headline("bad", "✗", "Not good to go: this paper copy does not match the registry",
      "The QR code on this paper carries a signed statement that the registry did not issue " +
      "for this certificate. The paper may have been altered or forged.");
    verdict.setAttribute("data-verdict", "not_good_to_go");
    if (advice) {
      advice.textContent = "Do not rely on this paper copy. Ask the supplier for the " +
        "certificate, or type its ID on this page to see the registry's own record.";
    }
  }

  function show(state, mark, heading, text, technical) {
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
    if (technical) {
      // For whoever follows it up (the supplier, the registry): key IDs and codes, folded away.
      var more = document.createElement("details");
      var label = document.createElement("summary");
      var found = document.createElement("p");
      label.textContent = "Technical detail";
      found.textContent = technical;
      more.appendChild(label);
      more.appendChild(found);
      box.appendChild(more);
    }
  }

  function judge(out) {
    var problem = null;
    (out.checks || []).forEach(function (check) {
      if (AUTHENTIC.indexOf(check.name) >= 0 && check.outcome !== "passed" && !problem) {
        problem = check;
      }
    });
    if (!problem) {
      restore();
      show("good", "✓", "The paper copy is genuine",
        "The signed statement in its QR code is the one the registry issued for this " +
        "certificate. Whether it is good to go today is the answer above.");
      return;
    }
    overturn();
    show("bad", "✗", "The paper copy did not verify",
      "The signed statement in its QR code was not made by the registry for this certificate, " +
      "so nothing printed on this paper can be trusted.", problem.explanation);
  }

  function unavailable() {
    restore();
    show("unknown", "?", "The paper copy could not be checked",
      "Its signed statement could not be checked just now. The answer above, from the " +
      "registry's own record, still stands.");
  }

  function check() {
    var fragment = window.location.hash.replace(/^#/, "");
    var mine = ++round;
    if (!compactJws.test(fragment)) {
      restore();
      box.className = "paper";
      box.removeAttribute("data-state");
      box.replaceChildren();
      return;
    }
    headline("unknown", "…", "Checking the paper copy",
      "This page was opened from a QR code: its signed statement is being checked against the " +
      "registry's record before any answer is shown.");
    verdict.setAttribute("data-verdict", "checking");
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
