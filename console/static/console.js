// Staff console: the only script. After the idle timeout the server has ended the session; this
// takes the page (and the patient data on it) off an unattended screen.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var loginUrl = body.getAttribute("data-login-url");
  if (!seconds || !loginUrl) { return; }
  window.setTimeout(function () { window.location.assign(loginUrl); }, (seconds + 5) * 1000);
})();
