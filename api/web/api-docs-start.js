// Swagger UI for this server's OpenAPI document. The document and every
// "Try it out" call are sent with the bearer token typed in the form, or
// given in the address's fragment (/api/v1/docs#token=<token>), which the
// browser never sends to the server.
(function () {
  "use strict";
  var form = document.getElementById("token-form");
  function show(token) {
    form.hidden = true;
    SwaggerUIBundle({
      url: "/api/v1/openapi.json",
      dom_id: "#swagger-ui",
      validatorUrl: null,
      requestInterceptor: function (request) {
        request.headers.Authorization = "Bearer " + token;
        return request;
      },
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    show(form.elements.token.value.trim());
  });
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (token) {
    show(token);
  }
})();
