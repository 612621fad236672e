// Swagger UI for this server's OpenAPI document. The document is public
// and loads at once; "Try it out" calls carry the bearer token typed in
// Swagger UI's "Authorize" dialog, or given in the address's fragment
// (/api/v1/docs#token=<token>), which the browser never sends to the server.
(function () {
  "use strict";
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  var ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    onComplete: function () {
      if (token) {
        ui.preauthorizeApiKey("bearer", token);
      }
    },
  });
})();
