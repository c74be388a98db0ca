// The console's only script, served from /console/static (the CSP forbids inline and foreign scripts).
// A form with data-confirm="问题" asks before it is submitted.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
