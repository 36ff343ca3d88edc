// The only script of the web app: ask before a form marked "confirm" removes something.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.classList.contains("confirm")) {
    if (!window.confirm(form.getAttribute("data-confirm") || "?")) {
      event.preventDefault();
    }
  }
});
