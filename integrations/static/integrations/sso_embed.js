/* The embedded SSO page (templates/integrations/sso_embed.html): ask the CRM that frames us for
   the encrypted user context and post it to the server, which verifies it. */
(function () {
  "use strict";
  var status = document.getElementById("sso-status");
  var form = document.getElementById("sso-form");
  function show(text) {
    status.textContent = text;
    document.getElementById("sso-card").setAttribute("aria-busy", "false");
  }
  if (window.parent === window) {
    show("Open this page from the menu of your CRM to be signed in automatically.");
    return;
  }
  function onMessage(event) {
    // Only the frame's parent (the CRM) answers; the payload itself is verified by the server.
    if (event.source !== window.parent) { return; }
    var data = event.data || {};
    if (data.message !== "REQUEST_USER_DATA_RESPONSE" || typeof data.payload !== "string") { return; }
    window.removeEventListener("message", onMessage);
    form.elements.payload.value = data.payload;
    form.submit();
  }
  window.addEventListener("message", onMessage);
  window.parent.postMessage({ message: "REQUEST_USER_DATA" }, "*");
  window.setTimeout(function () {
    if (!form.elements.payload.value) {
      show("Your CRM did not confirm who you are. Reload the page, or sign in with your e-mail and password.");
    }
  }, 10000);
})();
