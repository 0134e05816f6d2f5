// Browsable API docs, served by the app itself (no CDN).
(function () {
  var el = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({url: el.getAttribute('data-spec-url'), dom_id: '#swagger-ui', deepLinking: true,
    persistAuthorization: true});
})();
