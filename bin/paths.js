'use strict';
// Resolves the @cairn/* path aliases of tsconfig.json against the compiled output in dist/.
const path = require('path');
const { compilerOptions } = require('../tsconfig.json');
require('tsconfig-paths').register({ baseUrl: path.join(__dirname, '..', 'dist'), paths: compilerOptions.paths });
