// The account links on a narrow screen: behind a "Menu" button that this script shows and wires
// (portal.css hides the links while the menu is closed). Without JavaScript the button stays
// hidden and the links simply wrap under the brand.
(function () {
  "use strict";
  const toggle = document.querySelector(".menu-toggle");
  const nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!toggle || !nav) return;

  function setOpen(open) {
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  }

  toggle.hidden = false;
  document.documentElement.classList.add("has-menu");
  toggle.addEventListener("click", function () {
    setOpen(toggle.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("open")) {
      setOpen(false);
      toggle.focus();
    }
  });
})();
