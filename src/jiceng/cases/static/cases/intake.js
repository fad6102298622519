// Keeps a double tap from sending the form twice (the server also ignores replays).
document.addEventListener("submit", function (event) {
  var button = event.target.querySelector("button[type=submit]");
  if (button) {
    setTimeout(function () { button.disabled = true; button.textContent = "提交中……"; }, 0);
  }
});
