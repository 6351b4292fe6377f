// Idle-session warning: the server ends a session after its idle timeout; this warns the user
// before that and lets them renew it. Times come from data attributes on <body>.
(function () {
  "use strict";
  var body = document.body;
  var timeout = parseInt(body.dataset.sessionTimeout || "0", 10);
  if (!timeout) { return; }
  var warning = parseInt(body.dataset.sessionWarning || "300", 10);
  var box = document.getElementById("session-warning");
  var remaining = document.getElementById("session-remaining");
  var button = document.getElementById("session-keepalive");
  var deadline;
  var timer;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function restart() {
    deadline = Date.now() + timeout * 1000;
    box.classList.add("d-none");
  }

  function tick() {
    var left = Math.round((deadline - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      window.location.href = body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname) + "&expired=1";
      return;
    }
    if (left <= warning) {
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      remaining.textContent = minutes + " min " + (seconds < 10 ? "0" : "") + seconds + " s";
      box.classList.remove("d-none");
    }
  }

  button.addEventListener("click", function () {
    fetch(body.dataset.keepaliveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok) { restart(); } else { window.location.reload(); }
    });
  });

  restart();
  timer = setInterval(tick, 1000);
}());
