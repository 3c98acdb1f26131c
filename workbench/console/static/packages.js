/* The offline-package page of the staff console. The page works without this file (the
   percentage is prefilled for the version selected when the page is drawn); with it, choosing
   another version in a release form puts that version's current percentage in the field (a
   release is only widened, so starting from 10 % would be refused for one already at 50 %), or
   10 % for a version not released yet. */
(function () {
  "use strict";

  var FIRST_PERCENT = "10";

  function follow(select) {
    var field = document.getElementById(select.getAttribute("data-percent-for"));
    if (!field) return;
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      field.value = (option && option.getAttribute("data-percent")) || FIRST_PERCENT;
    });
  }

  document.querySelectorAll("select[data-percent-for]").forEach(follow);
})();
