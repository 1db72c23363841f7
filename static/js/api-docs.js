// Swagger UI for /api/docs: an external script, since the page's policy allows no inline ones.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: false, // its links sit inside the operations' buttons: nested controls for screen readers
    tryItOutEnabled: false,
    persistAuthorization: false,
    onComplete() {
      const servers = root.querySelector("#servers");
      if (servers) servers.setAttribute("aria-label", "Server");
    },
  });
})();
