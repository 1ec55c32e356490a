// "Open the chat" buttons of this demo page call the widget's small public API.
document.addEventListener("click", function (event) {
  var trigger = event.target.closest && event.target.closest("[data-open-chat]");
  if (!trigger) return;
  event.preventDefault();
  if (window.AtendeWidget) window.AtendeWidget.open();
});
