// Drag and drop on the pipeline board. A drop only fills in the card's own "Move to" form and
// submits it, so dragging and the keyboard path make the same request (htmx swaps the board
// when it is loaded; without it the form posts and the page reloads). Listeners sit on the
// document, so a board swapped in by htmx keeps working.
(function () {
  "use strict";
  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest("[data-stage-id]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.opportunity || "");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".board-column.drop-target").forEach(function (c) {
      c.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    var form = dragged.querySelector("form.board-move");
    var select = form && form.querySelector("select[name=stage]");
    if (!select || select.value === column.dataset.stageId) return;
    select.value = column.dataset.stageId;
    column.querySelector(".board-cards").appendChild(dragged);  // feedback until the answer
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
})();
