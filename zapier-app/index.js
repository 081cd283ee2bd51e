// Entry point that Zapier's runtime wrapper loads (it requires ./index.js).
// The app itself is written in TypeScript under src/ and compiled to dist/.
module.exports = require('./dist/index.js');
