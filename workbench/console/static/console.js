/* RM Workbench staff console: small enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* <form data-confirm="确定发布吗？">: ask first. <form data-once>: a second click while the
     first submission is on its way sends nothing. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-once")) {
      if (form.getAttribute("data-sent")) {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "1");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-busy", "true");
      });
    }
  });

  /* Back/forward restores a page as it was left: let its forms be sent again. */
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.querySelectorAll("[aria-busy]").forEach(function (button) {
        button.removeAttribute("aria-busy");
      });
    });
  });

  /* For page scripts: fetch() with the page's CSRF token, e.g.
     WorkbenchConsole.send("/console/brochures/1/publish", {method: "POST"}). */
  window.WorkbenchConsole = {
    send: function (url, options) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      var init = Object.assign({credentials: "same-origin"}, options || {});
      init.headers = Object.assign({}, init.headers || {}, {
        "X-CSRF-Token": meta ? meta.getAttribute("content") : ""
      });
      return window.fetch(url, init);
    }
  };
})();
