// Follows the "Continue" link (id="logout-continue") once every front-channel logout iframe has loaded, or
// after five seconds (OpenID Connect Front-Channel Logout 1.0 §4). Without JavaScript the link is there.
(function () {
  "use strict";
  function start() {
    var link = document.getElementById("logout-continue");
    if (!link || link.tagName !== "A") {
      return;
    }
    var frames = document.querySelectorAll("iframe.frontchannel-logout");
    var waiting = frames.length;
    var done = false;
    function go() {
      if (!done) {
        done = true;
        window.location.assign(link.href);
      }
    }
    for (var i = 0; i < frames.length; i++) {
      frames[i].addEventListener("load", function () {
        waiting--;
        if (waiting <= 0) {
          go();
        }
      });
      frames[i].addEventListener("error", function () {
        waiting--;
        if (waiting <= 0) {
          go();
        }
      });
    }
    if (waiting === 0) {
      go();
    }
    window.setTimeout(go, 5000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
