// /docs: Swagger UI over /openapi.json, its files served by this API itself (the fastapi-offline
// package's copy; no CDN), started here because the page's CSP runs no inline script. The
// options are FastAPI's own defaults; no validator badge (it would call a third-party host).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
