// TypeDoc: the API reference in docs/api/ (npm run docs:api), Markdown by typedoc-plugin-markdown
// so that GitHub shows it, generated from the TSDoc comments of the package's three entry
// points (package.json "exports"; scripts/public-docs.mjs ENTRIES).
//
// The validation fails the run (treatValidationWarningsAsErrors) when an export, a method or an
// accessor of the public surface has no doc comment, or a {@link} points nowhere. Properties are
// left to scripts/public-docs.mjs (npm run docs:check, exports:check), which checks every public
// member of the exported classes and interfaces, inherited doc comments included; TypeDoc would
// also ask for one on each field of an inline object type ({ ip?: boolean }), which the parent
// property's comment describes.
//
// This file is also a TypeDoc plugin (it is listed in `plugin` below): `load` names each entry
// point's module as an app imports it ("nestjs-redis-session/health") instead of its file's
// folder ("health").

/** Entry file (relative to the repository, without .ts) → the specifier an app imports. */
const ENTRIES = {
  'src/index': 'nestjs-redis-session',
  'src/health/index': 'nestjs-redis-session/health',
  'src/testing/index': 'nestjs-redis-session/testing',
};

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on('resolveBegin', (context) => {
    for (const module of context.project.children ?? []) {
      // (disableSources leaves module.sources empty: the file comes from the module's symbol.)
      const file = context.getSymbolFromReflection(module)?.declarations?.[0]?.getSourceFile().fileName ?? '';
      const entry = Object.entries(ENTRIES).find(([path]) => file.replace(/\.ts$/, '').endsWith(path));
      if (entry) module.name = entry[1];
    }
  });
}

/** @type {Partial<import('typedoc').TypeDocOptions & import('typedoc-plugin-markdown').PluginOptions>} */
export default {
  entryPoints: Object.keys(ENTRIES).map((path) => `${path}.ts`),
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  plugin: ['typedoc-plugin-markdown', './typedoc.config.mjs'],
  name: 'nestjs-redis-session API',
  readme: 'none',
  // No "Defined in" links: they name a commit, so every commit would change every page.
  disableSources: true,
  excludePrivate: true,
  excludeExternals: true,
  requiredToBeDocumented: ['Enum', 'EnumMember', 'Variable', 'Function', 'Class', 'Interface', 'Method', 'Accessor', 'TypeAlias'],
  // Nest's ConfigurableModuleBuilder makes these; their documentation is Nest's.
  intentionallyNotDocumented: ['nestjs-redis-session.SessionModule.forRoot', 'nestjs-redis-session.SessionModule.forRootAsync'],
  validation: { notExported: false, invalidLink: true, rewrittenLink: true, notDocumented: true },
  treatValidationWarningsAsErrors: true,
  // typedoc-plugin-markdown: a breadcrumb line on each page, no repeated title banner.
  hidePageHeader: true,
};
