// A CommonJS app: require() of the ESM-only package (require(esm), Node >= 20.19), which
// fails for a module graph with top-level await. Prints one JSON line.
const result = {};
const api = require('nestjs-redis-session');
result.SessionModule = typeof api.SessionModule;
try {
  result.health = typeof require('nestjs-redis-session/health').SessionHealthIndicator;
} catch (err) {
  result.health = `${err.code}: ${err.message.split('\n')[0]}`;
}
const { loadOpenApi } = require('./node_modules/nestjs-redis-session/dist/auth/openapi/decorators.js');
loadOpenApi().then((available) => {
  result.openApiAvailable = available;
  console.log(JSON.stringify(result));
});
