/**
 * Layering of src/ (DESIGN.md: lower layers never import higher ones) and no
 * import cycles anywhere (STYLE.md 12). Runs in `npm test`.
 */
const layers = ['core', 'clock', 'crdt', 'ring', 'membership', 'storage', 'replication', 'transport', 'node', 'client', 'cli'];

const layerRules = layers.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may only import layers below it`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${layers.slice(i + 1).join('|') || 'none'})/` },
}));

const pureLayers = ['core', 'clock', 'crdt', 'ring', 'membership'];

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'pure-layers-no-io',
      comment: 'clock, crdt, ring and membership are pure: no I/O modules',
      severity: 'error',
      from: { path: `^src/(${pureLayers.join('|')})/` },
      to: { path: '^(fs|net|http|https|child_process|dgram|ws|sqlite3|pino)$|node_modules/(ws|sqlite3|pino)/', dependencyTypes: ['core', 'npm'] },
    },
    {
      name: 'adapter-through-client',
      comment: 'the session store talks to the cluster only through the client (and the pure types below it)',
      severity: 'error',
      from: { path: '^store-adapter/' },
      to: { path: '^src/(?!client/|core/|clock/|crdt/|ring/)' },
    },
    {
      name: 'src-not-from-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|demo-app)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
