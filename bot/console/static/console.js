// The console's only script, served from /console/static (the CSP forbids inline and foreign scripts).
// A form with data-confirm="问题" asks before it is submitted.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A chart legend's entry shows or hides its series (bot/console/charts.py), by click or keyboard.
function toggleSeries(item) {
  var svg = item.closest("svg");
  var number = item.getAttribute("data-series-toggle");
  var shown = item.getAttribute("aria-pressed") !== "false";
  item.setAttribute("aria-pressed", shown ? "false" : "true");
  item.classList.toggle("off", shown);
  svg.querySelectorAll('[data-series="' + number + '"]').forEach(function (series) {
    series.classList.toggle("hidden-series", shown);
  });
}
document.addEventListener("click", function (event) {
  var item = event.target.closest && event.target.closest("[data-series-toggle]");
  if (item) { toggleSeries(item); }
});
document.addEventListener("keydown", function (event) {
  var item = event.target.closest && event.target.closest("[data-series-toggle]");
  if (item && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); toggleSeries(item); }
});
