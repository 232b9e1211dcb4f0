// The "show only failures" filter. Without JavaScript the toolbar stays hidden and every request
// is listed, failed ones open.
(function () {
  var toggle = document.getElementById("only-failures");
  if (!toggle) return;
  toggle.closest(".toolbar").hidden = false;
  var apply = function () {
    document.body.classList.toggle("only-failures", toggle.checked);
  };
  toggle.addEventListener("change", apply);
  apply();
})();
