// Submits the form with id="auto-submit" as soon as the page has loaded (OIDC response_mode=form_post).
// The page also shows a visible submit button, so it works without JavaScript.
(function () {
  "use strict";
  function submit() {
    var form = document.getElementById("auto-submit");
    if (form && form.tagName === "FORM") {
      form.submit();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", submit);
  } else {
    submit();
  }
})();
