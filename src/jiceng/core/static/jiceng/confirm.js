// What cannot simply be undone asks first: <form data-confirm="…">, or a form's button
// with its own data-confirm (a form with two such buttons asks what each one does).
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question =
    (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
